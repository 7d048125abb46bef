package charts

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"github.com/netc-dev/netc/internal/atomicfile"
	"github.com/netc-dev/netc/runtime/monitor"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Size of the charts: 8×5 inches at 96 dpi, that is 768×480 pixels.
const (
	PlotWidth  = 8 * vg.Inch
	PlotHeight = 5 * vg.Inch
	// PlotDPI is the resolution of the PNG charts.
	PlotDPI = 96
)

// File names WriteAll gives the charts inside a run folder.
const (
	LossPNG     = "loss.png"
	AccuracyPNG = "accuracy.png"
	LRPNG       = "lr.png"
)

// ErrNoEpochs is wrapped by the error WriteAll returns when the run has no finished epoch
// yet: the loss and learning-rate charts are written, the accuracy chart is not.
var ErrNoEpochs = errors.New("no finished epoch yet")

// maxRawPoints (about twice the chart's width in pixels) is the number of points
// above which PlotLoss and PlotLR draw the raw curve from the minimum and maximum of each
// of maxRawPoints/2 buckets of iterations instead of every point: the picture is the
// same, the drawing much faster.
const maxRawPoints = 1600

// Colors of the charts (the first two of matplotlib's "tab10", and lighter versions).
var (
	colorBlue      = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorLightBlue = color.RGBA{R: 166, G: 198, B: 226, A: 255}
	colorOrange    = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colorGrid      = color.RGBA{R: 218, G: 218, B: 218, A: 255}
)

// WriteAll reads the metrics of the run folder dir (see monitor.ReadMetrics) and writes the
// charts loss.png (PlotLoss, with logScale), accuracy.png (PlotAccuracy) and lr.png
// (PlotLR) into it. It is what `netc plot RUNDIR` calls, and can be called during
// training. With no iteration recorded it is an error and nothing is written; with
// iterations but no finished epoch, loss.png and lr.png are written and the returned
// error wraps ErrNoEpochs.
func WriteAll(dir string, logScale bool) error {
	iters, epochs, err := monitor.ReadMetrics(dir)
	if err != nil {
		return err
	}
	if len(iters) == 0 {
		return fmt.Errorf("charts: %s: no training iteration recorded in %s", dir, monitor.ItersFile)
	}
	if err := PlotLoss(iters, filepath.Join(dir, LossPNG), logScale); err != nil {
		return err
	}
	if err := PlotLR(iters, filepath.Join(dir, LRPNG)); err != nil {
		return err
	}
	if len(epochs) == 0 {
		return fmt.Errorf("charts: %s: %w in %s; %s not written", dir, ErrNoEpochs, monitor.EpochsFile, AccuracyPNG)
	}
	return PlotAccuracy(epochs, filepath.Join(dir, AccuracyPNG))
}

// PlotLoss draws the loss of every iteration as a PNG chart at path: the raw loss as a
// thin light line and, on top, a smoothed curve, an exponential moving average with bias
// correction (as TensorBoard's) whose time constant is about 1/25 of the iterations
// (between 1 and 200). NaN and infinite losses are skipped, and their number is given in
// the title; with logScale the Y axis is logarithmic and zero or negative losses are
// skipped too (and counted in the title as well). The legend moves to the lower right
// when the end of the curve is high (a diverging run). Beyond 1600 iterations the raw
// curve is drawn from the minimum and maximum of small buckets of iterations and the
// smoothed one from every k-th point, which looks the same and draws much faster. An
// empty slice, or one without a drawable loss, is an error.
func PlotLoss(iters []monitor.IterRecord, path string, logScale bool) error {
	if len(iters) == 0 {
		return fmt.Errorf("charts: PlotLoss %s: no iterations", path)
	}
	pts := make(plotter.XYs, 0, len(iters))
	nonFinite, nonPositive := 0, 0
	for _, r := range iters {
		switch {
		case !isFinite(r.Loss):
			nonFinite++
		case logScale && r.Loss <= 0:
			nonPositive++
		default:
			pts = append(pts, plotter.XY{X: float64(r.Iter), Y: r.Loss})
		}
	}
	if len(pts) == 0 {
		what := "finite"
		if logScale {
			what = "positive finite"
		}
		return fmt.Errorf("charts: PlotLoss %s: no %s loss among %d iterations", path, what, len(iters))
	}
	window := min(max(len(pts)/25, 1), 200)
	smooth := ema(pts, window)

	p := newPlot("Training loss", "iteration", "loss")
	p.X.Tick.Marker = niceTicks{integer: true}
	last := smooth[len(smooth)-1]
	p.Title.Text += fmt.Sprintf(" (smoothed %s at iteration %d)", fmtNum(last.Y), int(last.X))
	if nonFinite > 0 {
		p.Title.Text += fmt.Sprintf(", %d NaN/Inf not shown", nonFinite)
	}
	if nonPositive > 0 {
		p.Title.Text += fmt.Sprintf(", %d ≤ 0 not shown", nonPositive)
	}
	raw, err := plotter.NewLine(decimate(pts, maxRawPoints))
	if err != nil {
		return fmt.Errorf("charts: PlotLoss %s: %w", path, err)
	}
	raw.Color = colorLightBlue
	raw.Width = vg.Points(0.6)
	sm, err := plotter.NewLine(stride(smooth, maxRawPoints))
	if err != nil {
		return fmt.Errorf("charts: PlotLoss %s: %w", path, err)
	}
	sm.Color = colorBlue
	sm.Width = vg.Points(1.8)
	p.Add(raw, sm)
	p.Legend.Add("loss per iteration", raw)
	if window > 1 {
		p.Legend.Add(fmt.Sprintf("smoothed (EMA, ~%d iterations)", window), sm)
	} else {
		p.Legend.Add("smoothed", sm)
	}
	if len(pts) == 1 {
		if err := addPoints(p, pts, colorBlue); err != nil {
			return fmt.Errorf("charts: PlotLoss %s: %w", path, err)
		}
	}
	if logScale {
		setLogY(p)
		p.Y.Label.Text = "loss (log scale)"
	} else {
		padLinear(&p.Y.Min, &p.Y.Max)
	}
	// A loss that ends high (diverging, or a short run) would run under the legend.
	if endsHigh(pts, p.Y.Min, p.Y.Max, logScale) {
		p.Legend.Top = false
	}
	return savePNG(p, path)
}

// PlotAccuracy draws the training and validation accuracy of every epoch on one PNG
// chart at path, with a legend; the title gives the last epoch's values. NaN values
// (accuracy not measured) are left out, and a series with none is left out of the
// legend. The Y axis shows at least 0.1 of accuracy, and stays inside [0, 1] when the
// accuracies do. An empty slice, or one without any accuracy, is an error.
func PlotAccuracy(epochs []monitor.EpochRecord, path string) error {
	if len(epochs) == 0 {
		return fmt.Errorf("charts: PlotAccuracy %s: no epochs", path)
	}
	var train, val plotter.XYs
	for _, r := range epochs {
		if isFinite(r.TrainAcc) {
			train = append(train, plotter.XY{X: float64(r.Epoch), Y: r.TrainAcc})
		}
		if isFinite(r.ValAcc) {
			val = append(val, plotter.XY{X: float64(r.Epoch), Y: r.ValAcc})
		}
	}
	if len(train) == 0 && len(val) == 0 {
		return fmt.Errorf("charts: PlotAccuracy %s: no accuracy among %d epochs", path, len(epochs))
	}
	p := newPlot("Accuracy", "epoch", "accuracy")
	last := epochs[len(epochs)-1]
	p.Title.Text += fmt.Sprintf(" (epoch %d: train %s, validation %s)", last.Epoch, fmtAcc(last.TrainAcc), fmtAcc(last.ValAcc))
	for _, s := range []struct {
		name string
		xys  plotter.XYs
		c    color.Color
		g    draw.GlyphDrawer
	}{
		{"train", train, colorBlue, draw.CircleGlyph{}},
		{"validation", val, colorOrange, draw.SquareGlyph{}},
	} {
		if len(s.xys) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return fmt.Errorf("charts: PlotAccuracy %s: %w", path, err)
		}
		l.Color = s.c
		l.Width = vg.Points(1.8)
		sc.Color = s.c
		sc.Shape = s.g
		sc.Radius = vg.Points(2.5)
		p.Add(l, sc)
		p.Legend.Add(s.name, l, sc)
	}
	p.Legend.Top = false // accuracy rises: the lower right corner is usually free
	// At least 0.1 of accuracy in view, so that a flat stretch looks flat.
	lo, hi := p.Y.Min, p.Y.Max
	inUnit := lo >= 0 && hi <= 1
	if hi-lo < 0.1 {
		c := (lo + hi) / 2
		lo, hi = c-0.05, c+0.05
	}
	pad := 0.05 * (hi - lo)
	lo, hi = lo-pad, hi+pad
	if inUnit {
		lo, hi = max(0, lo), min(1, hi)
	}
	p.Y.Min, p.Y.Max = lo, hi
	integerTicks(&p.X, epochs[0].Epoch, last.Epoch)
	return savePNG(p, path)
}

// PlotLR draws the learning rate of every iteration as a PNG chart at path. The Y axis is
// logarithmic when the rates are all positive and span at least a factor of 10 (step or
// exponential decay), linear otherwise. Non-finite rates are skipped. An empty slice is
// an error.
func PlotLR(iters []monitor.IterRecord, path string) error {
	if len(iters) == 0 {
		return fmt.Errorf("charts: PlotLR %s: no iterations", path)
	}
	pts := make(plotter.XYs, 0, len(iters))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range iters {
		if !isFinite(r.LR) {
			continue
		}
		pts = append(pts, plotter.XY{X: float64(r.Iter), Y: r.LR})
		lo, hi = min(lo, r.LR), max(hi, r.LR)
	}
	if len(pts) == 0 {
		return fmt.Errorf("charts: PlotLR %s: no finite learning rate among %d iterations", path, len(iters))
	}
	p := newPlot("Learning rate", "iteration", "learning rate")
	p.X.Tick.Marker = niceTicks{integer: true}
	p.Title.Text += fmt.Sprintf(" (from %s to %s)", fmtNum(pts[0].Y), fmtNum(pts[len(pts)-1].Y))
	l, err := plotter.NewLine(decimate(pts, maxRawPoints))
	if err != nil {
		return fmt.Errorf("charts: PlotLR %s: %w", path, err)
	}
	l.Color = colorBlue
	l.Width = vg.Points(1.8)
	p.Add(l)
	if len(pts) == 1 {
		if err := addPoints(p, pts, colorBlue); err != nil {
			return fmt.Errorf("charts: PlotLR %s: %w", path, err)
		}
	}
	if lo > 0 && hi >= 10*lo {
		setLogY(p)
		p.Y.Label.Text = "learning rate (log scale)"
	} else {
		padLinear(&p.Y.Min, &p.Y.Max)
		if lo >= 0 {
			p.Y.Min = 0 // a rate decaying to zero, or a constant one, reads best from 0
		}
	}
	return savePNG(p, path)
}

// newPlot makes a chart with a title, axis labels, a light grid, sans-serif text and
// round-number ticks.
func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(13)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(11)
		a.Tick.Label.Font = sans(10)
		a.Tick.Marker = niceTicks{}
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font = sans(10)
	p.Legend.Padding = vg.Points(3)
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = -vg.Points(4)
	g := plotter.NewGrid()
	g.Vertical.Color = colorGrid
	g.Horizontal.Color = colorGrid
	p.Add(g)
	return p
}

// sans is Liberation Sans (embedded in gonum/plot) at size points.
func sans(size float64) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
}

// niceTicks is a plot.Ticker for linear axes: labels at multiples of 1, 2 or 5×10^k
// (about 5 to 10 of them), with an unlabeled tick halfway. With integer set (iteration
// axes), ticks are whole numbers.
type niceTicks struct{ integer bool }

// Ticks implements plot.Ticker.
func (nt niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || !isFinite(lo) || !isFinite(hi) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 6
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = m * pow
	}
	if nt.integer {
		step = max(step, 1)
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	sub := 2.0 // ticks per label
	if nt.integer && step < 2 {
		sub = 1
	}
	var ticks []plot.Tick
	half := step / sub
	for k := math.Ceil(lo/half - 1e-9); k*half <= hi+1e-9*step; k++ {
		v := k * half
		t := plot.Tick{Value: v}
		if math.Mod(k, sub) == 0 {
			if math.Abs(v) < 1e-12*step {
				v = 0
			}
			t.Value = v
			t.Label = strconv.FormatFloat(v, 'f', prec, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// addPoints marks pts with glyphs, so that a single point shows.
func addPoints(p *plot.Plot, pts plotter.XYs, c color.Color) error {
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	s.Color = c
	s.Shape = draw.CircleGlyph{}
	s.Radius = vg.Points(3)
	p.Add(s)
	return nil
}

// savePNG writes the chart as a PNG image to a temporary file next to path and renames it
// to path, so that a viewer never sees half a picture.
func savePNG(p *plot.Plot, path string) error {
	c := vgimg.NewWith(vgimg.UseWH(PlotWidth, PlotHeight), vgimg.UseDPI(PlotDPI))
	p.Draw(draw.New(c))
	err := atomicfile.Write(path, func(f io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(f)
		return err
	})
	if err != nil {
		return fmt.Errorf("charts: %s: %w", path, err)
	}
	return nil
}

// ema returns the bias-corrected exponential moving average of pts' Y values with time
// constant window (β = 1 − 1/window): s_t = (β·m_{t−1} + (1−β)·y_t) / (1 − β^t).
func ema(pts plotter.XYs, window int) plotter.XYs {
	out := make(plotter.XYs, len(pts))
	beta := 1 - 1/float64(window)
	m, bt := 0.0, 1.0
	for i, q := range pts {
		m = beta*m + (1-beta)*q.Y
		bt *= beta
		y := m
		if bt < 1 {
			y = m / (1 - bt)
		}
		out[i] = plotter.XY{X: q.X, Y: y}
	}
	return out
}

// decimate returns pts unchanged when it has at most n points, otherwise the minimum and
// maximum point of each of n/2 consecutive buckets, in order of X.
func decimate(pts plotter.XYs, n int) plotter.XYs {
	if len(pts) <= n {
		return pts
	}
	buckets := n / 2
	out := make(plotter.XYs, 0, n)
	for b := range buckets {
		lo, hi := b*len(pts)/buckets, (b+1)*len(pts)/buckets
		imin, imax := lo, lo
		for i := lo + 1; i < hi; i++ {
			if pts[i].Y < pts[imin].Y {
				imin = i
			}
			if pts[i].Y > pts[imax].Y {
				imax = i
			}
		}
		if imin > imax {
			imin, imax = imax, imin
		}
		out = append(out, pts[imin])
		if imax != imin {
			out = append(out, pts[imax])
		}
	}
	return out
}

// endsHigh reports whether the last 30% of pts (by X) reach the top 30% of the Y range
// [lo, hi], on a log scale when logScale: where the legend would hide them.
func endsHigh(pts plotter.XYs, lo, hi float64, logScale bool) bool {
	if logScale {
		lo, hi = math.Log(lo), math.Log(hi)
	}
	x0 := pts[0].X + 0.7*(pts[len(pts)-1].X-pts[0].X)
	for _, q := range pts {
		y := q.Y
		if logScale {
			y = math.Log(y)
		}
		if q.X >= x0 && y >= lo+0.7*(hi-lo) {
			return true
		}
	}
	return false
}

// stride returns pts unchanged when it has at most n points, otherwise every k-th point
// (and the last) so that about n remain: enough for a smooth curve.
func stride(pts plotter.XYs, n int) plotter.XYs {
	if len(pts) <= n {
		return pts
	}
	k := (len(pts) + n - 1) / n
	out := make(plotter.XYs, 0, n+1)
	for i := 0; i < len(pts); i += k {
		out = append(out, pts[i])
	}
	if last := pts[len(pts)-1]; out[len(out)-1] != last {
		out = append(out, last)
	}
	return out
}

// padLinear widens a degenerate linear range (all values equal) around its value.
func padLinear(lo, hi *float64) {
	if *lo != *hi {
		return
	}
	d := math.Abs(*lo) * 0.1
	if d == 0 {
		d = 1
	}
	*lo -= d
	*hi += d
}

// setLogY makes the Y axis logarithmic; its range must be positive.
func setLogY(p *plot.Plot) {
	if p.Y.Min == p.Y.Max {
		p.Y.Min /= 2
		p.Y.Max *= 2
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
}

// logTicks is a plot.Ticker for logarithmic axes that labels enough ticks for narrow
// ranges too (gonum's LogTicks labels powers of ten only, so a loss going from 2.3 to 0.3
// would get a single label): every 1…9×10^k up to half a decade, 1, 2, 3 and 5×10^k up to
// one and a half, 1, 2 and 5×10^k up to three decades, powers of ten beyond (always with
// unlabeled ticks at the other multiples).
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	decades := math.Log10(hi / lo)
	labeled := func(i int) bool {
		switch {
		case decades <= 0.5:
			return true
		case decades <= 1.5:
			return i == 1 || i == 2 || i == 3 || i == 5
		case decades <= 3:
			return i == 1 || i == 2 || i == 5
		}
		return i == 1
	}
	var ticks []plot.Tick
	nlabels := 0
	for e := int(math.Floor(math.Log10(lo))); e <= int(math.Ceil(math.Log10(hi))); e++ {
		pow := math.Pow(10, float64(e))
		for i := 1; i <= 9; i++ {
			v := float64(i) * pow
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labeled(i) {
				t.Label = strconv.FormatFloat(v, 'g', 3, 64)
				nlabels++
			}
			ticks = append(ticks, t)
		}
	}
	if nlabels < 2 {
		// A narrow range (0.41 to 0.44, say): linear ticks read fine on it.
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	return ticks
}

// integerTicks labels whole numbers from first to last on ax when there are at most 20 of
// them (epochs), and pads a single value.
func integerTicks(ax *plot.Axis, first, last int) {
	if first == last {
		ax.Min, ax.Max = float64(first)-1, float64(last)+1
	} else {
		pad := 0.03 * float64(last-first)
		ax.Min, ax.Max = float64(first)-pad, float64(last)+pad
	}
	if last-first > 20 {
		ax.Tick.Marker = niceTicks{integer: true}
		return
	}
	var ticks plot.ConstantTicks
	for e := first; e <= last; e++ {
		ticks = append(ticks, plot.Tick{Value: float64(e), Label: strconv.Itoa(e)})
	}
	ax.Tick.Marker = ticks
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fmtNum formats a loss or learning rate with 4 significant digits.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// fmtAcc formats an accuracy as a fraction with 3 decimals, or "n/a".
func fmtAcc(v float64) string {
	if !isFinite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
