package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// bnCase is a batch of n images of c channels of hw values with random statistics per
// channel, and random scale, shift and running statistics.
type bnCase struct {
	n, c, hw                        int
	x, gamma, beta, runMean, runVar []float32
}

func newBNCase(n, c, hw int, seed uint64) bnCase {
	rng := rand.New(rand.NewPCG(seed, 3))
	b := bnCase{n: n, c: c, hw: hw, x: make([]float32, n*c*hw)}
	for ch := range c {
		mu, sd := 4*rng.Float64()-2, 0.1+2*rng.Float64()
		for img := range n {
			for j := range hw {
				b.x[(img*c+ch)*hw+j] = float32(mu + sd*rng.NormFloat64())
			}
		}
		b.gamma = append(b.gamma, float32(0.5+rng.Float64()))
		b.beta = append(b.beta, float32(rng.NormFloat64()))
		b.runMean = append(b.runMean, float32(rng.NormFloat64()))
		b.runVar = append(b.runVar, float32(0.5+rng.Float64()))
	}
	return b
}

// TestBatchNormTrain checks the output and the running statistics against the definition
// in float64, for a batch split over workers and for one value per channel per image.
func TestBatchNormTrain(t *testing.T) {
	for _, shape := range [][3]int{{4, 3, 25}, {1, 5, 7}, {16, 2, 1}, {3, 64, 64}} {
		b := newBNCase(shape[0], shape[1], shape[2], 1)
		y := make([]float32, len(b.x))
		runMean, runVar := append([]float32(nil), b.runMean...), append([]float32(nil), b.runVar...)
		BatchNormTrain(b.x, y, b.n, b.c, b.hw, b.gamma, b.beta, runMean, runVar, 0.1, 1e-5)
		m := float64(b.n * b.hw)
		for ch := range b.c {
			var sum, sq float64
			for img := range b.n {
				for j := range b.hw {
					sum += float64(b.x[(img*b.c+ch)*b.hw+j])
				}
			}
			mean := sum / m
			for img := range b.n {
				for j := range b.hw {
					d := float64(b.x[(img*b.c+ch)*b.hw+j]) - mean
					sq += d * d
				}
			}
			variance := sq / m
			for img := range b.n {
				for j := range b.hw {
					i := (img*b.c+ch)*b.hw + j
					want := float64(b.gamma[ch])*(float64(b.x[i])-mean)/math.Sqrt(variance+1e-5) + float64(b.beta[ch])
					if math.Abs(float64(y[i])-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("%v: y[%d] = %g, want %g", shape, i, y[i], want)
					}
				}
			}
			unbiased := variance
			if m > 1 {
				unbiased = sq / (m - 1)
			}
			wantMean := 0.9*float64(b.runMean[ch]) + 0.1*mean
			wantVar := 0.9*float64(b.runVar[ch]) + 0.1*unbiased
			if math.Abs(float64(runMean[ch])-wantMean) > 1e-5 || math.Abs(float64(runVar[ch])-wantVar) > 1e-5*(1+wantVar) {
				t.Errorf("%v channel %d: running mean, var %g, %g; want %g, %g", shape, ch, runMean[ch], runVar[ch], wantMean, wantVar)
			}
		}
	}
}

// TestBatchNormInfer checks evaluation mode: the running statistics, left unchanged.
func TestBatchNormInfer(t *testing.T) {
	b := newBNCase(2, 3, 10, 2)
	y := make([]float32, len(b.x))
	BatchNormInfer(b.x, y, b.n, b.c, b.hw, b.gamma, b.beta, b.runMean, b.runVar, 1e-5)
	for i, v := range b.x {
		ch := i / b.hw % b.c
		want := float64(b.gamma[ch])*(float64(v)-float64(b.runMean[ch]))/math.Sqrt(float64(b.runVar[ch])+1e-5) + float64(b.beta[ch])
		if math.Abs(float64(y[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("y[%d] = %g, want %g", i, y[i], want)
		}
	}
}

// TestBatchNormBackward checks the gradients against central differences of
// L = Σ w·y, with the batch statistics depending on every input.
func TestBatchNormBackward(t *testing.T) {
	b := newBNCase(3, 2, 6, 3)
	rng := rand.New(rand.NewPCG(9, 9))
	w := make([]float32, len(b.x))
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	loss := func(x, gamma, beta []float32) float64 {
		y := make([]float32, len(x))
		rm, rv := make([]float32, b.c), make([]float32, b.c)
		BatchNormTrain(x, y, b.n, b.c, b.hw, gamma, beta, rm, rv, 0.1, 1e-5)
		s := 0.0
		for i := range y {
			s += float64(w[i]) * float64(y[i])
		}
		return s
	}
	dx, dgamma, dbeta := make([]float32, len(b.x)), make([]float32, b.c), make([]float32, b.c)
	BatchNormBackward(b.x, w, dx, b.n, b.c, b.hw, b.gamma, 1e-5, dgamma, dbeta)
	check := func(what string, v []float32, i int, got float32) {
		const h = 1e-2
		old := v[i]
		v[i] = old + h
		up := loss(b.x, b.gamma, b.beta)
		v[i] = old - h
		down := loss(b.x, b.gamma, b.beta)
		v[i] = old
		want := (up - down) / (2 * h)
		if math.Abs(float64(got)-want) > 2e-2*(1+math.Abs(want)) {
			t.Errorf("%s[%d]: %g, central difference %g", what, i, got, want)
		}
	}
	for i := range b.x {
		check("dx", b.x, i, dx[i])
	}
	for ch := range b.c {
		check("dgamma", b.gamma, ch, dgamma[ch])
		check("dbeta", b.beta, ch, dbeta[ch])
	}
}

// TestFoldBatchNorm: a filter with the folded weights and bias gives, for any input, the
// evaluation-mode batch norm of the original filter's output, with and without a bias.
func TestFoldBatchNorm(t *testing.T) {
	for _, c := range []struct {
		filters, k int
		bias       bool
	}{{3, 27, false}, {5, 1, true}, {16, 9, true}} {
		b := newBNCase(1, c.filters, 1, uint64(c.filters))
		rng := rand.New(rand.NewPCG(uint64(c.k), 5))
		w, x := make([]float32, c.filters*c.k), make([]float32, c.k)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		var bias []float32
		if c.bias {
			for range c.filters {
				bias = append(bias, float32(rng.NormFloat64()))
			}
		}
		fw, fb := make([]float32, len(w)), make([]float32, c.filters)
		FoldBatchNorm(fw, fb, w, bias, b.gamma, b.beta, b.runMean, b.runVar, 1e-5)
		for f := range c.filters {
			var conv, folded float64
			for j, v := range x {
				conv += float64(w[f*c.k+j]) * float64(v)
				folded += float64(fw[f*c.k+j]) * float64(v)
			}
			if c.bias {
				conv += float64(bias[f])
			}
			folded += float64(fb[f])
			want := float64(b.gamma[f])*(conv-float64(b.runMean[f]))/math.Sqrt(float64(b.runVar[f])+1e-5) + float64(b.beta[f])
			if math.Abs(folded-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("%d filters of %d, bias %v: filter %d gives %g, want %g", c.filters, c.k, c.bias, f, folded, want)
			}
		}
	}
}

// TestBatchNormSplit checks the three steps of a training pass run image by image, as
// generated code runs them, against the float64 definition, on channels whose mean is
// far from zero (the moments must not cancel), and that the whole-batch BatchNormTrain
// and BatchNormBackward give the same bits whatever the number of workers.
func TestBatchNormSplit(t *testing.T) {
	const n, c, hw = 5, 3, 1000
	b := newBNCase(n, c, hw, 4)
	for i := range b.x {
		b.x[i] += 300 // mean about 300, deviations about 1
	}
	size := c * hw
	moms, coef := make([]float32, n*2*c), make([]float32, BatchNormCoefSize(c))
	rm, rv := append([]float32(nil), b.runMean...), append([]float32(nil), b.runVar...)
	for img := range n {
		BatchNormMoments(b.x[img*size:img*size+size], c, hw, moms[img*2*c:img*2*c+2*c])
	}
	BatchNormStats(moms, n, c, hw, b.gamma, rm, rv, 0.1, 1e-5, coef)
	y := make([]float32, len(b.x))
	for img := range n {
		BatchNormApply(b.x[img*size:img*size+size], y[img*size:img*size+size], c, hw, coef, b.beta, true)
	}
	for ch := range c {
		var sum, sq float64
		for img := range n {
			for _, v := range b.x[(img*c+ch)*hw : (img*c+ch)*hw+hw] {
				sum += float64(v)
			}
		}
		mean := sum / (n * hw)
		for img := range n {
			for _, v := range b.x[(img*c+ch)*hw : (img*c+ch)*hw+hw] {
				sq += (float64(v) - mean) * (float64(v) - mean)
			}
		}
		if want := 0.9*float64(b.runVar[ch]) + 0.1*sq/(n*hw-1); math.Abs(float64(rv[ch])-want) > 1e-5*want {
			t.Errorf("channel %d: running variance %g, want %g", ch, rv[ch], want)
		}
		for img := range n {
			for j := range hw {
				i := (img*c+ch)*hw + j
				want := max(0, float64(b.gamma[ch])*(float64(b.x[i])-mean)/math.Sqrt(sq/(n*hw)+1e-5)+float64(b.beta[ch]))
				if math.Abs(float64(y[i])-want) > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("y[%d] = %g, want %g", i, y[i], want)
				}
			}
		}
	}

	run := func(procs int) (y, dx, dgamma []float32) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		y, dx, dgamma = make([]float32, len(b.x)), make([]float32, len(b.x)), make([]float32, c)
		rm, rv := append([]float32(nil), b.runMean...), append([]float32(nil), b.runVar...)
		BatchNormTrain(b.x, y, n, c, hw, b.gamma, b.beta, rm, rv, 0.1, 1e-5)
		BatchNormBackward(b.x, y, dx, n, c, hw, b.gamma, 1e-5, dgamma, make([]float32, c))
		return y, dx, dgamma
	}
	y1, dx1, dg1 := run(1)
	y3, dx3, dg3 := run(3)
	if !slices.Equal(y1, y3) || !slices.Equal(dx1, dx3) || !slices.Equal(dg1, dg3) {
		t.Error("BatchNormTrain or BatchNormBackward differ between 1 and 3 workers")
	}
}
