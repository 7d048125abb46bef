package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// compile compiles src and fails the test on an error.
func compile(t *testing.T, src string) *Net {
	t.Helper()
	net, err := Compile("t.net", []byte(src))
	if err != nil {
		t.Fatalf("Compile(%q):\n%v", src, err)
	}
	return net
}

// layerLine summarizes a layer's inferred sizes and costs.
func layerLine(l *Layer) string {
	return fmt.Sprintf("%s %s %s→%s params=%d macs=%d", l.Name, l.Kind, l.In, l.Out, l.Params, l.MACs)
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"conv same padding", "input 3x32x32 | conv 16 5x5 s1 p2 | softmax", []string{
			// 16·3·5·5 weights + 16 biases; 1200 weights at each of 32·32 positions.
			"conv1 conv 3x32x32→16x32x32 params=1216 macs=1228800",
			"softmax1 softmax 16x32x32→16x32x32 params=0 macs=0",
		}},
		{"conv no padding", "input 1x7x7 | conv 2 3x3 | softmax", []string{
			"conv1 conv 1x7x7→2x5x5 params=20 macs=450",
		}},
		{"conv stride floors", "input 1x7x7 | conv 2 3x3 s2 | conv 1 2x2 s3 | softmax", []string{
			"conv1 conv 1x7x7→2x3x3 params=20 macs=162", // (7−3)/2+1 = 3
			"conv2 conv 2x3x3→1x1x1 params=9 macs=8",    // floor((3−2)/3)+1 = 1
		}},
		{"conv stride larger than kernel", "input 1x10x10 | conv 1 2x2 s3 | softmax", []string{
			"conv1 conv 1x10x10→1x3x3 params=5 macs=36", // floor(8/3)+1 = 3
		}},
		{"non-square kernel", "input 2x9x8 | conv 4 3x2 | softmax", []string{
			"conv1 conv 2x9x8→4x7x7 params=52 macs=2352", // 4·2·3·2 = 48 weights
		}},
		{"non-square kernel, stride, pad and groups", "input 2x9x8 | conv 4 3x2 stride2 pad1 group2 | softmax", []string{
			// H: (9+2−3)/2+1 = 5, W: (8+2−2)/2+1 = 5; 4·(2/2)·3·2 = 24 weights.
			"conv1 conv 2x9x8→4x5x5 params=28 macs=600",
		}},
		{"non-square stride and pad", "input 4x6x6 | conv 5 3x3 stride1x2 pad1x0 | softmax", []string{
			// H: (6+2−3)/1+1 = 6, W: floor((6−3)/2)+1 = 2; 5·4·3·3 = 180 weights.
			"conv1 conv 4x6x6→5x6x2 params=185 macs=2160",
		}},
		{"pad on one axis", "input 1x4x4 | conv 1 3x3 pad0x2 | softmax", []string{
			"conv1 conv 1x4x4→1x2x6 params=10 macs=108",
		}},
		{"tall kernel and wide stride", "input 1x10x10 | conv 3 5x1 s1x3 | softmax", []string{
			"conv1 conv 1x10x10→3x6x4 params=18 macs=360",
		}},
		{"1x1 conv", "input 8x4x4 | conv 2 1x1 | softmax", []string{
			"conv1 conv 8x4x4→2x4x4 params=18 macs=256",
		}},
		{"grouped conv", "input 4x5x5 | conv 6 3x3 g2 | softmax", []string{
			"conv1 conv 4x5x5→6x3x3 params=114 macs=972", // 6·(4/2)·9 = 108 weights
		}},
		{"depthwise conv", "input 4x5x5 | conv 4 3x3 g4 p1 | softmax", []string{
			"conv1 conv 4x5x5→4x5x5 params=40 macs=900",
		}},
		{"kernel as large as the input", "input 3x5x5 | conv 2 5x5 | softmax", []string{
			"conv1 conv 3x5x5→2x1x1 params=152 macs=150",
		}},
		{"kernel as large as the padded input", "input 1x3x3 | conv 1 5x5 p1 | softmax", []string{
			"conv1 conv 1x3x3→1x1x1 params=26 macs=25",
		}},
		{"pool stride defaults to the window", "input 3x8x8 | pool 2x2 | pool max 3x3 | softmax", []string{
			"pool1 pool 3x8x8→3x4x4 params=0 macs=0",
			"pool2 pool 3x4x4→3x1x1 params=0 macs=0",
		}},
		{"overlapping pool", "input 3x8x8 | pool 2x2 s1 | pool 3x3 s2 | softmax", []string{
			"pool1 pool 3x8x8→3x7x7 params=0 macs=0",
			"pool2 pool 3x7x7→3x3x3 params=0 macs=0",
		}},
		{"non-square pool", "input 1x5x6 | pool avg 3x2 s1x2 | pool 1x3 | softmax", []string{
			"pool1 pool 1x5x6→1x3x3 params=0 macs=0",
			"pool2 pool 1x3x3→1x3x1 params=0 macs=0",
		}},
		{"full flattens its input", "input 3x4x4 | full 10 | full 5 | softmax", []string{
			"full1 full 3x4x4→10x1x1 params=490 macs=480",
			"full2 full 10x1x1→5x1x1 params=55 macs=50",
		}},
		{"full after conv and pool", "input 1x6x6 | conv 2 3x3 | pool 2x2 | full 3 | svm", []string{
			"conv1 conv 1x6x6→2x4x4 params=20 macs=288",
			"pool1 pool 2x4x4→2x2x2 params=0 macs=0",
			"full1 full 2x2x2→3x1x1 params=27 macs=24",
			"svm1 svm 3x1x1→3x1x1 params=0 macs=0",
		}},
		{"shape-preserving layers", "input 2x3x3 | meansub | relu | tanh | sigmoid | norm | dropout 0.5 | meansub image | euclidean", []string{
			"meansub1 meansub 2x3x3→2x3x3 params=0 macs=0",
			"relu1 relu 2x3x3→2x3x3 params=0 macs=0",
			"tanh1 tanh 2x3x3→2x3x3 params=0 macs=0",
			"sigmoid1 sigmoid 2x3x3→2x3x3 params=0 macs=0",
			"norm1 norm 2x3x3→2x3x3 params=0 macs=0",
			"dropout1 dropout 2x3x3→2x3x3 params=0 macs=0",
			"meansub2 meansub 2x3x3→2x3x3 params=0 macs=0",
			"euclidean1 euclidean 2x3x3→2x3x3 params=0 macs=0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := compile(t, tt.src)
			got := map[string]bool{}
			for i, l := range net.Layers {
				got[layerLine(l)] = true
				in := net.Input
				if i > 0 {
					in = net.Layers[i-1].Out
				}
				if l.In != in {
					t.Errorf("%s: input %s, want the previous output %s", l.Name, l.In, in)
				}
			}
			for _, w := range tt.want {
				if !got[w] {
					var all []string
					for _, l := range net.Layers {
						all = append(all, layerLine(l))
					}
					t.Errorf("missing %q; layers:\n\t%s", w, strings.Join(all, "\n\t"))
				}
			}
		})
	}
}

// TestOutputFormula checks every conv and pool layer of many sizes against
// floor((w + 2p − k)/s) + 1, computed here independently on each axis.
func TestOutputFormula(t *testing.T) {
	out := func(w, k, s, p int) int { return (w+2*p-k)/s + 1 }
	n := 0
	for _, in := range [][2]int{{5, 5}, {7, 4}, {11, 13}} {
		for _, k := range [][2]int{{1, 1}, {3, 3}, {2, 3}, {5, 1}} {
			for _, s := range [][2]int{{1, 1}, {2, 2}, {1, 3}, {4, 2}} {
				for _, p := range [][2]int{{0, 0}, {1, 0}, {0, 1}} {
					if p[0] >= k[0] || p[1] >= k[1] {
						continue
					}
					src := fmt.Sprintf("input 2x%dx%d | conv 3 %dx%d s%dx%d p%dx%d | pool %dx%d s%dx%d | softmax",
						in[0], in[1], k[0], k[1], s[0], s[1], p[0], p[1], k[0], k[1], s[0], s[1])
					oh, ow := out(in[0], k[0], s[0], p[0]), out(in[1], k[1], s[1], p[1])
					if oh < k[0] || ow < k[1] {
						continue // the pool's window would not fit
					}
					ph, pw := out(oh, k[0], s[0], 0), out(ow, k[1], s[1], 0)
					n++
					net := compile(t, src)
					conv, pool := net.Layers[0], net.Layers[1]
					if want := (Shape{3, oh, ow}); conv.Out != want {
						t.Errorf("%s: conv output %s, want %s", src, conv.Out, want)
					}
					if want := (Shape{3, ph, pw}); pool.Out != want {
						t.Errorf("%s: pool output %s, want %s", src, pool.Out, want)
					}
					weights := 3 * 2 * k[0] * k[1]
					if conv.Params != weights+3 || conv.MACs != int64(weights*oh*ow) {
						t.Errorf("%s: conv params %d, MACs %d; want %d, %d", src, conv.Params, conv.MACs, weights+3, weights*oh*ow)
					}
				}
			}
		}
	}
	if n < 50 {
		t.Errorf("only %d cases", n)
	}
}

func TestSpecs(t *testing.T) {
	tests := []struct {
		file   string
		params int
		macs   int64
		layers []string
	}{
		{"alexnet.net", 60965224, 724406816, []string{
			"conv1 conv 3x227x227→96x55x55 params=34944 macs=105415200",
			"pool1 pool 96x55x55→96x27x27 params=0 macs=0",
			"conv2 conv 96x27x27→256x27x27 params=307456 macs=223948800",
			"pool2 pool 256x27x27→256x13x13 params=0 macs=0",
			"conv3 conv 256x13x13→384x13x13 params=885120 macs=149520384",
			"conv4 conv 384x13x13→384x13x13 params=663936 macs=112140288",
			"conv5 conv 384x13x13→256x13x13 params=442624 macs=74760192",
			"pool3 pool 256x13x13→256x6x6 params=0 macs=0",
			"full1 full 256x6x6→4096x1x1 params=37752832 macs=37748736",
			"full2 full 4096x1x1→4096x1x1 params=16781312 macs=16777216",
			"full3 full 4096x1x1→1000x1x1 params=4097000 macs=4096000",
			"softmax1 softmax 1000x1x1→1000x1x1 params=0 macs=0",
		}},
		{"cifar-small.net", 22466, 3920000, []string{
			"conv1 conv 3x32x32→16x32x32 params=1216 macs=1228800",
			"pool1 pool 16x32x32→16x16x16 params=0 macs=0",
			"conv2 conv 16x16x16→20x16x16 params=8020 macs=2048000",
			"pool2 pool 20x16x16→20x8x8 params=0 macs=0",
			"conv3 conv 20x8x8→20x8x8 params=10020 macs=640000",
			"pool3 pool 20x8x8→20x4x4 params=0 macs=0",
			"full1 full 20x4x4→10x1x1 params=3210 macs=3200",
		}},
		{"vgg-style.net", 6440, 1775680, []string{
			"conv1 conv 3x32x32→10x32x32 params=280 macs=276480",
			"conv2 conv 10x32x32→10x32x32 params=910 macs=921600",
			"pool1 pool 10x32x32→10x16x16 params=0 macs=0",
			"pool3 pool 10x8x8→10x4x4 params=0 macs=0",
			"full1 full 10x4x4→10x1x1 params=1610 macs=1600",
		}},
		{"lenet-mnist.net", 5994, 786560, []string{
			"conv1 conv 1x28x28→8x28x28 params=208 macs=156800",
			"pool1 pool 8x28x28→8x14x14 params=0 macs=0",
			"conv2 conv 8x14x14→16x14x14 params=3216 macs=627200",
			"pool2 pool 16x14x14→16x4x4 params=0 macs=0",
			"full1 full 16x4x4→10x1x1 params=2570 macs=2560",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("..", "specs", tt.file)
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			net, err := Compile(path, src)
			if err != nil {
				t.Fatal(err)
			}
			if net.Params != tt.params || net.MACs != tt.macs {
				t.Errorf("params %d, MACs %d; want %d, %d", net.Params, net.MACs, tt.params, tt.macs)
			}
			sum := 0
			var macs int64
			got := map[string]bool{}
			for _, l := range net.Layers {
				sum += l.Params
				macs += l.MACs
				got[layerLine(l)] = true
			}
			if sum != net.Params || macs != net.MACs {
				t.Errorf("layers add up to %d params, %d MACs; the totals say %d, %d", sum, macs, net.Params, net.MACs)
			}
			for _, w := range tt.layers {
				if !got[w] {
					t.Errorf("missing layer %q", w)
				}
			}
			if last := net.Loss(); last.Kind != Softmax {
				t.Errorf("loss %s, want softmax", last.Kind)
			}
			if net.Name != strings.TrimSuffix(tt.file, ".net") || len(net.Hash) != 64 {
				t.Errorf("name %q, hash %q", net.Name, net.Hash)
			}
		})
	}
}

func TestAlexNetGroupsAndNorm(t *testing.T) {
	src, err := os.ReadFile("../specs/alexnet.net")
	if err != nil {
		t.Fatal(err)
	}
	net, err := Compile("alexnet.net", src)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, l := range net.Layers {
		switch l.Kind {
		case Conv:
			groups[l.Name] = l.Groups
		case Norm:
			if l.Size != 5 || l.Alpha != 1e-4 || l.Beta != 0.75 || l.LRNK != 1 {
				t.Errorf("%s: size %d alpha %g beta %g k %g, want AlexNet's 5, 1e-4, 0.75, 1", l.Name, l.Size, l.Alpha, l.Beta, l.LRNK)
			}
		case Dropout:
			if l.Prob != 0.5 {
				t.Errorf("%s: probability %g", l.Name, l.Prob)
			}
		}
	}
	want := map[string]int{"conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}
	if fmt.Sprint(groups) != fmt.Sprint(want) {
		t.Errorf("groups %v, want %v", groups, want)
	}
}

// layerOf compiles a network around one layer and returns that layer.
func layerOf(t *testing.T, input, layer string) *Layer {
	t.Helper()
	net := compile(t, "input "+input+"\n"+layer+"\nsoftmax")
	return net.Layers[0]
}

func TestOptionForms(t *testing.T) {
	tests := []struct {
		layer string
		// want is "stride SHxSW pad PHxPW group G" for conv, "stride SHxSW" for pool.
		want string
	}{
		{"conv 4 3x3", "stride 1x1 pad 0x0 group 1"},
		{"conv 4 3x3 stride2", "stride 2x2 pad 0x0 group 1"},
		{"conv 4 3x3 s2", "stride 2x2 pad 0x0 group 1"},
		{"conv 4 3x3 stride 2", "stride 2x2 pad 0x0 group 1"},
		{"conv 4 3x3 s 2", "stride 2x2 pad 0x0 group 1"},
		{"conv 4 3x3 stride1x2", "stride 1x2 pad 0x0 group 1"},
		{"conv 4 3x3 s1x2", "stride 1x2 pad 0x0 group 1"},
		{"conv 4 3x3 stride 2x1", "stride 2x1 pad 0x0 group 1"},
		{"conv 4 3x3 pad2", "stride 1x1 pad 2x2 group 1"},
		{"conv 4 3x3 p2", "stride 1x1 pad 2x2 group 1"},
		{"conv 4 3x3 pad 2", "stride 1x1 pad 2x2 group 1"},
		{"conv 4 3x3 p 1x0", "stride 1x1 pad 1x0 group 1"},
		{"conv 4 3x3 pad0", "stride 1x1 pad 0x0 group 1"},
		{"conv 4 3x3 group2", "stride 1x1 pad 0x0 group 2"},
		{"conv 4 3x3 g2", "stride 1x1 pad 0x0 group 2"},
		{"conv 4 3x3 group 2", "stride 1x1 pad 0x0 group 2"},
		{"conv 4 3x3 g 2", "stride 1x1 pad 0x0 group 2"},
		{"conv 4 3x3 stride+2 pad+1", "stride 2x2 pad 1x1 group 1"},
		{"conv s2 p1 g2 4 3x3", "stride 2x2 pad 1x1 group 2"}, // options before the sizes
		{"conv 4 s 1x2 3x3 p1", "stride 1x2 pad 1x1 group 1"},
		{"conv 4 3x3 stride2 pad1 group2", "stride 2x2 pad 1x1 group 2"},
		{"pool 2x2", "stride 2x2"},
		{"pool 3x2", "stride 3x2"},
		{"pool 3x3 s2", "stride 2x2"},
		{"pool 3x3 stride2", "stride 2x2"},
		{"pool 3x3 stride 2", "stride 2x2"},
		{"pool 3x3 s 1x2", "stride 1x2"},
		{"pool max 2x2 s1", "stride 1x1"},
	}
	for _, tt := range tests {
		l := layerOf(t, "4x12x12", tt.layer)
		got := fmt.Sprintf("stride %dx%d", l.SH, l.SW)
		if l.Kind == Conv {
			got += fmt.Sprintf(" pad %dx%d group %d", l.PH, l.PW, l.Groups)
			if l.Filters != 4 || l.KH != 3 || l.KW != 3 {
				t.Errorf("%s: %d filters %dx%d", tt.layer, l.Filters, l.KH, l.KW)
			}
		}
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.layer, got, tt.want)
		}
	}
}

func TestLayerSettings(t *testing.T) {
	tests := []struct {
		layer, want string
	}{
		{"pool 2x2", "max"},
		{"pool max 2x2", "max"},
		{"pool avg 2x2", "avg"},
		{"pool 2x2 avg", "avg"},
		{"norm", "size 5 alpha 0.0001 beta 0.75 k 1"},
		{"norm size3", "size 3 alpha 0.0001 beta 0.75 k 1"},
		{"norm size 3 alpha 1e-3", "size 3 alpha 0.001 beta 0.75 k 1"},
		{"norm alpha0.5 beta.5 k2", "size 5 alpha 0.5 beta 0.5 k 2"},
		{"norm k0", "size 5 alpha 0.0001 beta 0.75 k 0"},
		{"dropout 0.5", "p 0.5"},
		{"dropout .25", "p 0.25"},
		{"dropout 1e-3", "p 0.001"},
		{"meansub", "channel buffer 4"},
		{"meansub channel", "channel buffer 4"},
		{"meansub image", "image buffer 64"},
		{"conv 4 3x3", "lr 1"},
		{"conv 4 3x3 lr0.1", "lr 0.1"},
		{"conv 4 3x3 lr 0", "lr 0"},
		{"full 3 lr2", "lr 2"},
	}
	for _, tt := range tests {
		l := layerOf(t, "4x4x4", tt.layer)
		var got string
		switch l.Kind {
		case Pool:
			got = "max"
			if l.Avg {
				got = "avg"
			}
		case Norm:
			got = fmt.Sprintf("size %d alpha %g beta %g k %g", l.Size, l.Alpha, l.Beta, l.LRNK)
		case Dropout:
			got = fmt.Sprintf("p %g", l.Prob)
		case MeanSub:
			got = "channel"
			if l.MeanImage {
				got = "image"
			}
			got += fmt.Sprintf(" buffer %d", l.Buffer)
		default:
			got = fmt.Sprintf("lr %g", l.LRMult)
		}
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.layer, got, tt.want)
		}
	}

	svm := compile(t, "input 1x1x4 | relu | svm").Loss()
	if svm.Margin != 1 {
		t.Errorf("svm margin %g, want 1", svm.Margin)
	}
	if svm := compile(t, "input 1x1x4 | relu | svm margin0.5").Loss(); svm.Margin != 0.5 {
		t.Errorf("svm margin0.5: margin %g", svm.Margin)
	}
}

func TestOptionsSummary(t *testing.T) {
	tests := []struct {
		layer, want string
	}{
		{"conv 4 3x3", "4 3x3 s1 p0"},
		{"conv 4 3x3 s2 p1 g2", "4 3x3 s2 p1 g2"},
		{"conv 4 3x3 s1x2 p1", "4 3x3 s1x2 p1x1"},
		{"conv 4 3x3 pad1x0", "4 3x3 s1x1 p1x0"},
		{"pool 2x2", "max 2x2 s2"},
		{"pool avg 3x3 s1x2", "avg 3x3 s1x2"},
		{"full 7", "7"},
		{"dropout 0.3", "0.3"},
		{"norm", "size5 alpha0.0001 beta0.75 k1"},
		{"meansub", "channel"},
		{"meansub image", "image"},
		{"relu", ""},
	}
	for _, tt := range tests {
		if got := layerOf(t, "4x8x8", tt.layer).Options(); got != tt.want {
			t.Errorf("%s: Options() = %q, want %q", tt.layer, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	net := compile(t, `input 3x8x8
conv 4 3x3 | relu
conv 4 3x3 | relu
c3: conv 4 1x1 | act: relu
conv 4 1x1 | pool 2x2
full 10 | full 5 | top: softmax`)
	var got []string
	for _, l := range net.Layers {
		got = append(got, l.Name)
	}
	// Named layers still count among their kind: the conv after c3 is conv4.
	want := "conv1 relu1 conv2 relu2 c3 act conv4 pool1 full1 full2 top"
	if strings.Join(got, " ") != want {
		t.Errorf("names %s\nwant  %s", strings.Join(got, " "), want)
	}
	// A named layer's position is its name's.
	if p := net.Layers[4].Pos; p.Line != 4 || p.Column != 1 {
		t.Errorf("c3 at %d:%d, want 4:1", p.Line, p.Column)
	}
	if p := net.Layers[5].Pos; p.Line != 4 || p.Column != 18 {
		t.Errorf("act at %d:%d, want 4:18", p.Line, p.Column)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"input 1x8x8 | conv 2 3x3 | pool 2x2 | softmax", nil},
		{"input 1x7x7 | conv 2 3x3 s2 | pool 3x3 | softmax", nil}, // 7−3 and 3−3 divide by the strides
		{"input 1x8x8 | conv 2 3x3 s2 | softmax", []string{
			"1:15: warning: stride 2x2 leaves the last 1 row and 1 column of its 8x8 input unused (kernel 3x3); say floor if that is meant",
		}},
		{"input 1x8x7 | conv 2 3x3 s2 | softmax", []string{
			"1:15: warning: stride 2x2 leaves the last 1 row of its 8x7 input unused (kernel 3x3); say floor if that is meant",
		}},
		// The column stride 2 leaves unused is padding: no warning.
		{"input 1x7x8 | conv 2 3x3 s2 p1 | softmax", nil},
		{"input 3x32x32 | conv 8 3x3 stride2 pad1 | softmax", nil},
		// Two unused rows, one of them padding.
		{"input 1x10x10 | conv 2 4x4 s3 p1 | softmax", []string{
			"1:17: warning: stride 3x3 leaves the last 1 row and 1 column of its 10x10 input unused (kernel 4x4); say floor if that is meant",
		}},
		// floor says it is meant.
		{"input 1x8x8 | conv 2 3x3 s2 floor | pool 3x3 s3 floor | softmax", nil},
		{"input 1x10x10\nconv 1 3x3 s3x1 | pool 3x3 s3 | softmax", []string{
			"2:1: warning: stride 3x1 leaves the last 1 row of its 10x10 input unused (kernel 3x3); say floor if that is meant",
			"2:19: warning: stride 3x3 leaves the last 2 columns of its 3x8 input unused (window 3x3); say floor if that is meant",
		}},
		// A kernel smaller than its stride skips input by design: a 1x1 stride-2 projection.
		{"input 1x8x8\nconv 1 1x1 s2 | softmax", nil},
	}
	for _, tt := range tests {
		net := compile(t, tt.src)
		var got []string
		for _, w := range net.Warnings {
			if !w.Warning {
				t.Errorf("%s: warning %q is not marked as one", tt.src, w.Msg)
			}
			got = append(got, fmt.Sprintf("%d:%d: warning: %s", w.Pos.Line, w.Pos.Column, w.Msg))
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: warnings\n\t%s\nwant\n\t%s", tt.src, strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
		}
	}
}

func TestSpecWarnings(t *testing.T) {
	// The reference networks check without warnings (lenet-mnist's 3x3, stride-3 pool on
	// 14x14 says floor).
	files, err := filepath.Glob(filepath.Join("..", "specs", "*.net"))
	if err != nil || len(files) < 4 {
		t.Fatalf("specs: %v, %d files", err, len(files))
	}
	for _, path := range files {
		file := filepath.Base(path)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		net, err := Compile(file, src)
		if err != nil {
			t.Fatal(err)
		}
		if got := net.Warnings.Error(); got != "" {
			t.Errorf("%s: warnings %q, want none", file, got)
		}
	}
}

func TestLayout(t *testing.T) {
	net := compile(t, "input 2x4x4 | meansub image | conv 3 3x3 | relu | meansub | bn | full 5 | softmax")
	type offs struct{ params, buffer, weight, bias, buf int }
	got := map[string]offs{}
	for _, l := range net.Layers {
		got[l.Name] = offs{l.Params, l.Buffer, l.WeightOff, l.BiasOff, l.BufferOff}
	}
	// Learnable parameters first, weights then biases per layer; then the means and
	// running statistics.
	want := map[string]offs{
		"conv1":    {3*2*9 + 3, 0, 0, 54, 0},
		"bn1":      {3 + 3, 6, 57, 60, 63 + 65 + 32 + 3},
		"full1":    {5*3*2*2 + 5, 0, 63, 63 + 60, 0},
		"meansub1": {0, 2 * 4 * 4, 0, 0, 63 + 65},
		"meansub2": {0, 3, 0, 0, 63 + 65 + 32},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: params, buffer, weights at, biases at, buffers at = %v, want %v", name, got[name], w)
		}
	}
	if net.Params != 63+65 || net.Buffers != 32+3+6 {
		t.Errorf("params %d, buffers %d; want %d, %d", net.Params, net.Buffers, 63+65, 41)
	}
	if net.Outputs() != 5 {
		t.Errorf("outputs %d, want 5", net.Outputs())
	}
}

func TestTrainSettings(t *testing.T) {
	net := compile(t, `input 1x8x8 | full 2 | softmax
[train]
batch 64
optimizer momentum 0.9
schedule step 0.1 every 10 epochs
augment flip crop 2
`)
	var got []string
	for _, s := range net.Train {
		got = append(got, fmt.Sprintf("%d:%d %s %s", s.Pos.Line, s.Pos.Column, s.Key, strings.Join(s.Values, ",")))
	}
	want := "3:1 batch 64|4:1 optimizer momentum,0.9|5:1 schedule step,0.1,every,10,epochs|6:1 augment flip,crop,2"
	if strings.Join(got, "|") != want {
		t.Errorf("settings %s\nwant     %s", strings.Join(got, "|"), want)
	}
	if net := compile(t, "input 1x2x2 | full 2 | softmax"); net.Train != nil {
		t.Errorf("no training section, settings %v", net.Train)
	}
}

// TestErrorsAreSorted checks that errors found in different passes come out in source order.
func TestErrorsAreSorted(t *testing.T) {
	_, err := Compile("t.net", []byte("relu | conv 4 0x0 |\ninput 3x8x8\nfull 10 $\n[train]\nfoo 1"))
	if err == nil {
		t.Fatal("no error")
	}
	want := `t.net:1:1: the spec must start with input CxHxW (e.g. input 3x32x32), not relu
t.net:1:15: kernel size must be at least 1, not 0
t.net:2:1: input must be the first layer
t.net:3:1: the network has no loss: end it with euclidean, softmax or svm
t.net:3:9: unexpected "$"
t.net:5:1: unknown training setting "foo" (known: batch, epochs, lr, optimizer, l2, l1, maxnorm, labelsmooth, decay, schedule, warmup, augment, init, seed, val, preprocess, threads)`
	if err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

// TestMaxLayers checks that a spec of more than MaxLayers layers is refused at the first
// layer over the limit, before anything is built for it, and one at the limit is not.
func TestMaxLayers(t *testing.T) {
	spec := func(n int) string {
		return "input 1x4x4\n" + strings.Repeat("relu\n", n-2) + "full 2 | softmax\n"
	}
	if _, err := Compile("max.net", []byte(spec(MaxLayers))); err != nil {
		t.Fatalf("%d layers: %v", MaxLayers, err)
	}
	_, err := Compile("over.net", []byte(spec(MaxLayers+1)))
	want := fmt.Sprintf("over.net:%d:10: the spec has %d layers, more than netc's limit of %d", MaxLayers+1, MaxLayers+1, MaxLayers)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("%d layers: %v, want %q…", MaxLayers+1, err, want)
	}
}
