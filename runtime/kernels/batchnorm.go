package kernels

import "math"

// Batch normalization over a batch of n images of c channels of hw values each, in
// C,H,W order image after image (PyTorch's BatchNorm2d): in training each channel is
// normalized with the mean and biased variance of its n·hw values in the whole batch,
// y = gamma·(x − mean)/√(var + eps) + beta, and the running statistics move towards the
// batch's by momentum, the variance unbiased (n·hw/(n·hw − 1)); in evaluation the running
// statistics stand in for the batch's. Sums are taken in float64. The channels are split
// over the worker pool.

// BatchNormTrain normalizes x into y with the batch's statistics and updates runMean and
// runVar.
func BatchNormTrain(x, y []float32, n, c, hw int, gamma, beta, runMean, runVar []float32, momentum, eps float32) {
	checkBatchNorm(x, y, n, c, hw, gamma, beta, runMean, runVar)
	runBatchNorm(bnArgs{mode: bnTrain, x: x, y: y, n: n, c: c, hw: hw, gamma: gamma, beta: beta,
		runMean: runMean, runVar: runVar, momentum: momentum, eps: eps})
}

// BatchNormInfer normalizes x into y with the running statistics.
func BatchNormInfer(x, y []float32, n, c, hw int, gamma, beta, runMean, runVar []float32, eps float32) {
	checkBatchNorm(x, y, n, c, hw, gamma, beta, runMean, runVar)
	runBatchNorm(bnArgs{mode: bnInfer, x: x, y: y, n: n, c: c, hw: hw, gamma: gamma, beta: beta,
		runMean: runMean, runVar: runVar, eps: eps})
}

// BatchNormBackward writes the gradient dx of a training-mode batch norm of input x with
// respect to x, given the gradient dy of its output, and the gradients of gamma and beta
// into dgamma and dbeta (overwriting them). With x̂ the normalized input:
// dbeta = Σ dy, dgamma = Σ dy·x̂, dx = gamma/√(var + eps) · (dy − dbeta/m − x̂·dgamma/m)
// over the m = n·hw values of a channel. A nil dx skips the input gradient.
func BatchNormBackward(x, dy, dx []float32, n, c, hw int, gamma []float32, eps float32, dgamma, dbeta []float32) {
	checkBatchNorm(x, dy, n, c, hw, gamma, dgamma, dbeta, dbeta)
	if dx != nil && len(dx) != len(x) {
		panic("kernels: BatchNormBackward: dx and x differ in length")
	}
	runBatchNorm(bnArgs{mode: bnBackward, x: x, y: dy, dx: dx, n: n, c: c, hw: hw, gamma: gamma,
		beta: dbeta, runMean: dgamma, eps: eps})
}

// bnMode is which of the three batch norm passes a job runs.
type bnMode int

const (
	bnTrain bnMode = iota
	bnInfer
	bnBackward
)

// bnArgs are one batch norm call's arguments. In the backward pass y holds dy, runMean
// receives dgamma and beta dbeta.
type bnArgs struct {
	mode                         bnMode
	x, y, dx                     []float32
	n, c, hw                     int
	gamma, beta, runMean, runVar []float32
	momentum, eps                float32
}

// bnJob is a batch norm split over the pool by channels, its run method bound once so
// that calls do not allocate.
type bnJob struct {
	a     bnArgs
	runFn func(lo, hi int)
}

var bnJobs = newFreeList(8, func() *bnJob {
	j := new(bnJob)
	j.runFn = func(lo, hi int) { j.a.channels(lo, hi) }
	return j
})

func runBatchNorm(a bnArgs) {
	j := bnJobs.get()
	j.a = a
	ParallelFor(a.c, j.runFn)
	j.a = bnArgs{} // drop references to the caller's slices
	bnJobs.put(j)
}

// channels runs the pass for channels [lo, hi).
func (a *bnArgs) channels(lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		switch a.mode {
		case bnTrain:
			mean, variance := channelStats(a.x, a.n, a.c, a.hw, ch)
			count := float64(a.n * a.hw)
			unbiased := variance
			if count > 1 {
				unbiased *= count / (count - 1)
			}
			m := float64(a.momentum)
			a.runMean[ch] = float32((1-m)*float64(a.runMean[ch]) + m*mean)
			a.runVar[ch] = float32((1-m)*float64(a.runVar[ch]) + m*unbiased)
			affine(a.x, a.y, a.n, a.c, a.hw, ch, mean, 1/math.Sqrt(variance+float64(a.eps)), a.gamma[ch], a.beta[ch])
		case bnInfer:
			invStd := 1 / math.Sqrt(float64(a.runVar[ch])+float64(a.eps))
			affine(a.x, a.y, a.n, a.c, a.hw, ch, float64(a.runMean[ch]), invStd, a.gamma[ch], a.beta[ch])
		case bnBackward:
			a.backward(ch)
		}
	}
}

// backward is BatchNormBackward for channel ch.
func (a *bnArgs) backward(ch int) {
	x, dy, dx, n, c, hw := a.x, a.y, a.dx, a.n, a.c, a.hw
	mean, variance := channelStats(x, n, c, hw, ch)
	invStd := 1 / math.Sqrt(variance+float64(a.eps))
	var sumDy, sumDyXhat float64
	for img := range n {
		off := (img*c + ch) * hw
		for j, d := range dy[off : off+hw] {
			sumDy += float64(d)
			sumDyXhat += float64(d) * (float64(x[off+j]) - mean) * invStd
		}
	}
	a.runMean[ch], a.beta[ch] = float32(sumDyXhat), float32(sumDy)
	if dx == nil {
		return
	}
	m := float64(n * hw)
	scale := float64(a.gamma[ch]) * invStd
	for img := range n {
		off := (img*c + ch) * hw
		for j, d := range dy[off : off+hw] {
			xhat := (float64(x[off+j]) - mean) * invStd
			dx[off+j] = float32(scale * (float64(d) - sumDy/m - xhat*sumDyXhat/m))
		}
	}
}

// channelStats returns the mean and biased variance of channel ch over the batch.
func channelStats(x []float32, n, c, hw, ch int) (mean, variance float64) {
	var sum float64
	for img := range n {
		off := (img*c + ch) * hw
		for _, v := range x[off : off+hw] {
			sum += float64(v)
		}
	}
	mean = sum / float64(n*hw)
	var sq float64
	for img := range n {
		off := (img*c + ch) * hw
		for _, v := range x[off : off+hw] {
			d := float64(v) - mean
			sq += d * d
		}
	}
	return mean, sq / float64(n*hw)
}

// affine writes y = gamma·(x − mean)·invStd + beta for channel ch of every image.
func affine(x, y []float32, n, c, hw, ch int, mean, invStd float64, gamma, beta float32) {
	a := float32(float64(gamma) * invStd)
	b := float32(float64(beta) - float64(gamma)*invStd*mean)
	for img := range n {
		off := (img*c + ch) * hw
		out := y[off : off+hw]
		for j, v := range x[off : off+hw] {
			out[j] = a*v + b
		}
	}
}

func checkBatchNorm(x, y []float32, n, c, hw int, gamma, beta, runMean, runVar []float32) {
	if len(x) != n*c*hw || len(y) != len(x) {
		panic("kernels: batch norm: x or y is not n·c·hw long")
	}
	if len(gamma) != c || len(beta) != c || len(runMean) != c || len(runVar) != c {
		panic("kernels: batch norm: a per-channel slice is not c long")
	}
}

// FoldBatchNorm writes into fw and fb the weights and biases of a convolution that
// computes, in one pass, an evaluation-mode batch norm (running statistics) of the output
// of the convolution with weights w and biases b (nil: none). With gamma, beta, runMean
// and runVar one value per filter, and scale = gamma/√(runVar + eps) computed in float64,
// filter f's weights are w[f]·scale[f] and its bias (b[f] − runMean[f])·scale[f] + beta[f].
func FoldBatchNorm(fw, fb, w, b, gamma, beta, runMean, runVar []float32, eps float32) {
	filters := len(gamma)
	if filters == 0 || len(w)%filters != 0 || len(fw) != len(w) || len(fb) != filters ||
		(b != nil && len(b) != filters) || len(beta) != filters || len(runMean) != filters || len(runVar) != filters {
		panic("kernels: FoldBatchNorm: slice lengths do not match the filters")
	}
	k := len(w) / filters
	for f := range filters {
		scale := float64(gamma[f]) / math.Sqrt(float64(runVar[f])+float64(eps))
		for j, v := range w[f*k : f*k+k] {
			fw[f*k+j] = float32(float64(v) * scale)
		}
		var bias float64
		if b != nil {
			bias = float64(b[f])
		}
		fb[f] = float32((bias-float64(runMean[f]))*scale + float64(beta[f]))
	}
}
