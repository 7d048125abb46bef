// Package reference is a deliberately naive float64 implementation of every netc layer,
// forward and backward, used only as a test oracle for the generated code.
//
// It is test-only support code: nothing in netc's compiled networks or runtime depends on
// it. Clarity beats speed here. Every layer is a plain nested loop over the definitions,
// in float64 throughout, with PyTorch's semantics (Conv2d, MaxPool2d/AvgPool2d without
// padding, Linear, LocalResponseNorm, inverted dropout, mean cross-entropy), so the
// generated float32 code can be checked against it and it can be checked against PyTorch.
//
// Data layout, shared with the generated code:
//
//   - Parameters are one flat slice of net.Params+net.Buffers values. A conv layer's
//     weights sit at WeightOff as [out][in/groups][kh][kw], its biases (one per filter) at
//     BiasOff; a full layer's weights sit at WeightOff as [out][in] with the input flattened
//     in C,H,W order, its biases at BiasOff. A meansub layer's mean (per channel [C], or a
//     mean image [C][H][W]) sits at its BiasOff; it is not learned and its gradient is 0.
//   - The input and every activation is batch × C×H×W, image after image, each in C,H,W
//     order.
//   - The scores are the input of the loss layer, batch × net.Outputs().
package reference

import (
	"fmt"
	"math"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/runtime/nn"
)

// Result holds everything a forward and backward pass computes.
type Result struct {
	Scores  []float64 // batch × outputs
	Loss    float64
	DParams []float64 // gradient of Loss w.r.t. every parameter (0 for buffers)
	DInput  []float64 // gradient of Loss w.r.t. the input
}

// Run computes forward (train selects dropout), the loss and all gradients, in float64.
//
// params holds net.Params+net.Buffers values; x holds batch images of net.Input. labels
// (batch values in [0, outputs)) are needed by the softmax and svm losses, and by the
// euclidean loss when targets is nil, which then compares the scores with one-hot
// labels; otherwise targets holds batch × outputs values. In train mode every dropout
// layer, in order, draws one rng.Float32() per value of its whole batch buffer, so rng is
// advanced exactly as the generated code advances its own; rng may be nil when no
// dropout mask is drawn.
func Run(net *compiler.Net, params []float32, x []float32, batch int, labels []int32, targets []float32, train bool, rng *nn.RNG) (*Result, error) {
	var t []float64
	if targets != nil {
		t = widen(targets)
	}
	if err := validate(net, len(params), len(x), batch, labels, len(t), targets != nil, train, rng != nil); err != nil {
		return nil, err
	}
	p := &pass{net: net, params: widen(params), batch: batch, train: train, rng: rng}
	p.forward(widen(x))
	loss, dscores := lossForward(net.Loss(), p.scores(), batch, labels, t)
	dparams, dinput := p.backward(dscores)
	return &Result{
		Scores:  append([]float64(nil), p.scores()...),
		Loss:    loss,
		DParams: dparams,
		DInput:  dinput,
	}, nil
}

// Loss computes only the forward loss for given float64 params and input (for gradient
// checks), with dropout masks drawn from a copy of the given RNG state. So repeated calls
// with the same rngState use the same masks, the ones Run draws from
// nn.RNG{State: rngState}. It panics on arguments Run would reject.
func Loss(net *compiler.Net, params, x []float64, batch int, labels []int32, targets []float64, train bool, rngState uint64) float64 {
	if err := validate(net, len(params), len(x), batch, labels, len(targets), targets != nil, train, true); err != nil {
		panic(err)
	}
	rng := nn.RNG{State: rngState}
	p := &pass{net: net, params: params, batch: batch, train: train, rng: &rng}
	p.forward(x)
	loss, _ := lossForward(net.Loss(), p.scores(), batch, labels, targets)
	return loss
}

// validate checks the sizes of Run's and Loss's arguments.
func validate(net *compiler.Net, nparams, nx, batch int, labels []int32, ntargets int, haveTargets, train, haveRNG bool) error {
	if batch < 1 {
		return fmt.Errorf("reference: batch %d must be positive", batch)
	}
	if want := net.Params + net.Buffers; nparams != want {
		return fmt.Errorf("reference: %d parameters, want %d", nparams, want)
	}
	if want := batch * net.Input.Size(); nx != want {
		return fmt.Errorf("reference: input has %d values, want %d (batch %d × %v)", nx, want, batch, net.Input)
	}
	n := net.Outputs()
	needLabels := net.Loss().Kind != compiler.Euclidean || !haveTargets
	if needLabels {
		if len(labels) != batch {
			return fmt.Errorf("reference: %d labels, want %d", len(labels), batch)
		}
		for i, y := range labels {
			if y < 0 || int(y) >= n {
				return fmt.Errorf("reference: label %d of image %d is outside [0, %d)", y, i, n)
			}
		}
	}
	if haveTargets {
		if net.Loss().Kind != compiler.Euclidean {
			return fmt.Errorf("reference: targets are only for the euclidean loss, not %s", net.Loss().Kind)
		}
		if ntargets != batch*n {
			return fmt.Errorf("reference: %d targets, want %d", ntargets, batch*n)
		}
	}
	if train && !haveRNG {
		for _, l := range net.Layers {
			if l.Kind == compiler.Dropout {
				return fmt.Errorf("reference: training with dropout needs an RNG")
			}
		}
	}
	return nil
}

func widen(v []float32) []float64 {
	w := make([]float64, len(v))
	for i, f := range v {
		w[i] = float64(f)
	}
	return w
}

// pass is one forward (and possibly backward) pass through the layers before the loss.
type pass struct {
	net    *compiler.Net
	params []float64
	batch  int
	train  bool
	rng    *nn.RNG
	// acts[0] is the input; acts[i+1] is the output of layer i (for every layer but the
	// loss), so acts[len(acts)-1] holds the scores.
	acts [][]float64
	// masks[i] is layer i's dropout factor per value (0 or 1/(1-p)), nil if not drawn.
	masks [][]float64
}

func (p *pass) scores() []float64 { return p.acts[len(p.acts)-1] }

// forward computes every layer's output up to the scores.
func (p *pass) forward(x []float64) {
	layers := p.net.Layers[:len(p.net.Layers)-1]
	p.acts = [][]float64{x}
	p.masks = make([][]float64, len(layers))
	for i, l := range layers {
		in := p.acts[i]
		var out []float64
		switch l.Kind {
		case compiler.Conv:
			out = convForward(l, p.params, in, p.batch)
		case compiler.Full:
			out = fullForward(l, p.params, in, p.batch)
		case compiler.Pool:
			if l.Avg {
				out = avgPoolForward(l, in, p.batch)
			} else {
				out = maxPoolForward(l, in, p.batch)
			}
		case compiler.ReLU, compiler.Tanh, compiler.Sigmoid:
			out = activationForward(l.Kind, in)
		case compiler.Norm:
			out = lrnForward(l, in, p.batch)
		case compiler.MeanSub:
			out = meanSubForward(l, p.params, in, p.batch)
		case compiler.Dropout:
			if p.train {
				p.masks[i] = dropoutMask(l, p.batch, p.rng)
			}
			out = dropoutForward(p.masks[i], in)
		default:
			panic(fmt.Sprintf("reference: layer %s of unknown kind %q", l.Name, l.Kind))
		}
		p.acts = append(p.acts, out)
	}
}

// backward propagates the gradient of the loss with respect to the scores back through
// every layer, returning the gradients of the parameters and of the input.
func (p *pass) backward(dscores []float64) (dparams, dinput []float64) {
	dparams = make([]float64, len(p.params))
	d := dscores
	for i := len(p.net.Layers) - 2; i >= 0; i-- {
		l := p.net.Layers[i]
		in, out := p.acts[i], p.acts[i+1]
		switch l.Kind {
		case compiler.Conv:
			d = convBackward(l, p.params, in, d, p.batch, dparams)
		case compiler.Full:
			d = fullBackward(l, p.params, in, d, p.batch, dparams)
		case compiler.Pool:
			if l.Avg {
				d = avgPoolBackward(l, d, p.batch)
			} else {
				d = maxPoolBackward(l, in, d, p.batch)
			}
		case compiler.ReLU, compiler.Tanh, compiler.Sigmoid:
			d = activationBackward(l.Kind, in, out, d)
		case compiler.Norm:
			d = lrnBackward(l, in, d, p.batch)
		case compiler.MeanSub:
			d = append([]float64(nil), d...) // y = x − mean: dx = dy; the mean is not learned
		case compiler.Dropout:
			d = dropoutForward(p.masks[i], d) // dx = dy · mask, the same product as forward
		default:
			panic(fmt.Sprintf("reference: layer %s of unknown kind %q", l.Name, l.Kind))
		}
	}
	return dparams, d
}

// at returns the index of (c, y, x) of image n in a batch buffer of images of shape s.
func at(s compiler.Shape, n, c, y, x int) int {
	return ((n*s.C+c)*s.H+y)*s.W + x
}

// convWeight returns the index of conv weight [o][ci][ky][kx] in the flat parameters.
func convWeight(l *compiler.Layer, o, ci, ky, kx int) int {
	return l.WeightOff + ((o*(l.In.C/l.Groups)+ci)*l.KH+ky)*l.KW + kx
}

// convForward is PyTorch's Conv2d: y[o][oy][ox] = b[o] + Σ w[o][ci][ky][kx] · x[g·cin+ci][iy][ix]
// with iy = oy·SH − PH + ky, ix = ox·SW − PW + kx, zero outside the input, g the group of
// filter o and cin = In.C/Groups the channels per group. The sum is taken weight by
// weight: each weight adds its products to every output position it reaches.
func convForward(l *compiler.Layer, params, x []float64, batch int) []float64 {
	y := make([]float64, batch*l.Out.Size())
	cin, fpg := l.In.C/l.Groups, l.Filters/l.Groups
	for n := range batch {
		for o := range l.Filters {
			g := o / fpg
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					y[at(l.Out, n, o, oy, ox)] = params[l.BiasOff+o]
				}
			}
			for ci := range cin {
				for ky := range l.KH {
					for kx := range l.KW {
						w := params[convWeight(l, o, ci, ky, kx)]
						for oy := range l.Out.H {
							iy := oy*l.SH - l.PH + ky
							if iy < 0 || iy >= l.In.H {
								continue
							}
							yrow := y[at(l.Out, n, o, oy, 0):][:l.Out.W]
							xrow := x[at(l.In, n, g*cin+ci, iy, 0):][:l.In.W]
							for ox := range yrow {
								ix := ox*l.SW - l.PW + kx
								if ix < 0 || ix >= len(xrow) {
									continue
								}
								yrow[ox] += w * xrow[ix]
							}
						}
					}
				}
			}
		}
	}
	return y
}

// convBackward adds the conv layer's weight and bias gradients to dparams and returns the
// gradient of its input, walking the same loops as convForward:
// db[o] = Σ dy[o], dw[o][ci][ky][kx] = Σ dy[o][oy][ox] · x[..][iy][ix], and dx[..][iy][ix]
// gets dy[o][oy][ox] · w[o][ci][ky][kx] from every output it reaches.
func convBackward(l *compiler.Layer, params, x, dy []float64, batch int, dparams []float64) []float64 {
	dx := make([]float64, len(x))
	cin, fpg := l.In.C/l.Groups, l.Filters/l.Groups
	for n := range batch {
		for o := range l.Filters {
			g := o / fpg
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					dparams[l.BiasOff+o] += dy[at(l.Out, n, o, oy, ox)]
				}
			}
			for ci := range cin {
				for ky := range l.KH {
					for kx := range l.KW {
						wi := convWeight(l, o, ci, ky, kx)
						w, dw := params[wi], 0.0
						for oy := range l.Out.H {
							iy := oy*l.SH - l.PH + ky
							if iy < 0 || iy >= l.In.H {
								continue
							}
							dyrow := dy[at(l.Out, n, o, oy, 0):][:l.Out.W]
							xrow := x[at(l.In, n, g*cin+ci, iy, 0):][:l.In.W]
							dxrow := dx[at(l.In, n, g*cin+ci, iy, 0):][:l.In.W]
							for ox, d := range dyrow {
								ix := ox*l.SW - l.PW + kx
								if ix < 0 || ix >= len(xrow) {
									continue
								}
								dw += d * xrow[ix]
								dxrow[ix] += d * w
							}
						}
						dparams[wi] += dw
					}
				}
			}
		}
	}
	return dx
}

// fullForward is PyTorch's Linear on the input flattened in C,H,W order:
// y[o] = b[o] + Σ_i W[o][i] · x[i].
func fullForward(l *compiler.Layer, params, x []float64, batch int) []float64 {
	in, out := l.In.Size(), l.Filters
	y := make([]float64, batch*out)
	for n := range batch {
		for o := range out {
			sum := params[l.BiasOff+o]
			for i := range in {
				sum += params[l.WeightOff+o*in+i] * x[n*in+i]
			}
			y[n*out+o] = sum
		}
	}
	return y
}

// fullBackward adds the full layer's weight and bias gradients to dparams and returns the
// gradient of its input.
func fullBackward(l *compiler.Layer, params, x, dy []float64, batch int, dparams []float64) []float64 {
	in, out := l.In.Size(), l.Filters
	dx := make([]float64, len(x))
	for n := range batch {
		for o := range out {
			d := dy[n*out+o]
			dparams[l.BiasOff+o] += d
			for i := range in {
				dparams[l.WeightOff+o*in+i] += d * x[n*in+i]
				dx[n*in+i] += d * params[l.WeightOff+o*in+i]
			}
		}
	}
	return dx
}

// argmax returns the input index of the largest value in pooling window (oy, ox) of
// channel c of image n; ties go to the first in row-major window order.
func argmax(l *compiler.Layer, x []float64, n, c, oy, ox int) int {
	best := at(l.In, n, c, oy*l.SH, ox*l.SW)
	for ky := range l.KH {
		for kx := range l.KW {
			i := at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)
			if x[i] > x[best] {
				best = i
			}
		}
	}
	return best
}

// maxPoolForward is PyTorch's MaxPool2d without padding: the largest value of each KH×KW
// window, windows SH×SW apart (the output size is floored, so every window is inside).
func maxPoolForward(l *compiler.Layer, x []float64, batch int) []float64 {
	y := make([]float64, batch*l.Out.Size())
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					y[at(l.Out, n, c, oy, ox)] = x[argmax(l, x, n, c, oy, ox)]
				}
			}
		}
	}
	return y
}

// maxPoolBackward routes each output's gradient to its window's argmax.
func maxPoolBackward(l *compiler.Layer, x, dy []float64, batch int) []float64 {
	dx := make([]float64, len(x))
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					dx[argmax(l, x, n, c, oy, ox)] += dy[at(l.Out, n, c, oy, ox)]
				}
			}
		}
	}
	return dx
}

// avgPoolForward is PyTorch's AvgPool2d without padding: the mean of each KH×KW window.
func avgPoolForward(l *compiler.Layer, x []float64, batch int) []float64 {
	y := make([]float64, batch*l.Out.Size())
	area := float64(l.KH * l.KW)
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					sum := 0.0
					for ky := range l.KH {
						for kx := range l.KW {
							sum += x[at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)]
						}
					}
					y[at(l.Out, n, c, oy, ox)] = sum / area
				}
			}
		}
	}
	return y
}

// avgPoolBackward spreads each output's gradient evenly over its window.
func avgPoolBackward(l *compiler.Layer, dy []float64, batch int) []float64 {
	dx := make([]float64, batch*l.In.Size())
	area := float64(l.KH * l.KW)
	for n := range batch {
		for c := range l.Out.C {
			for oy := range l.Out.H {
				for ox := range l.Out.W {
					d := dy[at(l.Out, n, c, oy, ox)] / area
					for ky := range l.KH {
						for kx := range l.KW {
							dx[at(l.In, n, c, oy*l.SH+ky, ox*l.SW+kx)] += d
						}
					}
				}
			}
		}
	}
	return dx
}

// activationForward applies relu (max(0, x)), tanh or sigmoid (1/(1+e^−x)) to every value.
func activationForward(k compiler.Kind, x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		switch k {
		case compiler.ReLU:
			y[i] = math.Max(0, v)
		case compiler.Tanh:
			y[i] = math.Tanh(v)
		case compiler.Sigmoid:
			y[i] = 1 / (1 + math.Exp(-v))
		}
	}
	return y
}

// activationBackward multiplies dy by the activation's derivative: relu 1 where x > 0
// (else 0, also at 0 as in PyTorch), tanh 1 − y², sigmoid y(1 − y).
func activationBackward(k compiler.Kind, x, y, dy []float64) []float64 {
	dx := make([]float64, len(x))
	for i := range x {
		switch k {
		case compiler.ReLU:
			if x[i] > 0 {
				dx[i] = dy[i]
			}
		case compiler.Tanh:
			dx[i] = dy[i] * (1 - y[i]*y[i])
		case compiler.Sigmoid:
			dx[i] = dy[i] * y[i] * (1 - y[i])
		}
	}
	return dx
}

// lrnWindow returns the channels [lo, hi] that LRN sums over for channel c: PyTorch's
// c − size/2 … c + (size−1)/2, clipped to the existing channels.
func lrnWindow(l *compiler.Layer, c int) (lo, hi int) {
	return max(0, c-l.Size/2), min(l.In.C-1, c+(l.Size-1)/2)
}

// lrnScale returns k + alpha/size · Σ_{c' in window(c)} a_{c'}² at (c, y, x) of image n.
func lrnScale(l *compiler.Layer, a []float64, n, c, y, x int) float64 {
	lo, hi := lrnWindow(l, c)
	sum := 0.0
	for c2 := lo; c2 <= hi; c2++ {
		v := a[at(l.In, n, c2, y, x)]
		sum += v * v
	}
	return l.LRNK + l.Alpha/float64(l.Size)*sum
}

// lrnForward is PyTorch's LocalResponseNorm: b_c = a_c / scale_c^beta.
func lrnForward(l *compiler.Layer, a []float64, batch int) []float64 {
	b := make([]float64, len(a))
	for n := range batch {
		for c := range l.In.C {
			for y := range l.In.H {
				for x := range l.In.W {
					i := at(l.In, n, c, y, x)
					b[i] = a[i] * math.Pow(lrnScale(l, a, n, c, y, x), -l.Beta)
				}
			}
		}
	}
	return b
}

// lrnBackward returns the gradient of LRN's input. Output b_c depends on a_c directly and
// on every a_j, j in window(c), through scale_c:
//
//	∂b_c/∂a_j = [j = c]·scale_c^−beta − 2·beta·alpha/size · a_c · a_j · scale_c^(−beta−1).
func lrnBackward(l *compiler.Layer, a, db []float64, batch int) []float64 {
	da := make([]float64, len(a))
	for n := range batch {
		for c := range l.In.C {
			for y := range l.In.H {
				for x := range l.In.W {
					i := at(l.In, n, c, y, x)
					scale := lrnScale(l, a, n, c, y, x)
					da[i] += db[i] * math.Pow(scale, -l.Beta)
					common := db[i] * -2 * l.Beta * l.Alpha / float64(l.Size) * a[i] * math.Pow(scale, -l.Beta-1)
					lo, hi := lrnWindow(l, c)
					for j := lo; j <= hi; j++ {
						ij := at(l.In, n, j, y, x)
						da[ij] += common * a[ij]
					}
				}
			}
		}
	}
	return da
}

// meanSubForward subtracts the layer's mean: one value per channel, or a whole mean image.
func meanSubForward(l *compiler.Layer, params, x []float64, batch int) []float64 {
	y := make([]float64, len(x))
	for n := range batch {
		for c := range l.In.C {
			for h := range l.In.H {
				for w := range l.In.W {
					mean := params[l.BiasOff+c]
					if l.MeanImage {
						mean = params[l.BiasOff+(c*l.In.H+h)*l.In.W+w]
					}
					i := at(l.In, n, c, h, w)
					y[i] = x[i] - mean
				}
			}
		}
	}
	return y
}

// dropoutMask draws a dropout layer's mask for the whole batch buffer, value by value
// (index image·size + j): a value is kept iff rng.Float32() >= float32(p), kept values
// being scaled by 1/(1−p).
func dropoutMask(l *compiler.Layer, batch int, rng *nn.RNG) []float64 {
	mask := make([]float64, batch*l.In.Size())
	for i := range mask {
		if rng.Float32() >= float32(l.Prob) {
			mask[i] = 1 / (1 - l.Prob)
		}
	}
	return mask
}

// dropoutForward multiplies x by the mask; a nil mask (test mode) is the identity.
func dropoutForward(mask, x []float64) []float64 {
	y := append([]float64(nil), x...)
	if mask != nil {
		for i := range y {
			y[i] *= mask[i]
		}
	}
	return y
}

// lossForward computes the loss layer l on the scores s (batch × N) and its gradient with
// respect to s:
//
//   - softmax: the batch mean of −log softmax(s)[y] (PyTorch's CrossEntropyLoss);
//   - svm: the batch mean of Σ_{j≠y} max(0, s_j − s_y + margin);
//   - euclidean: 1/(2·batch) · Σ (s − t)², t the targets or, when nil, one-hot labels.
func lossForward(l *compiler.Layer, s []float64, batch int, labels []int32, targets []float64) (float64, []float64) {
	n := l.In.Size()
	ds := make([]float64, len(s))
	loss := 0.0
	b := float64(batch)
	for img := range batch {
		row, drow := s[img*n:(img+1)*n], ds[img*n:(img+1)*n]
		switch l.Kind {
		case compiler.Softmax:
			y := labels[img]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, v)
			}
			sum := 0.0
			for _, v := range row {
				sum += math.Exp(v - m)
			}
			logZ := m + math.Log(sum)
			loss += (logZ - row[y]) / b
			for j, v := range row {
				drow[j] = math.Exp(v-logZ) / b
			}
			drow[y] -= 1 / b
		case compiler.SVM:
			y := labels[img]
			for j, v := range row {
				if j == int(y) {
					continue
				}
				if margin := v - row[y] + l.Margin; margin > 0 {
					loss += margin / b
					drow[j] += 1 / b
					drow[y] -= 1 / b
				}
			}
		case compiler.Euclidean:
			for j, v := range row {
				var t float64
				if targets != nil {
					t = targets[img*n+j]
				} else if j == int(labels[img]) {
					t = 1
				}
				loss += (v - t) * (v - t) / (2 * b)
				drow[j] = (v - t) / b
			}
		default:
			panic(fmt.Sprintf("reference: %s is not a loss", l.Kind))
		}
	}
	return loss, ds
}
