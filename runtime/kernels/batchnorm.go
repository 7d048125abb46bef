package kernels

import (
	"fmt"
	"math"
)

// Batch normalization over a batch of n images of c channels of hw values each, in
// C,H,W order image after image (PyTorch's BatchNorm2d): in training each channel is
// normalized with the mean and biased variance of its n·hw values in the whole batch,
// y = gamma·(x − mean)/√(var + eps) + beta, and the running statistics move towards the
// batch's by momentum, the variance unbiased (n·hw/(n·hw − 1)); in evaluation the running
// statistics stand in for the batch's.
//
// A training pass has three steps, so that the work on the values runs image by image,
// on any worker, while an image is still in cache, and only the small per-channel sums
// meet: BatchNormMoments takes each image's moments, BatchNormStats combines those of the
// whole batch, in image order and in float64 (so the result does not depend on how the
// images were split over workers), into per-channel coefficients, and BatchNormApply
// normalizes each image with them. The backward pass is the same with
// BatchNormGradMoments, BatchNormGradStats and BatchNormGradApply. BatchNormTrain and
// BatchNormBackward run the three steps on a whole batch, the images split over the
// worker pool.

// BatchNormCoefSize is the number of floats of the per-channel coefficients of a batch
// norm of c channels (see BatchNormStats).
func BatchNormCoefSize(c int) int { return 6 * c }

// BatchNormMoments writes into mom (2c values) the moments of one image x of c channels
// of hw values: mom[ch] is the mean of channel ch and mom[c+ch] the sum of the squares of
// its deviations from that mean.
func BatchNormMoments(x []float32, c, hw int, mom []float32) {
	if len(x) != c*hw || len(mom) != 2*c {
		panic(fmt.Sprintf("kernels: BatchNormMoments: len(x)=%d, len(mom)=%d for %d×%d", len(x), len(mom), c, hw))
	}
	for ch := range c {
		v := x[ch*hw : ch*hw+hw]
		sum, _ := cur.sumDev(0, v)
		mean := sum / float32(hw)
		dev, sq := cur.sumDev(mean, v)
		// dev is the rounding left in the mean: Σ(x − mean)² = sq − dev²/hw.
		mom[ch], mom[c+ch] = mean, sq-dev*dev/float32(hw)
	}
}

// BatchNormStats combines the moments of n images (moms, n·2c values written by
// BatchNormMoments, image after image) in image order, in float64, into the batch's mean
// and biased variance per channel; moves the running statistics towards them unless
// runMean is nil; and writes into coef (BatchNormCoefSize(c) values) the coefficients
// that BatchNormApply and the backward pass use: the scale gamma/√(var + eps), the mean,
// 1/√(var + eps) and what rounding the mean to float32 left of it, c values each, and 2c
// values for BatchNormGradStats.
func BatchNormStats(moms []float32, n, c, hw int, gamma, runMean, runVar []float32, momentum, eps float32, coef []float32) {
	if len(moms) != n*2*c || len(gamma) != c || len(coef) != BatchNormCoefSize(c) ||
		(runMean != nil && (len(runMean) != c || len(runVar) != c)) {
		panic(fmt.Sprintf("kernels: BatchNormStats: slice lengths do not match %d images of %d channels", n, c))
	}
	count := float64(n * hw)
	for ch := range c {
		var sum float64
		for img := range n {
			sum += float64(moms[img*2*c+ch])
		}
		mean := sum / float64(n)
		var m2 float64
		for img := range n {
			d := float64(moms[img*2*c+ch]) - mean
			m2 += float64(moms[img*2*c+c+ch]) + float64(hw)*d*d
		}
		variance := m2 / count
		if runMean != nil {
			unbiased := variance
			if count > 1 {
				unbiased = m2 / (count - 1)
			}
			m := float64(momentum)
			runMean[ch] = float32((1-m)*float64(runMean[ch]) + m*mean)
			runVar[ch] = float32((1-m)*float64(runVar[ch]) + m*unbiased)
		}
		invStd := 1 / math.Sqrt(variance+float64(eps))
		scale := float64(gamma[ch]) * invStd
		coef[ch], coef[c+ch], coef[2*c+ch] = float32(scale), float32(mean), float32(invStd)
		coef[3*c+ch] = float32(mean - float64(float32(mean)))
	}
}

// BatchNormApply normalizes one image x of c channels of hw values into y with the
// coefficients of BatchNormStats and the shift beta, y = scale·(x − mean) + beta per
// channel, followed by max(0, ·) when relu is set. y may be x.
func BatchNormApply(x, y []float32, c, hw int, coef, beta []float32, relu bool) {
	if len(x) != c*hw || len(y) != len(x) || len(coef) != BatchNormCoefSize(c) || len(beta) != c {
		panic(fmt.Sprintf("kernels: BatchNormApply: len(x)=%d, len(y)=%d, len(coef)=%d for %d×%d", len(x), len(y), len(coef), c, hw))
	}
	f := cur.scaleShift
	if relu {
		f = cur.scaleShiftRelu
	}
	for ch := range c {
		f(coef[ch], coef[c+ch], beta[ch], x[ch*hw:ch*hw+hw], y[ch*hw:ch*hw+hw])
	}
}

// BatchNormGradMoments writes into mom (2c values) the sums of one image that the
// backward pass needs, given its input x, the gradient dy of the output and the
// coefficients of the forward pass: mom[ch] = Σ dy and mom[c+ch] = Σ dy·(x − mean) over
// channel ch.
func BatchNormGradMoments(x, dy []float32, c, hw int, coef, mom []float32) {
	if len(x) != c*hw || len(dy) != len(x) || len(coef) != BatchNormCoefSize(c) || len(mom) != 2*c {
		panic(fmt.Sprintf("kernels: BatchNormGradMoments: slice lengths do not match %d×%d", c, hw))
	}
	for ch := range c {
		mom[ch], mom[c+ch] = cur.dotDev(coef[c+ch], x[ch*hw:ch*hw+hw], dy[ch*hw:ch*hw+hw])
	}
}

// BatchNormGradStats sums the gradient moments of n images (moms, n·2c values written by
// BatchNormGradMoments, image after image) in image order, in float64, into the gradients
// of gamma and beta (overwritten; with x̂ the normalized input, dgamma = Σ dy·x̂ and
// dbeta = Σ dy), and completes coef with the coefficients of BatchNormGradApply.
func BatchNormGradStats(moms []float32, n, c, hw int, coef, dgamma, dbeta []float32) {
	if len(moms) != n*2*c || len(coef) != BatchNormCoefSize(c) || len(dgamma) != c || len(dbeta) != c {
		panic(fmt.Sprintf("kernels: BatchNormGradStats: slice lengths do not match %d images of %d channels", n, c))
	}
	m := float64(n * hw)
	for ch := range c {
		var sumDy, sumDyDev float64
		for img := range n {
			sumDy += float64(moms[img*2*c+ch])
			sumDyDev += float64(moms[img*2*c+c+ch])
		}
		invStd := float64(coef[2*c+ch])
		// The moments are about the mean rounded to float32: Σ dy·(x − mean) is theirs
		// less what the rounding left times Σ dy.
		sumDyDev -= float64(coef[3*c+ch]) * sumDy
		dbeta[ch], dgamma[ch] = float32(sumDy), float32(sumDyDev*invStd)
		// dx = scale·(dy − Σdy/m − x̂·Σdy·x̂/m), x̂ = (x − mean)·invStd.
		coef[4*c+ch] = float32(-invStd * invStd * sumDyDev / m)
		coef[5*c+ch] = float32(-sumDy / m)
	}
}

// BatchNormGradApply writes the gradient dx of one image's input x, given the gradient dy
// of its output and the coefficients of BatchNormGradStats:
// dx = scale·((dy + d) + b·(x − mean)) per channel, b and d from the batch's gradient sums
// (the mean taken in more precision than a float32 holds).
// dx may be dy.
func BatchNormGradApply(x, dy, dx []float32, c, hw int, coef []float32) {
	if len(x) != c*hw || len(dy) != len(x) || len(dx) != len(x) || len(coef) != BatchNormCoefSize(c) {
		panic(fmt.Sprintf("kernels: BatchNormGradApply: slice lengths do not match %d×%d", c, hw))
	}
	for ch := range c {
		v := ch * hw
		cur.bnGrad(coef[ch], coef[4*c+ch], coef[5*c+ch], coef[c+ch], coef[3*c+ch], dy[v:v+hw], x[v:v+hw], dx[v:v+hw])
	}
}

// BatchNormTrain normalizes x into y with the batch's statistics and updates runMean and
// runVar, the images split over the worker pool.
func BatchNormTrain(x, y []float32, n, c, hw int, gamma, beta, runMean, runVar []float32, momentum, eps float32) {
	checkBatchNorm(x, y, n, c, hw, gamma, beta, runMean, runVar)
	j := bnJobs.get()
	j.start(bnTrain, x, y, nil, n, c, hw)
	j.beta = beta
	ParallelFor(n, j.momentsFn)
	BatchNormStats(j.moms, n, c, hw, gamma, runMean, runVar, momentum, eps, j.coef)
	ParallelFor(n, j.applyFn)
	j.done()
}

// BatchNormInfer normalizes x into y with the running statistics.
func BatchNormInfer(x, y []float32, n, c, hw int, gamma, beta, runMean, runVar []float32, eps float32) {
	checkBatchNorm(x, y, n, c, hw, gamma, beta, runMean, runVar)
	j := bnJobs.get()
	j.start(bnInfer, x, y, nil, n, c, hw)
	j.beta = beta
	for ch := range c {
		invStd := 1 / math.Sqrt(float64(runVar[ch])+float64(eps))
		scale := float64(gamma[ch]) * invStd
		j.coef[ch], j.coef[c+ch] = float32(scale), runMean[ch]
	}
	ParallelFor(n, j.applyFn)
	j.done()
}

// BatchNormBackward writes the gradient dx of a training-mode batch norm of input x with
// respect to x, given the gradient dy of its output, and the gradients of gamma and beta
// into dgamma and dbeta (overwriting them). With x̂ the normalized input:
// dbeta = Σ dy, dgamma = Σ dy·x̂, dx = gamma/√(var + eps) · (dy − dbeta/m − x̂·dgamma/m)
// over the m = n·hw values of a channel. A nil dx skips the input gradient. The images are
// split over the worker pool.
func BatchNormBackward(x, dy, dx []float32, n, c, hw int, gamma []float32, eps float32, dgamma, dbeta []float32) {
	checkBatchNorm(x, dy, n, c, hw, gamma, dgamma, dbeta, dbeta)
	if dx != nil && len(dx) != len(x) {
		panic("kernels: BatchNormBackward: dx and x differ in length")
	}
	j := bnJobs.get()
	j.start(bnBackward, x, dy, dx, n, c, hw)
	ParallelFor(n, j.momentsFn)
	BatchNormStats(j.moms, n, c, hw, gamma, nil, nil, 0, eps, j.coef)
	j.mode = bnGradMoments
	ParallelFor(n, j.momentsFn)
	BatchNormGradStats(j.moms, n, c, hw, j.coef, dgamma, dbeta)
	if dx != nil {
		ParallelFor(n, j.applyFn)
	}
	j.done()
}

// bnMode is which pass a bnJob's workers run.
type bnMode int

const (
	bnTrain bnMode = iota
	bnInfer
	bnBackward
	bnGradMoments
)

// bnJob is a whole-batch batch norm split over the pool by images, with the scratch space
// of its moments and coefficients, kept between calls; its methods are bound once so that
// calls do not allocate.
type bnJob struct {
	mode               bnMode
	x, y, dx, beta     []float32
	n, c, hw           int
	moms, coef         []float32
	momentsFn, applyFn func(lo, hi int)
}

var bnJobs = newFreeList(8, func() *bnJob {
	j := new(bnJob)
	j.momentsFn, j.applyFn = j.moments, j.apply
	return j
})

// start sets up the job for a pass over n images, growing its scratch space if needed.
func (j *bnJob) start(mode bnMode, x, y, dx []float32, n, c, hw int) {
	j.mode, j.x, j.y, j.dx, j.n, j.c, j.hw = mode, x, y, dx, n, c, hw
	if cap(j.moms) < n*2*c {
		j.moms = make([]float32, n*2*c)
	}
	if cap(j.coef) < BatchNormCoefSize(c) {
		j.coef = make([]float32, BatchNormCoefSize(c))
	}
	j.moms, j.coef = j.moms[:n*2*c], j.coef[:BatchNormCoefSize(c)]
}

// done drops the references to the caller's slices and returns the job to the free list.
func (j *bnJob) done() {
	j.x, j.y, j.dx, j.beta = nil, nil, nil, nil
	bnJobs.put(j)
}

// moments takes the moments (or, in bnGradMoments mode, the gradient moments) of images
// [lo, hi).
func (j *bnJob) moments(lo, hi int) {
	size := j.c * j.hw
	for img := lo; img < hi; img++ {
		x, mom := j.x[img*size:img*size+size], j.moms[img*2*j.c:img*2*j.c+2*j.c]
		if j.mode == bnGradMoments {
			BatchNormGradMoments(x, j.y[img*size:img*size+size], j.c, j.hw, j.coef, mom)
		} else {
			BatchNormMoments(x, j.c, j.hw, mom)
		}
	}
}

// apply normalizes images [lo, hi), or in the backward pass writes their input gradient.
func (j *bnJob) apply(lo, hi int) {
	size := j.c * j.hw
	for img := lo; img < hi; img++ {
		x, y := j.x[img*size:img*size+size], j.y[img*size:img*size+size]
		if j.mode == bnGradMoments {
			BatchNormGradApply(x, y, j.dx[img*size:img*size+size], j.c, j.hw, j.coef)
		} else {
			BatchNormApply(x, y, j.c, j.hw, j.coef, j.beta, false)
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
