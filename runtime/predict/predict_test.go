package predict

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/runtime/weights"
	"github.com/netc-dev/netc/testdata/golden/cifarsmall"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// writeWeights writes net's weights with the metadata of its spec and pre.
func writeWeights(t *testing.T, net nn.Network, pre *data.Preprocess) string {
	t.Helper()
	info := net.Info()
	path := filepath.Join(t.TempDir(), info.Name+".safetensors")
	if err := weights.Write(path, weights.InfoTensors(info), net.Params(), weights.Meta{Network: info.Name, SpecHash: info.SpecHash, Preprocess: pre}); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(net nn.Network, args ...string) (status int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	status = Run(net, args, &out, &errOut)
	return status, out.String(), errOut.String()
}

// TestInput: the logits of --input are Forward's, bit for bit, and the probs their softmax.
func TestInput(t *testing.T) {
	ref := lenetmnist.New(3)
	info := ref.Info()
	w := writeWeights(t, ref, nil)
	const n = 5
	rng := nn.NewRNG(11)
	x := make([]float32, n*info.InputSize())
	for i := range x {
		x[i] = rng.Float32() - 0.2
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "y.safetensors")
	if err := safetensors.WriteFile(in, []safetensors.Tensor{safetensors.Float32Tensor("input", []int{n, 1, 28, 28}, x)}, nil); err != nil {
		t.Fatal(err)
	}
	status, stdout, stderr := run(lenetmnist.New(99), "--weights", w, "--input", in, "-o", out)
	if status != 0 {
		t.Fatalf("status %d: %s", status, stderr)
	}
	if want := fmt.Sprintf("wrote %s: logits and probs [5, 10]\n", out); stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	want := slices.Clone(ref.Forward(ref.NewWorkspace(n), x, false))
	f, err := safetensors.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := f.Float32("logits", []int{n, 10})
	if err != nil {
		t.Fatal(err)
	}
	probs, err := f.Float32("probs", []int{n, 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Float32bits(logits[i]) != math.Float32bits(want[i]) {
			t.Fatalf("logits[%d] = %v, Forward gives %v", i, logits[i], want[i])
		}
	}
	for i := range n {
		row, sum := want[i*10:(i+1)*10], 0.0
		m := float64(slices.Max(row))
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
		}
		for j, v := range row {
			if p := math.Exp(float64(v)-m) / sum; math.Abs(float64(probs[i*10+j])-p) > 1e-7 {
				t.Errorf("probs[%d][%d] = %v, want %v", i, j, probs[i*10+j], p)
			}
		}
	}
	if md := f.Metadata(); md["network"] != "lenet-mnist" || md["classes"] != `["0","1","2","3","4","5","6","7","8","9"]` {
		t.Errorf("metadata %v", md)
	}
	// In batches of 2 (two full, one short): the same numbers within rounding.
	status, _, stderr = run(lenetmnist.New(99), "--weights", w, "--input", in, "-o", out, "--batch", "2")
	if status != 0 {
		t.Fatal(stderr)
	}
	logits2, _ := must(safetensors.ReadFile(out)).Float32("logits", nil)
	for i := range want {
		if math.Abs(float64(logits2[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Errorf("batch 2: logits[%d] = %v, want %v", i, logits2[i], want[i])
		}
	}
	// Without -o, the top classes of each input.
	status, stdout, _ = run(lenetmnist.New(99), "--input", in, "--weights", w, "--top", "2")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if status != 0 || len(lines) != n {
		t.Fatalf("status %d, output:\n%s", status, stdout)
	}
	for i, l := range lines {
		best := TopK(want[i*10:(i+1)*10], 2)
		prefix := fmt.Sprintf("%s[%d]: %d ", in, i, best[0])
		if !strings.HasPrefix(l, prefix) || strings.Count(l, "%") != 2 || !strings.Contains(l, fmt.Sprintf(", %d ", best[1])) {
			t.Errorf("line %q, want %q…", l, prefix)
		}
	}
	// --normalize applies the preprocessing of the weights.
	pre := &data.Preprocess{Kind: data.MeanChannel, C: 1, H: 28, W: 28, Mean: []float32{0.25}}
	wp := writeWeights(t, ref, pre)
	status, _, stderr = run(lenetmnist.New(99), "--weights", wp, "--input", in, "-o", out, "--normalize")
	if status != 0 {
		t.Fatal(stderr)
	}
	xn := slices.Clone(x)
	for i := range xn {
		xn[i] -= 0.25
	}
	want = ref.Forward(ref.NewWorkspace(n), xn, false)
	logits, _ = must(safetensors.ReadFile(out)).Float32("logits", nil)
	for i := range want {
		if math.Float32bits(logits[i]) != math.Float32bits(want[i]) {
			t.Fatalf("normalized: logits[%d] = %v, want %v", i, logits[i], want[i])
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMNISTImages trains lenet-mnist briefly, writes MNIST test digits as PNG files and
// checks that predict prints, for each, the class of the network's Forward on the data
// set's own image (the conversion from PNG is exact), and the right digit for most.
func TestMNISTImages(t *testing.T) {
	trainAll, testAll, err := data.Load(data.MNIST, "")
	if err != nil {
		t.Fatal(err)
	}
	idx := func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = i
		}
		return s
	}
	net := lenetmnist.New(1)
	cfg, err := train.ConfigFromInfo(net.Info())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.Batch = 1, 32
	res, err := train.Train(net, trainAll.Subset(idx(8000)), nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := writeWeights(t, net, &res.Preprocess)

	// The accuracy on 1,000 test images, preprocessed as in training.
	test := testAll.Subset(idx(1000))
	if err := res.Preprocess.Apply(test); err != nil {
		t.Fatal(err)
	}
	scores := Forward(net, test.X, 100)
	correct := 0
	for i := range test.Len() {
		if TopK(scores[i*10:(i+1)*10], 1)[0] == int(test.Labels[i]) {
			correct++
		}
	}
	acc := float64(correct) / float64(test.Len())
	t.Logf("test accuracy %.3f after %d iterations", acc, res.Iters)
	if acc < 0.9 {
		t.Errorf("test accuracy %.3f after %d iterations of lenet-mnist", acc, res.Iters)
	}

	// Twenty test digits as PNG files.
	dir := t.TempDir()
	var files []string
	for i := range 20 {
		img := image.NewGray(image.Rect(0, 0, 28, 28))
		for j, v := range testAll.Image(i) {
			img.Pix[j] = uint8(math.Round(float64(v) * 255))
		}
		path := filepath.Join(dir, fmt.Sprintf("digit%02d.png", i))
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	status, stdout, stderr := run(lenetmnist.New(5), append([]string{"--weights", w}, files...)...)
	if status != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %s", status, stderr)
	}
	t.Logf("\n%s", stdout)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%d lines for %d files", len(lines), len(files))
	}
	right := 0
	for i, l := range lines {
		digit := TopK(scores[i*10:(i+1)*10], 1)[0]
		if prefix := fmt.Sprintf("%s: %d ", files[i], digit); !strings.HasPrefix(l, prefix) {
			t.Errorf("line %q, want %q… (the network's class of the data set's image)", l, prefix)
		}
		if digit == int(testAll.Labels[i]) {
			right++
		}
	}
	if right < 18 {
		t.Errorf("%d of 20 digits right", right)
	}
}

// TestImageTensor checks the conversion of images to inputs.
func TestImageTensor(t *testing.T) {
	// Gray, the input's size: the 8-bit values / 255, exactly.
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g.Pix, []uint8{0, 1, 2, 128, 254, 255})
	x, err := ImageTensor(g, 1, 2, 3, Resize)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range g.Pix {
		if x[i] != float32(v)/255 {
			t.Errorf("gray %d: %v", i, x[i])
		}
	}
	// RGB to 3 channel planes; to 1 channel, the luminance.
	c := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	c.Set(0, 0, color.NRGBA{255, 0, 0, 255})
	c.Set(1, 0, color.NRGBA{10, 20, 30, 255})
	x, _ = ImageTensor(c, 3, 1, 2, Resize)
	if want := []float32{1, 10. / 255, 0, 20. / 255, 0, 30. / 255}; !slices.Equal(x, want) {
		t.Errorf("RGB: %v, want %v", x, want)
	}
	x, _ = ImageTensor(c, 1, 1, 2, Resize)
	if want := []float32{76. / 255, 18. / 255}; !slices.Equal(x, want) {
		t.Errorf("RGB to gray: %v, want %v", x, want)
	}
	// Transparent is black.
	c.Set(0, 0, color.NRGBA{255, 255, 255, 0})
	if x, _ = ImageTensor(c, 3, 1, 2, Resize); x[0] != 0 || x[2] != 0 || x[4] != 0 {
		t.Errorf("transparent: %v", x)
	}

	// Resize (bilinear, which averages when shrinking): an 8x8 image, dark on the left and
	// bright on the right, shrinks to 4x4 keeping its halves; a non-zero origin is fine.
	big := image.NewGray(image.Rect(10, 20, 18, 28))
	for y := range 8 {
		for x := range 8 {
			big.SetGray(10+x, 20+y, color.Gray{uint8(200 * (x / 4))})
		}
	}
	x, _ = ImageTensor(big, 1, 4, 4, Resize)
	for y := range 4 {
		if r := x[4*y : 4*y+4]; r[0] > 0.05 || r[1] > 0.3 || r[2] < 0.5 || r[3] < 0.75 || r[0] != x[0] || r[3] != x[3] {
			t.Errorf("resize: row %d is %v", y, r)
		}
	}
	// A uniform image stays uniform, exactly.
	for i := range big.Pix {
		big.Pix[i] = 77
	}
	x, _ = ImageTensor(big, 1, 5, 3, Resize)
	for _, v := range x {
		if v != 77./255 {
			t.Fatalf("uniform: %v", x)
		}
	}
	// Crop: a wide image whose centre square is green gives green only; resizing it
	// squeezes the red sides in.
	wide := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			col := color.RGBA{255, 0, 0, 255}
			if x >= 10 && x < 30 {
				col = color.RGBA{0, 255, 0, 255}
			}
			wide.SetRGBA(x, y, col)
		}
	}
	x, _ = ImageTensor(wide, 3, 10, 10, Crop)
	for i := range 100 {
		if x[i] != 0 || x[100+i] != 1 || x[200+i] != 0 {
			t.Fatalf("crop: pixel %d is %v %v %v, want green", i, x[i], x[100+i], x[200+i])
		}
	}
	x, _ = ImageTensor(wide, 3, 10, 10, Resize)
	if x[0] != 1 || x[100+5] != 1 {
		t.Errorf("resize: left %v, centre %v", x[0], x[105])
	}
	// A tall image crops top and bottom.
	if r := centerCrop(image.Rect(0, 0, 20, 50), 10, 10); r != image.Rect(0, 15, 20, 35) {
		t.Errorf("centerCrop tall: %v", r)
	}
	if r := centerCrop(image.Rect(0, 0, 64, 48), 32, 32); r != image.Rect(8, 0, 56, 48) {
		t.Errorf("centerCrop wide: %v", r)
	}

	if _, err := ImageTensor(g, 2, 2, 3, Resize); err == nil || !strings.Contains(err.Error(), "1 (gray) or 3 (RGB)") {
		t.Errorf("2 channels: %v", err)
	}
}

func TestReadImage(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	jp := filepath.Join(dir, "a.jpg")
	os.WriteFile(jp, b.Bytes(), 0o644)
	got, err := ReadImage(jp)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ImageTensor(got, 3, 8, 8, Resize)
	for _, v := range x {
		if math.Abs(float64(v)-200./255) > 3./255 {
			t.Fatalf("JPEG pixel %v, want about %v", v, 200./255)
		}
	}
	bad := filepath.Join(dir, "notes.png")
	os.WriteFile(bad, []byte("not an image"), 0o644)
	if _, err := ReadImage(bad); err == nil || !strings.Contains(err.Error(), bad+": not a PNG, JPEG or GIF image") {
		t.Errorf("bad image: %v", err)
	}
	if _, err := ReadImage(filepath.Join(dir, "missing.png")); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing image: %v", err)
	}
}

// TestErrors: bad usage gives status 2 and the usage; bad files give status 1 and an
// error naming the file.
func TestErrors(t *testing.T) {
	net := lenetmnist.New(1)
	w := writeWeights(t, net, nil)
	dir := t.TempDir()
	img := filepath.Join(dir, "x.png")
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 28, 28)))
	os.WriteFile(img, b.Bytes(), 0o644)
	wrongC := filepath.Join(dir, "wrongc.safetensors")
	safetensors.WriteFile(wrongC, []safetensors.Tensor{safetensors.Float32Tensor("input", []int{2, 3, 28, 28}, make([]float32, 2*3*28*28))}, nil)
	noInput := filepath.Join(dir, "noinput.safetensors")
	safetensors.WriteFile(noInput, []safetensors.Tensor{safetensors.Float32Tensor("x", []int{1}, []float32{1})}, nil)
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("zero\none\n\n"), 0o644)
	cifarW := writeWeights(t, cifarsmall.New(1), nil)
	badPre := writeWeights(t, net, &data.Preprocess{Kind: data.MeanChannel, C: 3, H: 32, W: 32, Mean: []float32{1, 2, 3}})

	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{img}, 2, "--weights FILE is required"},
		{[]string{"--weights", w}, 2, "nothing to predict"},
		{[]string{"--weights", w, "--input", noInput, img}, 2, "give one of --input, image files and --data"},
		{[]string{"--weights", w, img, "--resize", "--crop"}, 2, "exclude each other"},
		{[]string{"--weights", w, img, "--top", "0"}, 2, "--top must be at least 1"},
		{[]string{"--weights", w, img, "--normalize"}, 2, "--normalize applies to --input only"},
		{[]string{"--weights", w, img, "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"--weights", filepath.Join(dir, "none.safetensors"), img}, 1, "none.safetensors: no such file"},
		{[]string{"--weights", img, img}, 1, img + ": "},
		{[]string{"--weights", cifarW, img}, 1, `trained for spec "cifar-small"`},
		{[]string{"--weights", cifarW, img, "--force"}, 1, `tensor "conv1.weight": wrong shape`},
		{[]string{"--weights", badPre, img}, 1, "preprocessing metadata: data: preprocess fitted on 3x32x32 images applied to 1x28x28"},
		{[]string{"--weights", w, "--input", wrongC}, 1, `wrongc.safetensors: tensor "input": wrong shape: has shape [2 3 28 28], want [-1 1 28 28]`},
		{[]string{"--weights", w, "--input", noInput}, 1, `tensor "input": tensor not found`},
		{[]string{"--weights", w, filepath.Join(dir, "nope.png")}, 1, "nope.png"},
		{[]string{"--weights", w, img, "--labels", labels}, 1, "labels.txt: 2 class names, the network has 10 classes"},
	} {
		status, _, stderr := run(lenetmnist.New(1), tc.args...)
		if status != tc.status || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: status %d, stderr:\n%s\nwant status %d and %q", tc.args, status, stderr, tc.status, tc.want)
		}
	}
	if status, _, _ := run(lenetmnist.New(1), "-h"); status != 0 {
		t.Errorf("-h: status %d", status)
	}
}

// TestLabels: --labels names the classes; weights without preprocessing are warned about.
func TestLabels(t *testing.T) {
	net := lenetmnist.New(1)
	w := writeWeights(t, net, nil)
	dir := t.TempDir()
	img := filepath.Join(dir, "x.png")
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 56, 40)))
	os.WriteFile(img, b.Bytes(), 0o644)
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte(strings.Join(data.FashionMNISTClassNames, "\n")), 0o644)
	status, stdout, stderr := run(net, "--weights", w, "--labels", labels, "--top", "10", "--crop", img)
	if status != 0 {
		t.Fatal(stderr)
	}
	if !strings.Contains(stderr, "records no preprocessing") {
		t.Errorf("stderr %q", stderr)
	}
	for _, name := range data.FashionMNISTClassNames {
		if !strings.Contains(stdout, name+" ") {
			t.Errorf("output lacks %q: %s", name, stdout)
		}
	}
}
