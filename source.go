// Package netc carries what an installed netc needs to build a spec's program outside
// netc's own repository: the source of the netc module's runtime (Source) and the reference
// specs (Specs). It lives at the module root because go:embed reaches no parent folder.
//
// netc writes Source to its cache as a module, and the go.mod of every program it builds
// replaces github.com/netc-dev/netc with that folder, so that building needs only the Go
// toolchain and the module cache. A test checks that Source holds every package the
// program imports.
package netc

import "embed"

// Source holds go.mod, go.sum and the Go and assembly files of runtime/... and internal/...
// (test files too; netc skips them when it writes the module out); packages two levels
// down are listed one by one, as runtime/kernels/asm, the avo generator, is a module of
// its own and cannot be embedded.
//
//go:embed go.mod go.sum runtime/*/*.go runtime/train/settings/*.go runtime/*/*.s internal/*/*.go
var Source embed.FS

// Specs holds the reference specs, specs/NAME.net, which netc finds by NAME.
//
//go:embed specs/*.net
var Specs embed.FS
