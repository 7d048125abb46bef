package charts

import (
	"errors"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/monitor"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// syntheticRun returns realistic records: 10 epochs of 39 iterations with a loss decaying
// from ln 10 with noise, a step learning rate, and accuracies that rise with a growing
// gap between training and validation.
func syntheticRun() ([]monitor.IterRecord, []monitor.EpochRecord) {
	const itersPerEpoch, nEpochs = 39, 10
	rng := rand.New(rand.NewPCG(1, 2))
	var iters []monitor.IterRecord
	var epochs []monitor.EpochRecord
	lr := 0.01
	for e := 1; e <= nEpochs; e++ {
		if e == 6 || e == 9 {
			lr /= 10
		}
		sum := 0.0
		for i := 1; i <= itersPerEpoch; i++ {
			it := (e-1)*itersPerEpoch + i
			base := 0.6 + 1.7*math.Exp(-float64(it)/80)
			loss := base * math.Exp(0.25*rng.NormFloat64())
			sum += loss
			iters = append(iters, monitor.IterRecord{Iter: it, Epoch: float64(it) / itersPerEpoch, Loss: loss, LR: lr})
		}
		train := 0.9 - 0.7*math.Exp(-float64(e)/3)
		val := 0.7 - 0.5*math.Exp(-float64(e)/2.5)
		epochs = append(epochs, monitor.EpochRecord{Epoch: e, Loss: sum / itersPerEpoch, TrainAcc: train, ValAcc: val,
			LR: lr, ImgPerSec: 1500 + 50*rng.Float64(), Seconds: 3.3})
	}
	return iters, epochs
}

// checkPNG decodes the PNG at path and checks its size and that it is a real picture:
// several distinct colors, not all white.
func checkPNG(t *testing.T, path string, w, h int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	colors := map[[4]uint32]int{}
	nonWhite := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bb, a}]++
			if r < 0xf000 || g < 0xf000 || bb < 0xf000 {
				nonWhite++
			}
		}
	}
	if len(colors) < 8 {
		t.Errorf("%s has only %d distinct colors", path, len(colors))
	}
	if nonWhite < b.Dx()*b.Dy()/200 {
		t.Errorf("%s is nearly blank: %d non-white pixels", path, nonWhite)
	}
	return img
}

// countColor counts the pixels close to c (within 24 per channel).
func countColor(img image.Image, c [3]uint8) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			d := func(v uint32, w uint8) bool { return math.Abs(float64(v>>8)-float64(w)) <= 24 }
			if d(r, c[0]) && d(g, c[1]) && d(bb, c[2]) {
				n++
			}
		}
	}
	return n
}

var (
	pngW = int(float64(PlotWidth/vg.Inch) * PlotDPI)
	pngH = int(float64(PlotHeight/vg.Inch) * PlotDPI)
)

func TestPlots(t *testing.T) {
	iters, epochs := syntheticRun()
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		plot func(string) error
	}{
		{"loss.png", func(p string) error { return PlotLoss(iters, p, false) }},
		{"loss-log.png", func(p string) error { return PlotLoss(iters, p, true) }},
		{"accuracy.png", func(p string) error { return PlotAccuracy(epochs, p) }},
		{"lr.png", func(p string) error { return PlotLR(iters, p) }},
	} {
		path := filepath.Join(dir, c.name)
		if err := c.plot(path); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		img := checkPNG(t, path, pngW, pngH)
		// The curves are there in their colors.
		if n := countColor(img, [3]uint8{colorBlue.R, colorBlue.G, colorBlue.B}); n < 300 {
			t.Errorf("%s: %d blue pixels", c.name, n)
		}
		switch c.name {
		case "loss.png", "loss-log.png":
			if n := countColor(img, [3]uint8{colorLightBlue.R, colorLightBlue.G, colorLightBlue.B}); n < 300 {
				t.Errorf("%s: %d light blue (raw loss) pixels", c.name, n)
			}
		case "accuracy.png":
			if n := countColor(img, [3]uint8{colorOrange.R, colorOrange.G, colorOrange.B}); n < 300 {
				t.Errorf("%s: %d orange (validation) pixels", c.name, n)
			}
		}
	}
	if os.Getenv("MONITOR_KEEP") != "" {
		// MONITOR_KEEP=dir go test -run TestPlots keeps the charts to look at.
		for _, n := range []string{"loss.png", "loss-log.png", "accuracy.png", "lr.png"} {
			data, _ := os.ReadFile(filepath.Join(dir, n))
			os.WriteFile(filepath.Join(os.Getenv("MONITOR_KEEP"), n), data, 0o644)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp"))
	if len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// iter is an iteration's record.
func iter(i int, epoch, loss, lr float64) monitor.IterRecord {
	return monitor.IterRecord{Iter: i, Epoch: epoch, Loss: loss, LR: lr}
}

// writeRun writes the metrics files of a run with these records into dir.
func writeRun(t *testing.T, dir string, iters []monitor.IterRecord, epochs []monitor.EpochRecord) {
	t.Helper()
	m, err := monitor.NewMetricsWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range iters {
		if err := m.WriteIter(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range epochs {
		if err := m.WriteEpoch(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteAll(t *testing.T) {
	iters, epochs := syntheticRun()
	dir := t.TempDir()
	writeRun(t, dir, iters, epochs)
	if err := WriteAll(dir, true); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{LossPNG, AccuracyPNG, LRPNG} {
		checkPNG(t, filepath.Join(dir, n), pngW, pngH)
	}

	// Only iterations so far: loss and learning rate, and ErrNoEpochs.
	dir = t.TempDir()
	writeRun(t, dir, iters[:20], nil)
	err := WriteAll(dir, false)
	if !errors.Is(err, ErrNoEpochs) {
		t.Fatalf("WriteAll without epochs: %v, want ErrNoEpochs", err)
	}
	checkPNG(t, filepath.Join(dir, LossPNG), pngW, pngH)
	checkPNG(t, filepath.Join(dir, LRPNG), pngW, pngH)
	if _, err := os.Stat(filepath.Join(dir, AccuracyPNG)); err == nil {
		t.Error("accuracy.png written without epochs")
	}

	if err := WriteAll(t.TempDir(), false); err == nil || !strings.Contains(err.Error(), monitor.ItersFile) {
		t.Errorf("WriteAll of an empty folder: %v", err)
	}
	dir = t.TempDir()
	writeRun(t, dir, nil, nil)
	if err := WriteAll(dir, false); err == nil || !strings.Contains(err.Error(), "no training iteration") {
		t.Errorf("WriteAll with no rows: %v", err)
	}
}

func TestPlotEdgeCases(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	one := []monitor.IterRecord{{Iter: 1, Epoch: 0.01, Loss: 2.3, LR: 0.1}}
	if err := PlotLoss(one, p("one.png"), false); err != nil {
		t.Error(err)
	} else {
		checkPNG(t, p("one.png"), pngW, pngH)
	}
	if err := PlotLoss(one, p("one-log.png"), true); err != nil {
		t.Error(err)
	}
	if err := PlotLR(one, p("one-lr.png")); err != nil {
		t.Error(err)
	}
	if err := PlotAccuracy([]monitor.EpochRecord{{Epoch: 1, TrainAcc: 0.3, ValAcc: 0.3}}, p("one-acc.png")); err != nil {
		t.Error(err)
	} else {
		checkPNG(t, p("one-acc.png"), pngW, pngH)
	}
	// No validation set.
	noVal := []monitor.EpochRecord{{Epoch: 1, TrainAcc: 0.3, ValAcc: math.NaN()}, {Epoch: 2, TrainAcc: 0.5, ValAcc: math.NaN()}}
	if err := PlotAccuracy(noVal, p("noval.png")); err != nil {
		t.Error(err)
	}

	// A diverging run: NaN and Inf losses are skipped.
	div := []monitor.IterRecord{iter(1, 0.1, 2.3, 1), iter(2, 0.2, 5, 1), iter(3, 0.3, 80, 1),
		iter(4, 0.4, math.Inf(1), 1), iter(5, 0.5, math.NaN(), 1)}
	for _, log := range []bool{false, true} {
		if err := PlotLoss(div, p("div.png"), log); err != nil {
			t.Errorf("diverging, log %v: %v", log, err)
		} else {
			checkPNG(t, p("div.png"), pngW, pngH)
		}
	}
	// A loss that reaches 0 (SVM) on a log scale.
	zero := []monitor.IterRecord{iter(1, 1, 1, 1), iter(2, 1, 0.5, 1), iter(3, 1, 0, 1)}
	if err := PlotLoss(zero, p("zero.png"), true); err != nil {
		t.Error(err)
	}
	// A flat loss and learning rate.
	flat := []monitor.IterRecord{iter(1, 1, 1, 0.1), iter(2, 2, 1, 0.1), iter(3, 3, 1, 0.1)}
	if err := PlotLoss(flat, p("flat.png"), true); err != nil {
		t.Error(err)
	}
	if err := PlotLR(flat, p("flat-lr.png")); err != nil {
		t.Error(err)
	}

	for name, err := range map[string]error{
		"empty loss":    PlotLoss(nil, p("x.png"), false),
		"all NaN loss":  PlotLoss([]monitor.IterRecord{iter(1, 1, math.NaN(), 1)}, p("x.png"), false),
		"empty lr":      PlotLR(nil, p("x.png")),
		"empty epochs":  PlotAccuracy(nil, p("x.png")),
		"no accuracies": PlotAccuracy([]monitor.EpochRecord{{Epoch: 1, TrainAcc: math.NaN(), ValAcc: math.NaN()}}, p("x.png")),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := os.Stat(p("x.png")); err == nil {
		t.Error("x.png written by a failing plot")
	}
}

func TestLogTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi    float64
		minLabels int
	}{
		{0.3, 2.3, 4}, {1e-4, 0.1, 4}, {1e-8, 1, 9}, {0.41, 0.44, 2},
	} {
		n := 0
		for _, tk := range (logTicks{}).Ticks(c.lo, c.hi) {
			if tk.Value < c.lo*(1-1e-9) || tk.Value > c.hi*(1+1e-9) {
				t.Errorf("[%g, %g]: tick %g outside", c.lo, c.hi, tk.Value)
			}
			if tk.Label != "" {
				n++
			}
		}
		if n < c.minLabels {
			t.Errorf("[%g, %g]: %d labels, want at least %d", c.lo, c.hi, n, c.minLabels)
		}
	}
}

func TestSmoothing(t *testing.T) {
	pts := make([]monitor.IterRecord, 0, 1000)
	for i := 1; i <= 1000; i++ {
		pts = append(pts, monitor.IterRecord{Iter: i, Loss: 1 + 0.5*float64(i%2)})
	}
	xys := toXYs(pts)
	s := ema(xys, 40)
	if math.Abs(s[0].Y-1.5) > 1e-12 {
		t.Errorf("bias-corrected EMA starts at %g, want the first value 1.5", s[0].Y)
	}
	if math.Abs(s[999].Y-1.25) > 0.02 {
		t.Errorf("EMA of alternating 1, 1.5 ends at %g, want about 1.25", s[999].Y)
	}
	d := decimate(xys, 100)
	if len(d) > 100 || len(d) < 50 {
		t.Errorf("decimate to 100 gave %d points", len(d))
	}
	for i := 1; i < len(d); i++ {
		if d[i].X <= d[i-1].X {
			t.Fatalf("decimated points out of order at %d", i)
		}
	}
}

func toXYs(rs []monitor.IterRecord) plotter.XYs {
	xys := make(plotter.XYs, len(rs))
	for i, r := range rs {
		xys[i] = plotter.XY{X: float64(r.Iter), Y: r.Loss}
	}
	return xys
}
