package monitor

import (
	"bytes"
	"fmt"
	"github.com/netc-dev/netc/internal/atomicfile"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ConfusionPNG is the file name of the confusion matrix picture in a run folder.
const ConfusionPNG = "confusion.png"

// MaxTableClasses is the number of classes up to which WriteTable prints the whole
// matrix; above it, it prints the worst classes and the most frequent confusions.
const MaxTableClasses = 20

// Confusion is a confusion matrix: how many images of each true class the network gave
// each predicted class. Build it with NewConfusion and AddScores (or Add).
type Confusion struct {
	// Names names the classes, indexed by class.
	Names []string
	// Counts holds the n×n counts, row by row: Counts[i*n+j] is the number of images of
	// true class i predicted as class j.
	Counts []int
	// Unscored is the number of images whose scores were all NaN, which predict no class:
	// they count in Total, and as wrong.
	Unscored int
}

// NewConfusion returns an empty confusion matrix of n classes named by names; classes
// past the end of names (or with an empty name) are named by their number.
func NewConfusion(n int, names []string) *Confusion {
	c := &Confusion{Names: make([]string, n), Counts: make([]int, n*n)}
	for i := range c.Names {
		if i < len(names) && names[i] != "" {
			c.Names[i] = names[i]
		} else {
			c.Names[i] = strconv.Itoa(i)
		}
	}
	return c
}

// Predicted returns the class of the highest score (the first on ties, NaN scores
// ignored), or -1 when every score is NaN.
func Predicted(scores []float32) int {
	best := -1
	for j, s := range scores {
		if s == s && (best < 0 || s > scores[best]) {
			best = j
		}
	}
	return best
}

// Classes returns the number of classes.
func (c *Confusion) Classes() int { return len(c.Names) }

// Add counts one image of true class label predicted as class predicted (-1: no class).
// It panics if label or predicted is out of range.
func (c *Confusion) Add(label, predicted int) {
	if predicted < 0 {
		c.Unscored++
		return
	}
	n := c.Classes()
	if label < 0 || label >= n || predicted >= n {
		panic(fmt.Sprintf("monitor: Confusion.Add(%d, %d) with %d classes", label, predicted, n))
	}
	c.Counts[label*n+predicted]++
}

// AddScores counts the images whose scores (Classes() per image, back to back) and
// labels are given, each predicted as its highest score (Predicted).
func (c *Confusion) AddScores(scores []float32, labels []int32) {
	n := c.Classes()
	for i, l := range labels {
		c.Add(int(l), Predicted(scores[i*n:(i+1)*n]))
	}
}

// At returns the number of images of true class i predicted as class j.
func (c *Confusion) At(i, j int) int { return c.Counts[i*c.Classes()+j] }

// RowTotal returns the number of images of true class i (the unscored ones excluded).
func (c *Confusion) RowTotal(i int) int {
	n := c.Classes()
	s := 0
	for _, v := range c.Counts[i*n : (i+1)*n] {
		s += v
	}
	return s
}

// Total returns the number of images counted, unscored ones included.
func (c *Confusion) Total() int {
	s := c.Unscored
	for _, v := range c.Counts {
		s += v
	}
	return s
}

// Correct returns the number of images predicted as their true class.
func (c *Confusion) Correct() int {
	s := 0
	for i := range c.Classes() {
		s += c.At(i, i)
	}
	return s
}

// Accuracy returns Correct()/Total(), NaN when nothing was counted.
func (c *Confusion) Accuracy() float64 {
	if c.Total() == 0 {
		return math.NaN()
	}
	return float64(c.Correct()) / float64(c.Total())
}

// ClassAccuracy returns the fraction of the images of true class i predicted as i (the
// class's recall), NaN when there is none.
func (c *Confusion) ClassAccuracy(i int) float64 {
	n := c.RowTotal(i)
	if n == 0 {
		return math.NaN()
	}
	return float64(c.At(i, i)) / float64(n)
}

// MostPredicted returns the class predicted most often and the share of Total predicted
// as it (0 when nothing was counted). A share near 1 is a network that gives every
// input the same class, as a dead network does.
func (c *Confusion) MostPredicted() (class int, share float64) {
	n, most := c.Classes(), -1
	for j := range n {
		col := 0
		for i := range n {
			col += c.At(i, j)
		}
		if col > most {
			class, most = j, col
		}
	}
	if c.Total() == 0 {
		return class, 0
	}
	return class, float64(most) / float64(c.Total())
}

// label returns how row i is named in the table: its number, and its name when the
// name is not just the number ("3 cat").
func (c *Confusion) label(i int) string {
	s := strconv.Itoa(i)
	if c.Names[i] != s {
		s += " " + c.Names[i]
	}
	return s
}

// WriteTable writes the matrix as a text table: one row per true class with its name,
// its accuracy, its number of images and how many were predicted as each class (the
// columns, by class number). Above MaxTableClasses classes it writes instead the ten
// classes of lowest accuracy and the ten most frequent confusions.
func (c *Confusion) WriteTable(w io.Writer) error {
	var b strings.Builder
	if c.Classes() > MaxTableClasses {
		c.writeSummary(&b)
	} else {
		c.writeMatrix(&b)
	}
	if c.Unscored > 0 {
		fmt.Fprintf(&b, "%d images had only NaN scores and count as wrong\n", c.Unscored)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMatrix writes the whole table.
func (c *Confusion) writeMatrix(b *strings.Builder) {
	n := c.Classes()
	lw := len("class")
	cw := len(strconv.Itoa(n - 1))
	nw := len("n")
	for i := range n {
		lw = max(lw, len(c.label(i)))
		nw = max(nw, len(strconv.Itoa(c.RowTotal(i))))
		for j := range n {
			cw = max(cw, len(strconv.Itoa(c.At(i, j))))
		}
	}
	fmt.Fprintf(b, "%-*s  %6s  %*s ", lw, "class", "acc", nw, "n")
	for j := range n {
		fmt.Fprintf(b, " %*d", cw, j)
	}
	b.WriteByte('\n')
	for i := range n {
		fmt.Fprintf(b, "%-*s  %6s  %*d ", lw, c.label(i), accText(c.ClassAccuracy(i)), nw, c.RowTotal(i))
		for j := range n {
			fmt.Fprintf(b, " %*d", cw, c.At(i, j))
		}
		b.WriteByte('\n')
	}
}

// writeSummary writes the ten worst classes and the ten most frequent confusions.
func (c *Confusion) writeSummary(b *strings.Builder) {
	n := c.Classes()
	var classes []int
	for i := range n {
		if c.RowTotal(i) > 0 {
			classes = append(classes, i)
		}
	}
	sort.SliceStable(classes, func(a, b int) bool { return c.ClassAccuracy(classes[a]) < c.ClassAccuracy(classes[b]) })
	fmt.Fprintf(b, "lowest per-class accuracy (%d of %d classes have images):\n", len(classes), n)
	for _, i := range classes[:min(10, len(classes))] {
		fmt.Fprintf(b, "  %-24s %s of %d\n", c.label(i), accText(c.ClassAccuracy(i)), c.RowTotal(i))
	}
	type pair struct{ i, j, count int }
	var pairs []pair
	for i := range n {
		for j := range n {
			if i != j && c.At(i, j) > 0 {
				pairs = append(pairs, pair{i, j, c.At(i, j)})
			}
		}
	}
	sort.SliceStable(pairs, func(a, b int) bool { return pairs[a].count > pairs[b].count })
	fmt.Fprintln(b, "most frequent confusions (true class -> predicted):")
	for _, p := range pairs[:min(10, len(pairs))] {
		fmt.Fprintf(b, "  %s -> %s: %d\n", c.label(p.i), c.label(p.j), p.count)
	}
}

// accText formats an accuracy with 4 decimals, "-" for NaN.
func accText(a float64) string {
	if math.IsNaN(a) {
		return "-"
	}
	return fmt.Sprintf("%.4f", a)
}

// Colors of the confusion picture: a cell goes from white (none of its row) to
// colorBlue (all of its row).
var (
	colorWhite = color.RGBA{R: 255, G: 255, B: 255, A: 255}
	colorBlack = color.RGBA{A: 255}
)

// confusionLayout is the geometry of a confusion picture.
type confusionLayout struct {
	cell         int  // side of a cell in pixels
	gridX, gridY int  // top left corner of cell (0, 0)
	width        int  // of the picture
	height       int  // of the picture
	labels       bool // class labels beside the rows and numbers above the columns
	counts       bool // counts written in the cells
}

// Text metrics of basicfont.Face7x13.
const (
	charWidth  = 7
	lineHeight = 13
	ascent     = 11
)

// layout computes where everything goes: cells of up to 48 pixels, fewer so that the
// grid is at most about 960 pixels wide, with labels and counts when they fit.
func (c *Confusion) layout(title string) confusionLayout {
	n := c.Classes()
	l := confusionLayout{cell: max(1, min(48, 960/max(n, 1)))}
	l.labels = l.cell >= lineHeight+2
	maxCount := 0
	for _, v := range c.Counts {
		maxCount = max(maxCount, v)
	}
	l.counts = l.cell >= charWidth*len(strconv.Itoa(maxCount))+4 && l.cell >= lineHeight+4
	l.gridX, l.gridY = 8, 8+lineHeight+8
	if l.labels {
		lw := 0
		for i := range n {
			lw = max(lw, len(c.label(i)))
		}
		l.gridX += charWidth*lw + 8
		l.gridY += lineHeight + 4
	}
	l.width = max(l.gridX+n*l.cell+8, 16+charWidth*len(title))
	l.height = l.gridY + n*l.cell + 8 + lineHeight + 8
	return l
}

// cellColor returns the color of a cell holding count of its row's total.
func cellColor(count, total int) color.RGBA {
	if total == 0 {
		return colorWhite
	}
	f := float64(count) / float64(total)
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + f*(float64(b)-float64(a)))) }
	return color.RGBA{R: mix(255, colorBlue.R), G: mix(255, colorBlue.G), B: mix(255, colorBlue.B), A: 255}
}

// image draws the matrix: a grid of cells, row i the true class i, column j the
// predicted class j, each colored by its share of the row (white 0, blue all of it) and,
// when large enough, with its count; the title above and a legend below.
func (c *Confusion) image(title string) *image.RGBA {
	n := c.Classes()
	l := c.layout(title)
	img := image.NewRGBA(image.Rect(0, 0, l.width, l.height))
	fill(img, img.Rect, colorWhite)
	d := &font.Drawer{Dst: img, Face: basicfont.Face7x13}
	text := func(s string, x, y int, col color.RGBA) { // y is the top of the line
		d.Src = image.NewUniform(col)
		d.Dot = fixed.P(x, y+ascent)
		d.DrawString(s)
	}
	text(title, 8, 8, colorBlack)
	inset := 0
	if l.cell >= 4 {
		inset = 1 // a one-pixel grid line right of and below each cell
	}
	fill(img, image.Rect(l.gridX-inset, l.gridY-inset, l.gridX+n*l.cell, l.gridY+n*l.cell), colorGrid)
	for i := range n {
		total := c.RowTotal(i)
		y := l.gridY + i*l.cell
		if l.labels {
			s := c.label(i)
			text(s, l.gridX-8-charWidth*len(s), y+(l.cell-lineHeight)/2, colorBlack)
			s = strconv.Itoa(i)
			text(s, l.gridX+i*l.cell+(l.cell-charWidth*len(s))/2, l.gridY-lineHeight-4, colorBlack)
		}
		for j := range n {
			x := l.gridX + j*l.cell
			col := cellColor(c.At(i, j), total)
			fill(img, image.Rect(x, y, x+l.cell-inset, y+l.cell-inset), col)
			if v := c.At(i, j); l.counts && v > 0 {
				s := strconv.Itoa(v)
				ink := colorBlack
				if 2*v > total {
					ink = colorWhite
				}
				text(s, x+(l.cell-charWidth*len(s))/2, y+(l.cell-lineHeight)/2, ink)
			}
		}
	}
	text("rows: true class, columns: predicted class; color: share of the row", 8, l.gridY+n*l.cell+8, colorBlack)
	return img
}

// fill paints the rectangle r of img with col.
func fill(img *image.RGBA, r image.Rectangle, col color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = col.R, col.G, col.B, col.A
		}
	}
}

// WritePNG draws the matrix (see image) as a PNG file at path, written atomically, with
// title above it. The file's tEXt chunks hold the title ("Title"), the class names one
// per line ("Classes") and the counts, one line of space-separated numbers per true
// class ("Counts"), so that the numbers can be read back exactly.
func (c *Confusion) WritePNG(path, title string) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, c.image(title)); err != nil {
		return fmt.Errorf("monitor: confusion matrix %s: %w", path, err)
	}
	n := c.Classes()
	var counts strings.Builder
	for i := range n {
		for j := range n {
			if j > 0 {
				counts.WriteByte(' ')
			}
			counts.WriteString(strconv.Itoa(c.At(i, j)))
		}
		counts.WriteByte('\n')
	}
	data := withText(buf.Bytes(), "Title", title, "Classes", strings.Join(c.Names, "\n"), "Counts", counts.String())
	return atomicfile.Write(path, func(f io.Writer) error {
		_, err := f.Write(data)
		return err
	})
}

// The colours of the matrix: a cell's share of its row mixes white towards colorBlue;
// colorGrid frames the cells. (Package charts draws with the same ones.)
var (
	colorBlue = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorGrid = color.RGBA{R: 218, G: 218, B: 218, A: 255}
)
