package kernels

import "fmt"

func checkLen(op string, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels: %s: len(x)=%d != len(y)=%d", op, len(x), len(y)))
	}
}

// Axpy computes y[i] += alpha*x[i]. len(x) must equal len(y).
func Axpy(alpha float32, x, y []float32) {
	checkLen("Axpy", x, y)
	if len(x) == 0 {
		return
	}
	cur.axpy(alpha, x, y)
}

// Scale computes x[i] *= alpha.
func Scale(alpha float32, x []float32) {
	if len(x) == 0 {
		return
	}
	cur.scale(alpha, x)
}

// Dot returns Σ x[i]*y[i], summed in an order that depends on the path (so results may
// differ between paths by rounding). len(x) must equal len(y).
func Dot(x, y []float32) float32 {
	checkLen("Dot", x, y)
	if len(x) == 0 {
		return 0
	}
	return cur.dot(x, y)
}

// Add computes y[i] += x[i]. len(x) must equal len(y).
func Add(x, y []float32) {
	checkLen("Add", x, y)
	if len(x) == 0 {
		return
	}
	cur.add(x, y)
}

// Max returns the largest element of x, which must not be empty. The result is
// unspecified if x holds a NaN.
func Max(x []float32) float32 {
	if len(x) == 0 {
		panic("kernels: Max of an empty slice")
	}
	return cur.max(x)
}

// ArgMax returns the index of the first largest element of x, which must not be empty.
// The result is unspecified if x holds a NaN.
func ArgMax(x []float32) int {
	if len(x) == 0 {
		panic("kernels: ArgMax of an empty slice")
	}
	if len(x) < 32 {
		best := 0
		for i, v := range x {
			if v > x[best] {
				best = i
			}
		}
		return best
	}
	m := cur.max(x)
	for i, v := range x {
		if v == m {
			return i
		}
	}
	return 0 // unreachable unless x holds a NaN
}

// Exp computes x[i] = e^x[i] in place. On the SIMD paths the relative error is below 2e-7
// wherever the result is a normal float32; inputs below about -87.3 give subnormals or 0,
// inputs above about 88.7 give +Inf, and NaN stays NaN.
func Exp(x []float32) {
	if len(x) == 0 {
		return
	}
	cur.exp(x)
}

// Relu computes x[i] = max(0, x[i]) (NaN stays NaN).
func Relu(x []float32) {
	if len(x) == 0 {
		return
	}
	cur.relu(x)
}

// ReluBackward sets dy[i] = 0 wherever y[i] <= 0: the gradient of a ReLU, given its
// output y. len(y) must equal len(dy).
func ReluBackward(y, dy []float32) {
	checkLen("ReluBackward", y, dy)
	if len(y) == 0 {
		return
	}
	cur.reluBackward(y, dy)
}

// AddSquares computes y[i] += alpha·x[i]²: local response normalization sums the squares
// of neighbouring channels. len(x) must equal len(y).
func AddSquares(alpha float32, x, y []float32) {
	checkLen("AddSquares", x, y)
	if len(x) == 0 {
		return
	}
	cur.addSquares(alpha, x, y)
}

// AddProduct computes y[i] += alpha·x[i]·z[i]. x, z and y must have the same length.
func AddProduct(alpha float32, x, z, y []float32) {
	checkLen("AddProduct", x, y)
	checkLen("AddProduct", z, y)
	if len(x) == 0 {
		return
	}
	cur.addProduct(alpha, x, z, y)
}

// DivPow34 computes y[i] = x[i] / sc[i]^¾, as 1/√(sc·√sc): local response normalization
// with AlexNet's exponent. x, sc and y must have the same length; y may be x.
func DivPow34(x, sc, y []float32) {
	checkLen("DivPow34", x, y)
	checkLen("DivPow34", sc, y)
	if len(x) == 0 {
		return
	}
	cur.divPow34(x, sc, y)
}

// MomentumStep is one step of SGD with momentum and L2 weight decay wd (PyTorch's SGD,
// dampening 0) on the weights w, their gradient g and their velocity v:
//
//	v[i] = mu·v[i] + g[i] + wd·w[i];  w[i] -= eta·v[i]
//
// wd·w[i] is added even when wd is 0, so a non-finite weight makes its velocity NaN. w, g
// and v must have the same length.
func MomentumStep(eta, mu, wd float32, w, g, v []float32) {
	checkLen("MomentumStep", g, w)
	checkLen("MomentumStep", v, w)
	if len(w) == 0 {
		return
	}
	cur.momentum(eta, mu, wd, w, g, v)
}

// BiasAct adds bias[r] to every element of row r of the rows×cols matrix x (one channel's
// spatial block per row) and then, if relu, applies max(0, ·).
func BiasAct(x []float32, bias []float32, rows, cols int, relu bool) {
	if rows < 0 || cols < 0 || len(x) < rows*cols || len(bias) < rows {
		panic(fmt.Sprintf("kernels: BiasAct: len(x)=%d, len(bias)=%d for %d×%d", len(x), len(bias), rows, cols))
	}
	if cols == 0 {
		return
	}
	f := cur.addScalar
	if relu {
		f = cur.addScalarRelu
	}
	for r := 0; r < rows; r++ {
		f(bias[r], x[r*cols:(r+1)*cols])
	}
}
