//go:build purego || !amd64

package kernels

// archInit registers no SIMD path: this build (the purego tag, or an architecture without
// assembly kernels) runs the pure-Go kernels of generic.go, whose doc comments give the
// reference loop each SIMD kernel must match.
func archInit() {}
