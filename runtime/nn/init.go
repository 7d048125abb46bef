package nn

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// InitScheme selects how Initialize draws the weights of a network. Biases are always set
// to zero.
type InitScheme int

const (
	// InitHe is Kaiming (He et al., 2015) normal initialization: each weight is drawn from
	// N(0, 2/FanIn), i.e. std = sqrt(2/FanIn), which keeps the variance of activations
	// constant through ReLU layers. It is the default (the zero value) and the right choice
	// for ReLU networks. It matches PyTorch's kaiming_normal_(mode="fan_in",
	// nonlinearity="relu").
	InitHe InitScheme = iota
	// InitXavier is Glorot (Glorot & Bengio, 2010) UNIFORM initialization: each weight is
	// drawn from U(-a, a) with a = sqrt(6/(FanIn+FanOut)), so Var = a²/3 = 2/(FanIn+FanOut).
	// It matches PyTorch's xavier_uniform_ with gain 1 and suits tanh or sigmoid networks.
	InitXavier
	// InitGaussian is the lecture's "small random numbers": each weight is std·randn, with
	// std DefaultGaussianStd unless InitializeGaussian is given another. It works for small
	// networks and makes activations vanish in deep ones, which is the lecture's point.
	InitGaussian
)

// DefaultGaussianStd is the standard deviation InitGaussian uses (the lecture's 0.001·randn).
const DefaultGaussianStd = 0.001

// String returns the scheme's canonical name, as ParseInitScheme accepts it.
func (s InitScheme) String() string {
	switch s {
	case InitHe:
		return "he"
	case InitXavier:
		return "xavier"
	case InitGaussian:
		return "gaussian"
	}
	return fmt.Sprintf("InitScheme(%d)", int(s))
}

// ParseInitScheme parses an initialization name: "he" (also "kaiming", "msra"), "xavier"
// (also "glorot") or "gaussian" (also "gauss", "normal"). Case is ignored.
func ParseInitScheme(s string) (InitScheme, error) {
	switch strings.ToLower(s) {
	case "he", "kaiming", "msra":
		return InitHe, nil
	case "xavier", "glorot":
		return InitXavier, nil
	case "gaussian", "gauss", "normal":
		return InitGaussian, nil
	}
	return 0, fmt.Errorf("unknown initialization %q (want he, xavier or gaussian)", s)
}

// ParseInit parses the words of an initialization setting: a scheme name optionally
// followed, for gaussian only, by the standard deviation, e.g. ["he"], ["xavier"],
// ["gaussian"] or ["gaussian", "0.01"]. A leading "init" word is skipped. The returned std
// is DefaultGaussianStd when none is given, and 0 for the other schemes.
func ParseInit(words []string) (scheme InitScheme, std float32, err error) {
	if len(words) > 0 && strings.EqualFold(words[0], "init") {
		words = words[1:]
	}
	if len(words) == 0 {
		return 0, 0, fmt.Errorf("init: missing scheme (want he, xavier or gaussian)")
	}
	scheme, err = ParseInitScheme(words[0])
	if err != nil {
		return 0, 0, fmt.Errorf("init: %w", err)
	}
	rest := words[1:]
	if scheme != InitGaussian {
		if len(rest) > 0 {
			return 0, 0, fmt.Errorf("init %s: unexpected %q (only gaussian takes a std)", scheme, rest[0])
		}
		return scheme, 0, nil
	}
	std = DefaultGaussianStd
	if len(rest) > 0 {
		v, perr := strconv.ParseFloat(rest[0], 64)
		if perr != nil || !(v > 0) || math.IsInf(v, 0) {
			return 0, 0, fmt.Errorf("init gaussian: std %q is not a positive number", rest[0])
		}
		std = float32(v)
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return 0, 0, fmt.Errorf("init gaussian: unexpected %q after the std", rest[0])
	}
	return scheme, std, nil
}

// Initialize fills params (laid out as info.Params describes) for a fresh training run:
// every weight tensor is drawn with the given scheme from one RNG seeded with seed, tensor
// after tensor in info.Params order and element after element in each, and every bias
// and buffer is set to its Init value (zero but for a batch norm's scale and running
// variance). The result depends only on info, scheme and seed. InitGaussian uses
// DefaultGaussianStd. It panics if len(params) is not info.NumParams.
func Initialize(info *Info, params []float32, scheme InitScheme, seed uint64) {
	initialize(info, params, scheme, DefaultGaussianStd, seed)
}

// InitializeGaussian is Initialize with InitGaussian and the given standard deviation.
func InitializeGaussian(info *Info, params []float32, std float32, seed uint64) {
	initialize(info, params, InitGaussian, float64(std), seed)
}

func initialize(info *Info, params []float32, scheme InitScheme, gaussStd float64, seed uint64) {
	if len(params) != info.NumParams {
		panic(fmt.Sprintf("nn.Initialize: %d params, network %q has %d", len(params), info.Name, info.NumParams))
	}
	rng := NewRNG(seed)
	output := outputWeights(info)
	for i := range info.Params {
		t := &info.Params[i]
		w := t.Data(params)
		if t.Bias || t.Buffer {
			for j := range w {
				w[j] = t.Init
			}
			continue
		}
		fanIn, fanOut := fans(t)
		switch scheme {
		case InitHe:
			// He's factor 2 makes up for the half of the activations a ReLU zeroes; the
			// output layer's scores reach the loss without one, so it gets LeCun's 1/fanIn,
			// which keeps the initial loss near ln(classes) as the lecture's check expects.
			gain := 2.0
			if i == output {
				gain = 1
			}
			std := math.Sqrt(gain / float64(fanIn))
			for j := range w {
				w[j] = float32(std * rng.NormFloat64())
			}
		case InitXavier:
			a := math.Sqrt(6 / float64(fanIn+fanOut))
			for j := range w {
				w[j] = float32(a * (2*rng.Float64() - 1))
			}
		case InitGaussian:
			for j := range w {
				w[j] = float32(gaussStd * rng.NormFloat64())
			}
		default:
			panic(fmt.Sprintf("nn.Initialize: unknown %v", scheme))
		}
	}
}

// outputWeights returns the index in info.Params of the weights of the last learned layer,
// the one that produces the scores, or -1.
func outputWeights(info *Info) int {
	for i := len(info.Params) - 1; i >= 0; i-- {
		if t := &info.Params[i]; !t.Bias && !t.Buffer {
			return i
		}
	}
	return -1
}

// fans returns the tensor's fan-in and fan-out, from Info when set, else from its PyTorch
// shape the way PyTorch computes them ([out, in, k...]: in·k and out·k), never below 1.
func fans(t *ParamTensor) (fanIn, fanOut int) {
	fanIn, fanOut = t.FanIn, t.FanOut
	if fanIn <= 0 || fanOut <= 0 {
		recept := 1
		for _, d := range t.Shape[min(2, len(t.Shape)):] {
			recept *= d
		}
		in, out := 1, 1
		if len(t.Shape) > 0 {
			out = t.Shape[0]
		}
		if len(t.Shape) > 1 {
			in = t.Shape[1]
		}
		if fanIn <= 0 {
			fanIn = in * recept
		}
		if fanOut <= 0 {
			fanOut = out * recept
		}
	}
	return max(fanIn, 1), max(fanOut, 1)
}
