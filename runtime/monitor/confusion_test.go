package monitor

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPredicted(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		scores []float32
		want   int
	}{
		{[]float32{0.1, 0.7, 0.2}, 1},
		{[]float32{3, 1, 3}, 0},       // ties: the first
		{[]float32{nan, 0.5, 0.2}, 1}, // NaN ignored
		{[]float32{-1, nan, -0.5}, 2},
		{[]float32{nan, nan}, -1},
		{nil, -1},
	} {
		if got := Predicted(tc.scores); got != tc.want {
			t.Errorf("Predicted(%v) = %d, want %d", tc.scores, got, tc.want)
		}
	}
}

// small is a known 3-class case: scores of 7 images and their labels.
func small() *Confusion {
	c := NewConfusion(3, []string{"cat", "dog"}) // the third class is named by its number
	nan := float32(math.NaN())
	scores := []float32{
		0.9, 0.1, 0, // cat → cat
		0.8, 0.1, 0, // cat → cat
		0.1, 0.2, 0.7, // cat → 2
		0.1, 0.9, 0, // dog → dog
		0.7, 0.2, 0.1, // dog → cat
		0, 0.1, 0.9, // 2 → 2
		nan, nan, nan, // 2 → none
	}
	c.AddScores(scores, []int32{0, 0, 0, 1, 1, 2, 2})
	return c
}

func TestConfusionCounts(t *testing.T) {
	c := small()
	want := []int{2, 0, 1, 1, 1, 0, 0, 0, 1}
	for k, w := range want {
		if c.Counts[k] != w {
			t.Fatalf("counts %v, want %v", c.Counts, want)
		}
	}
	if c.Names[2] != "2" || c.Unscored != 1 || c.Total() != 7 || c.Correct() != 4 {
		t.Errorf("names %q, unscored %d, total %d, correct %d", c.Names, c.Unscored, c.Total(), c.Correct())
	}
	if a := c.Accuracy(); math.Abs(a-4.0/7) > 1e-15 {
		t.Errorf("accuracy %v, want 4/7", a)
	}
	for i, w := range []float64{2.0 / 3, 0.5, 1} { // the unscored image is in no row
		if a := c.ClassAccuracy(i); math.Abs(a-w) > 1e-15 {
			t.Errorf("class %d accuracy %v, want %v", i, a, w)
		}
	}
	if class, share := c.MostPredicted(); class != 0 || math.Abs(share-3.0/7) > 1e-15 {
		t.Errorf("most predicted %d, share %v; want 0, 3/7", class, share)
	}
	if _, share := NewConfusion(2, nil).MostPredicted(); share != 0 {
		t.Errorf("most predicted share of an empty matrix %v", share)
	}
	if a := NewConfusion(2, nil).ClassAccuracy(0); !math.IsNaN(a) {
		t.Errorf("accuracy of an empty class %v, want NaN", a)
	}
}

func TestConfusionTable(t *testing.T) {
	var b strings.Builder
	if err := small().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"class     acc  n  0 1 2\n" +
		"0 cat  0.6667  3  2 0 1\n" +
		"1 dog  0.5000  2  1 1 0\n" +
		"2      1.0000  1  0 0 1\n" +
		"1 images had only NaN scores and count as wrong\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestConfusionSummary(t *testing.T) {
	const n = MaxTableClasses + 5
	c := NewConfusion(n, nil)
	for i := range n {
		c.Add(i, i)
	}
	c.Add(7, 3)
	c.Add(7, 3)
	c.Add(9, 4)
	var b strings.Builder
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for _, want := range []string{
		"lowest per-class accuracy (25 of 25 classes have images):",
		"  7                        0.3333 of 3",
		"  9                        0.5000 of 2",
		"most frequent confusions (true class -> predicted):",
		"  7 -> 3: 2",
		"  9 -> 4: 1",
	} {
		found := false
		for _, l := range lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Index(b.String(), "  7 ") > strings.Index(b.String(), "  9 ") {
		t.Errorf("class 7 (worst) not first:\n%s", b.String())
	}
}

// pngText returns the tEXt chunks of a PNG file.
func pngText(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		typ, body := string(data[p+4:p+8]), data[p+8:p+8+n]
		if typ == "tEXt" {
			k, v, _ := bytes.Cut(body, []byte{0})
			out[string(k)] = string(v)
		}
		p += 12 + n
	}
	return out
}

// readCounts parses the "Counts" text of a confusion picture.
func readCounts(t *testing.T, s string) [][]int {
	t.Helper()
	var rows [][]int
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var row []int
		for _, f := range strings.Fields(line) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

func TestConfusionPNG(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    *Confusion
	}{
		{"small", small()},
		{"fashion-like", func() *Confusion {
			c := NewConfusion(10, []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
				"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"})
			for i := range 10 {
				for j := range 10 {
					for range (i*7+j*3)%5 + 50*boolInt(i == j) {
						c.Add(i, j)
					}
				}
			}
			return c
		}()},
		{"many classes", func() *Confusion {
			c := NewConfusion(300, nil)
			for i := range 300 {
				c.Add(i, (i*i)%300)
			}
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			n := c.Classes()
			path := filepath.Join(t.TempDir(), ConfusionPNG)
			title := "net on test set: accuracy " + accText(c.Accuracy())
			if err := c.WritePNG(path, title); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The numbers read back: the same counts, summing to the total.
			text := pngText(t, raw)
			if text["Title"] != title || text["Classes"] != strings.Join(c.Names, "\n") {
				t.Errorf("text chunks %q", text)
			}
			rows := readCounts(t, text["Counts"])
			sum := 0
			for i, row := range rows {
				if len(row) != n {
					t.Fatalf("row %d has %d counts, want %d", i, len(row), n)
				}
				for j, v := range row {
					if v != c.At(i, j) {
						t.Fatalf("count (%d, %d) = %d, want %d", i, j, v, c.At(i, j))
					}
					sum += v
				}
			}
			if len(rows) != n || sum+c.Unscored != c.Total() {
				t.Errorf("%d rows summing to %d (+%d unscored), want %d rows, total %d", len(rows), sum, c.Unscored, n, c.Total())
			}
			// The picture: each cell's color gives back its share of its row.
			img := decodePNG(t, path)
			l := c.layout(title)
			if b := img.Bounds(); b.Dx() != l.width || b.Dy() != l.height || l.gridX+n*l.cell > l.width {
				t.Fatalf("picture %v, layout %+v", b, l)
			}
			for i := range n {
				total := c.RowTotal(i)
				for j := range n {
					px := rgbAt(img, l.gridX+j*l.cell, l.gridY+i*l.cell)
					if want := cellColor(c.At(i, j), total); px != [3]uint8{want.R, want.G, want.B} {
						t.Fatalf("cell (%d, %d) is %v, want %v", i, j, px, want)
					}
					share := float64(255-px[0]) / float64(255-colorBlue.R)
					if total > 0 && math.Abs(share-float64(c.At(i, j))/float64(total)) > 1.0/(255-float64(colorBlue.R)) {
						t.Fatalf("cell (%d, %d) shows share %.3f, want %d/%d", i, j, share, c.At(i, j), total)
					}
				}
			}
		})
	}
}

// TestConfusionPNGKnown checks the picture of a known 2×2 case pixel by pixel where it
// matters: a full cell is the chart blue, an empty one white, and the counts are drawn.
func TestConfusionPNGKnown(t *testing.T) {
	c := NewConfusion(2, []string{"no", "yes"})
	c.Add(0, 0)
	c.Add(0, 0)
	c.Add(0, 0)
	c.Add(0, 1)
	c.Add(1, 1)
	path := filepath.Join(t.TempDir(), ConfusionPNG)
	if err := c.WritePNG(path, "known"); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, path)
	l := c.layout("known")
	if l.cell != 48 || !l.labels || !l.counts {
		t.Fatalf("layout %+v", l)
	}
	at := func(i, j, dx, dy int) [3]uint8 { return rgbAt(img, l.gridX+j*l.cell+dx, l.gridY+i*l.cell+dy) }
	blue := [3]uint8{colorBlue.R, colorBlue.G, colorBlue.B}
	for _, tc := range []struct {
		i, j int
		want [3]uint8
	}{
		{0, 0, [3]uint8{87, 153, 199}}, // 3/4 of the row: 255 − 0.75·(255 − 31) = 87, …
		{0, 1, [3]uint8{199, 221, 236}},
		{1, 0, [3]uint8{255, 255, 255}},
		{1, 1, blue},
	} {
		if got := at(tc.i, tc.j, 2, 2); got != tc.want {
			t.Errorf("cell (%d, %d) is %v, want %v", tc.i, tc.j, got, tc.want)
		}
	}
	// The grid line right of cell (0, 0), and ink of the count "3" in its middle.
	if got := at(0, 0, l.cell-1, 2); got != [3]uint8{colorGrid.R, colorGrid.G, colorGrid.B} {
		t.Errorf("grid line %v", got)
	}
	ink := 0
	for dy := 12; dy < 36; dy++ {
		for dx := 18; dx < 30; dx++ {
			if at(0, 0, dx, dy) != at(0, 0, 2, 2) {
				ink++
			}
		}
	}
	if ink == 0 {
		t.Error("no count drawn in cell (0, 0)")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
