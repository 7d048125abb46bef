package nn

import (
	"math"
	"strings"
	"testing"
)

// initInfo is a small network description: a 64×32×3×3 conv (fan-in 288, fan-out 576),
// its bias, a 10×2000 full layer (fan-in 2000, fan-out 10), its bias, and an 8×4×5×5 conv
// whose fans are left for Initialize to compute from the shape (100 and 200).
func initInfo() *Info {
	in := &Info{Name: "init-test"}
	add := func(name string, bias bool, fanIn, fanOut int, shape ...int) {
		size := 1
		for _, d := range shape {
			size *= d
		}
		in.Params = append(in.Params, ParamTensor{Name: name, Offset: in.NumParams, Size: size,
			Shape: shape, Bias: bias, FanIn: fanIn, FanOut: fanOut, LRMult: 1})
		in.NumParams += size
	}
	add("conv1.weight", false, 288, 576, 64, 32, 3, 3)
	add("conv1.bias", true, 288, 576, 64)
	add("full1.weight", false, 2000, 10, 10, 2000)
	add("full1.bias", true, 2000, 10, 10)
	add("conv2.weight", false, 0, 0, 8, 4, 5, 5)
	return in
}

func meanStd(x []float32) (mean, std float64) {
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	for _, v := range x {
		d := float64(v) - mean
		std += d * d
	}
	return mean, math.Sqrt(std / float64(len(x)))
}

func TestInitializeStatistics(t *testing.T) {
	info := initInfo()
	tests := []struct {
		scheme InitScheme
		std    float32 // gaussian only
		// wantStd per weight tensor, hand-computed from its fans.
		wantStd [3]float64
		// bound, if nonzero, is the uniform half-width per weight tensor.
		bound [3]float64
	}{
		// He: sqrt(2/288) = 0.0833333, sqrt(2/2000) = 0.0316228; the output layer gets
		// LeCun's sqrt(1/100) = 0.1.
		{scheme: InitHe, wantStd: [3]float64{0.0833333, 0.0316228, 0.1}},
		// Xavier: sqrt(2/(288+576)) = 0.0481125, sqrt(2/2010) = 0.0315440,
		// sqrt(2/300) = 0.0816497; bounds sqrt(6/864) = 0.0833333, sqrt(6/2010) = 0.0546358,
		// sqrt(6/300) = 0.1414214.
		{scheme: InitXavier, wantStd: [3]float64{0.0481125, 0.0315440, 0.0816497},
			bound: [3]float64{0.0833333, 0.0546358, 0.1414214}},
		{scheme: InitGaussian, wantStd: [3]float64{0.001, 0.001, 0.001}},
		{scheme: InitGaussian, std: 0.05, wantStd: [3]float64{0.05, 0.05, 0.05}},
	}
	for _, tc := range tests {
		params := make([]float32, info.NumParams)
		for i := range params {
			params[i] = 7 // garbage that Initialize must overwrite, biases included
		}
		if tc.std != 0 {
			InitializeGaussian(info, params, tc.std, 42)
		} else {
			Initialize(info, params, tc.scheme, 42)
		}
		k := 0
		for i := range info.Params {
			p := &info.Params[i]
			w := p.Data(params)
			if p.Bias {
				for j, v := range w {
					if v != 0 {
						t.Fatalf("%v: %s[%d] = %g, want 0", tc.scheme, p.Name, j, v)
					}
				}
				continue
			}
			mean, std := meanStd(w)
			want := tc.wantStd[k]
			// The sample std of n normal draws is off by about want/sqrt(2n): 0.5% for
			// 18,432 elements, 2.5% for 800. Allow 4% (8% for the small tensor).
			tol := 0.04
			if len(w) < 1000 {
				tol = 0.08
			}
			if math.Abs(std-want) > tol*want {
				t.Errorf("%v: %s std = %.6g, want %.6g", tc.scheme, p.Name, std, want)
			}
			if lim := 5 * want / math.Sqrt(float64(len(w))); math.Abs(mean) > lim {
				t.Errorf("%v: %s mean = %.3g, want |mean| < %.3g", tc.scheme, p.Name, mean, lim)
			}
			if b := tc.bound[k]; b != 0 {
				var maxAbs float64
				for _, v := range w {
					maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
				}
				if maxAbs > b || maxAbs < 0.95*b {
					t.Errorf("%v: %s max |w| = %.6g, want just under %.6g", tc.scheme, p.Name, maxAbs, b)
				}
			}
			k++
		}
	}
}

func TestInitializeDeterministic(t *testing.T) {
	info := initInfo()
	for _, scheme := range []InitScheme{InitHe, InitXavier, InitGaussian} {
		a := make([]float32, info.NumParams)
		b := make([]float32, info.NumParams)
		c := make([]float32, info.NumParams)
		Initialize(info, a, scheme, 1)
		Initialize(info, b, scheme, 1)
		Initialize(info, c, scheme, 2)
		same, diff := true, 0
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				same = false
			}
			if a[i] != c[i] {
				diff++
			}
		}
		if !same {
			t.Errorf("%v: two runs with seed 1 differ", scheme)
		}
		// Every weight should differ between seeds; the 74 biases are zero in both.
		if want := info.NumParams - 74; diff < want-10 {
			t.Errorf("%v: seeds 1 and 2 differ in %d of %d weights", scheme, diff, want)
		}
	}
}

// TestInitializeOrder checks the documented draw order: one RNG seeded with the seed,
// tensors in order, biases drawing nothing.
func TestInitializeOrder(t *testing.T) {
	info := initInfo()
	params := make([]float32, info.NumParams)
	Initialize(info, params, InitHe, 9)
	r := NewRNG(9)
	if got, want := params[0], float32(math.Sqrt(2.0/288)*r.NormFloat64()); got != want {
		t.Fatalf("first weight %g, want %g (first draw of NewRNG(9))", got, want)
	}
	for range 64*32*3*3 - 1 {
		r.NormFloat64()
	}
	full := info.Params[2].Data(params)
	if got, want := full[0], float32(math.Sqrt(2.0/2000)*r.NormFloat64()); got != want {
		t.Fatalf("full1.weight[0] = %g, want %g (draw after conv1.weight's, none for its bias)", got, want)
	}
}

func TestInitializePanicsOnLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short params slice")
		}
	}()
	info := initInfo()
	Initialize(info, make([]float32, info.NumParams-1), InitHe, 1)
}

func TestParseInitScheme(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want InitScheme
	}{
		{"he", InitHe}, {"Kaiming", InitHe}, {"msra", InitHe},
		{"xavier", InitXavier}, {"GLOROT", InitXavier},
		{"gaussian", InitGaussian}, {"gauss", InitGaussian}, {"normal", InitGaussian},
	} {
		got, err := ParseInitScheme(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseInitScheme(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, _ := ParseInitScheme(got.String()); back != got {
			t.Errorf("%v does not round-trip through String", got)
		}
	}
	if _, err := ParseInitScheme("lecun"); err == nil || !strings.Contains(err.Error(), `"lecun"`) {
		t.Errorf("ParseInitScheme(lecun) error = %v, want one naming it", err)
	}
}

func TestParseInit(t *testing.T) {
	for _, tc := range []struct {
		in      string
		scheme  InitScheme
		std     float32
		errWord string
	}{
		{in: "he", scheme: InitHe},
		{in: "init xavier", scheme: InitXavier},
		{in: "gaussian", scheme: InitGaussian, std: 0.001},
		{in: "init gaussian 0.01", scheme: InitGaussian, std: 0.01},
		{in: "", errWord: "missing"},
		{in: "init", errWord: "missing"},
		{in: "uniform", errWord: `"uniform"`},
		{in: "he 0.1", errWord: `"0.1"`},
		{in: "gaussian abc", errWord: `"abc"`},
		{in: "gaussian -1", errWord: `"-1"`},
		{in: "gaussian 0.01 0.02", errWord: `"0.02"`},
	} {
		scheme, std, err := ParseInit(strings.Fields(tc.in))
		if tc.errWord != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errWord) {
				t.Errorf("ParseInit(%q) error = %v, want one containing %s", tc.in, err, tc.errWord)
			}
			continue
		}
		if err != nil || scheme != tc.scheme || std != tc.std {
			t.Errorf("ParseInit(%q) = %v, %g, %v; want %v, %g", tc.in, scheme, std, err, tc.scheme, tc.std)
		}
	}
}
