package monitor

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/nn"
)

// convInfo builds the Info of a network input → meansub → conv (shape) → relu → full,
// with the conv weights after a 3-value buffer (the mean), so that offsets matter.
func convInfo(shape [4]int) *nn.Info {
	n, c, kh, kw := shape[0], shape[1], shape[2], shape[3]
	size := n * c * kh * kw
	return &nn.Info{
		Name: "test-net",
		InC:  c, InH: 8, InW: 8,
		Layers: []nn.LayerInfo{
			{Name: "meansub1", Kind: "meansub", Out: [3]int{c, 8, 8}},
			{Name: "conv1", Kind: "conv", Out: [3]int{n, 8, 8}},
			{Name: "relu1", Kind: "relu", Out: [3]int{n, 8, 8}},
			{Name: "conv2", Kind: "conv", Out: [3]int{2, 8, 8}},
		},
		Params: []nn.ParamTensor{
			{Name: "meansub1.mean", Layer: 0, Offset: 0, Size: 3, Shape: []int{3}, Buffer: true},
			{Name: "conv1.weight", Layer: 1, Offset: 3, Size: size, Shape: []int{n, c, kh, kw}},
			{Name: "conv1.bias", Layer: 1, Offset: 3 + size, Size: n, Shape: []int{n}, Bias: true},
			{Name: "conv2.weight", Layer: 3, Offset: 3 + size + n, Size: 2 * n * 9, Shape: []int{2, n, 3, 3}},
		},
	}
}

// weightAt returns the index in params of conv1.weight[o][ch][y][x].
func weightAt(info *nn.Info, o, ch, y, x int) int {
	s := info.Params[1].Shape
	return info.Params[1].Offset + ((o*s[1]+ch)*s[2]+y)*s[3] + x
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgbAt(img image.Image, x, y int) [3]uint8 {
	c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
	return [3]uint8{c.R, c.G, c.B}
}

func TestFilterGridRGB(t *testing.T) {
	info := convInfo([4]int{4, 3, 5, 5})
	params := make([]float32, 3+4*3*25+4+2*4*9)
	for i := range params {
		params[i] = 99 // biases and other layers must not matter
	}
	for o := range 4 {
		for ch := range 3 {
			for y := range 5 {
				for x := range 5 {
					var v float32
					switch o {
					case 0: // a vertical red edge: red on the right half (x ≥ 3) only
						if ch == 0 && x >= 3 {
							v = 0.5
						}
					case 1: // a horizontal gray ramp from −1 (top) to 1 (bottom)
						v = float32(y-2) / 2
					case 2: // a blue blob at the center on a dark ground
						if ch == 2 && x == 2 && y == 2 {
							v = 3
						}
					case 3: // constant
						v = 0.1
					}
					params[weightAt(info, o, ch, y, x)] = v
				}
			}
		}
	}
	path := filepath.Join(t.TempDir(), "filters.png")
	if err := FilterGrid(info, params, path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	// 4 filters → 2×2 grid; 5×5 kernels → scale 8 → 40 px tiles, 2 px borders.
	const B, tile = FilterBorder, 5 * 8
	if b := img.Bounds(); b.Dx() != 2*(tile+B)+B || b.Dy() != 2*(tile+B)+B {
		t.Fatalf("grid is %v, want %dx%d", b, 2*(tile+B)+B, 2*(tile+B)+B)
	}
	border := [3]uint8{FilterBorderGray, FilterBorderGray, FilterBorderGray}
	// pix returns the color at kernel pixel (x, y) of the filter in grid cell (col, row),
	// sampled at the middle of its 8×8 block.
	pix := func(col, row, x, y int) [3]uint8 {
		return rgbAt(img, B+col*(tile+B)+x*8+4, B+row*(tile+B)+y*8+4)
	}
	for _, c := range []struct {
		name       string
		col, row   int
		x, y       int
		want       [3]uint8
		imgX, imgY int // a raw image position instead, when name starts with "border"
	}{
		{name: "edge left", x: 1, y: 2, want: [3]uint8{0, 0, 0}},
		{name: "edge right", x: 3, y: 2, want: [3]uint8{255, 0, 0}},
		{name: "edge right top", x: 4, y: 0, want: [3]uint8{255, 0, 0}},
		{name: "ramp top", col: 1, x: 2, y: 0, want: [3]uint8{0, 0, 0}},
		{name: "ramp middle", col: 1, x: 0, y: 2, want: [3]uint8{128, 128, 128}},
		{name: "ramp bottom", col: 1, x: 4, y: 4, want: [3]uint8{255, 255, 255}},
		{name: "blob", row: 1, x: 2, y: 2, want: [3]uint8{0, 0, 255}},
		{name: "blob ground", row: 1, x: 0, y: 2, want: [3]uint8{0, 0, 0}},
		{name: "constant", col: 1, row: 1, x: 1, y: 1, want: [3]uint8{128, 128, 128}},
	} {
		if got := pix(c.col, c.row, c.x, c.y); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// The edge's boundary is sharp (nearest neighbour): last black and first red columns.
	if got := rgbAt(img, B+3*8-1, B+10); got != [3]uint8{0, 0, 0} {
		t.Errorf("pixel left of the edge: %v", got)
	}
	if got := rgbAt(img, B+3*8, B+10); got != [3]uint8{255, 0, 0} {
		t.Errorf("pixel right of the edge: %v", got)
	}
	for _, p := range [][2]int{{0, 0}, {1, 20}, {B + tile, 20}, {B + tile + 1, 20}, {20, B + tile}, {img.Bounds().Dx() - 1, img.Bounds().Dy() - 1}} {
		if got := rgbAt(img, p[0], p[1]); got != border {
			t.Errorf("border pixel %v: %v", p, got)
		}
	}
	data, _ := os.ReadFile(path)
	for _, s := range []string{"tEXtTitle\x00test-net: filters of conv1", "conv1.weight", "4 filters of 3x5x5 shown as RGB"} {
		if !bytes.Contains(data, []byte(s)) {
			t.Errorf("PNG text chunks lack %q", s)
		}
	}
	if os.Getenv("MONITOR_KEEP") != "" {
		os.WriteFile(filepath.Join(os.Getenv("MONITOR_KEEP"), "filters-rgb.png"), data, 0o644)
	}
}

func TestFilterGridGray(t *testing.T) {
	info := convInfo([4]int{8, 1, 3, 3})
	params := make([]float32, 3+8*9+8+2*8*9)
	for o := range 8 {
		for y := range 3 {
			for x := range 3 {
				// Filter o is a diagonal: bright where x == y, scaled by o+1 so that per-filter
				// normalization is what makes them look alike.
				v := float32(-1)
				if x == y {
					v = 1
				}
				params[weightAt(info, o, 0, y, x)] = v * float32(o+1)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "gray.png")
	if err := FilterGrid(info, params, path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	// 8 filters → 3 columns, 3 rows (the last row has 2); 3×3 kernels at ×8 → 24 px.
	const B, tile = FilterBorder, 3 * 8
	if b := img.Bounds(); b.Dx() != 3*(tile+B)+B || b.Dy() != 3*(tile+B)+B {
		t.Fatalf("grid is %v, want %dx%d", b, 3*(tile+B)+B, 3*(tile+B)+B)
	}
	for o := range 8 {
		col, row := o%3, o/3
		x0, y0 := B+col*(tile+B), B+row*(tile+B)
		if got := rgbAt(img, x0+8+4, y0+8+4); got != [3]uint8{255, 255, 255} {
			t.Errorf("filter %d diagonal: %v", o, got)
		}
		if got := rgbAt(img, x0+2*8+4, y0+4); got != [3]uint8{0, 0, 0} {
			t.Errorf("filter %d off-diagonal: %v", o, got)
		}
	}
	// The ninth cell is empty: border color.
	if got := rgbAt(img, B+2*(tile+B)+12, B+2*(tile+B)+12); got != [3]uint8{FilterBorderGray, FilterBorderGray, FilterBorderGray} {
		t.Errorf("empty cell: %v", got)
	}
	if data, _ := os.ReadFile(path); !bytes.Contains(data, []byte("shown as gray,")) {
		t.Error("description does not say gray")
	}
}

func TestFilterGridMeanOfChannels(t *testing.T) {
	// 2 input channels: gray of their mean. Channel 0 is a left-right ramp, channel 1 its
	// opposite plus a bright center, so the mean is flat except at the center.
	info := convInfo([4]int{1, 2, 3, 3})
	params := make([]float32, 3+18+1+2*9)
	for y := range 3 {
		for x := range 3 {
			params[weightAt(info, 0, 0, y, x)] = float32(x)
			params[weightAt(info, 0, 1, y, x)] = float32(-x)
		}
	}
	params[weightAt(info, 0, 1, 1, 1)] += 4
	path := filepath.Join(t.TempDir(), "mean.png")
	if err := FilterGrid(info, params, path); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	if b := img.Bounds(); b.Dx() != 24+2*FilterBorder {
		t.Fatalf("grid is %v", b)
	}
	if got := rgbAt(img, FilterBorder+12, FilterBorder+12); got != [3]uint8{255, 255, 255} {
		t.Errorf("center: %v", got)
	}
	if got := rgbAt(img, FilterBorder+20, FilterBorder+4); got != [3]uint8{0, 0, 0} {
		t.Errorf("corner: %v", got)
	}
}

func TestFilterGridErrors(t *testing.T) {
	noConv := &nn.Info{Name: "mlp", Layers: []nn.LayerInfo{{Name: "full1", Kind: "full"}},
		Params: []nn.ParamTensor{{Name: "full1.weight", Layer: 0, Size: 6, Shape: []int{2, 3}}}}
	dir := t.TempDir()
	path := filepath.Join(dir, "f.png")
	if err := FilterGrid(noConv, make([]float32, 6), path); err == nil || !strings.Contains(err.Error(), "no convolution layer") {
		t.Errorf("no conv: %v", err)
	}
	info := convInfo([4]int{4, 3, 5, 5})
	if err := FilterGrid(info, make([]float32, 50), path); err == nil || !strings.Contains(err.Error(), "conv1.weight") {
		t.Errorf("short params: %v", err)
	}
	if err := FilterGrid(nil, nil, path); err == nil {
		t.Error("nil info: no error")
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("picture written despite errors")
	}
	// Large kernels are scaled less: 11×11 at ×4, 7×7 at ×6.
	for k, scale := range map[int]int{7: 6, 11: 4, 13: 4} {
		info := convInfo([4]int{2, 3, k, k})
		if err := FilterGrid(info, make([]float32, 3+2*3*k*k+2+2*2*9), path); err != nil {
			t.Fatal(err)
		}
		img := decodePNG(t, path)
		if w := img.Bounds().Dx(); w != 2*(k*scale+FilterBorder)+FilterBorder {
			t.Errorf("k=%d: width %d, want scale %d", k, w, scale)
		}
	}
}
