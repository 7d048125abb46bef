package monitor

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sameFloat reports a == b, with NaN equal to NaN.
func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func sameIters(a, b []IterRecord) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Iter != y.Iter || !sameFloat(x.Epoch, y.Epoch) || !sameFloat(x.Loss, y.Loss) || !sameFloat(x.LR, y.LR) {
			return false
		}
	}
	return true
}

func sameEpochs(a, b []EpochRecord) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Epoch != y.Epoch || !sameFloat(x.Loss, y.Loss) || !sameFloat(x.TrainAcc, y.TrainAcc) ||
			!sameFloat(x.ValAcc, y.ValAcc) || !sameFloat(x.LR, y.LR) || !sameFloat(x.ImgPerSec, y.ImgPerSec) ||
			!sameFloat(x.Seconds, y.Seconds) {
			return false
		}
	}
	return true
}

func writeRecords(t *testing.T, m *MetricsWriter, iters []IterRecord, epochs []EpochRecord) {
	t.Helper()
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
}

func TestMetricsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	iters := []IterRecord{
		{1, 0.25, 2.302585092994046, 0.01},
		{2, 0.5, float64(float32(1.9)), 0.01},
		{3, 0.75, math.NaN(), 1e-7},
		{4, 1, math.Inf(1), 0},
		{5, 1.25, math.Inf(-1), 3.5e-300},
	}
	epochs := []EpochRecord{
		{1, 2.1, 0.25, 0.2, 0.01, 1520.5, 12.25},
		{2, 1.7, 0.4, math.NaN(), 0.005, 1600, 11.75},
	}
	m, err := NewMetricsWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, m, iters, epochs)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := m.WriteIter(iters[0]); err == nil {
		t.Error("WriteIter after Close: no error")
	}
	gi, ge, err := ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !sameIters(gi, iters) {
		t.Errorf("iters:\n got %v\nwant %v", gi, iters)
	}
	if !sameEpochs(ge, epochs) {
		t.Errorf("epochs:\n got %v\nwant %v", ge, epochs)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ItersFile))
	lines := strings.Split(string(data), "\n")
	if lines[0] != ItersHeader || lines[1] != "1,0.25,2.302585092994046,0.01" || lines[3] != "3,0.75,NaN,1e-07" {
		t.Errorf("iters.csv starts %q", lines[:4])
	}
	data, _ = os.ReadFile(filepath.Join(dir, EpochsFile))
	if want := EpochsHeader + "\n1,2.1,0.25,0.2,0.01,1520.5,12.25\n2,1.7,0.4,NaN,0.005,1600,11.75\n"; string(data) != want {
		t.Errorf("epochs.csv is\n%s\nwant\n%s", data, want)
	}
}

func TestMetricsEmpty(t *testing.T) {
	dir := t.TempDir()
	m, err := NewMetricsWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	gi, ge, err := ReadMetrics(dir)
	if err != nil || len(gi) != 0 || len(ge) != 0 {
		t.Fatalf("ReadMetrics of headers only = %v, %v, %v", gi, ge, err)
	}
}

func TestMetricsFlushBeforeEpoch(t *testing.T) {
	dir := t.TempDir()
	m, err := NewMetricsWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	writeRecords(t, m, []IterRecord{{1, 0.5, 2, 0.1}}, nil)
	if gi, _, _ := ReadMetrics(dir); len(gi) != 0 {
		t.Errorf("rows on disk before Flush: %v (the writer should buffer)", gi)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	if gi, _, err := ReadMetrics(dir); err != nil || len(gi) != 1 {
		t.Errorf("after Flush: %v, %v", gi, err)
	}
	writeRecords(t, m, []IterRecord{{2, 1, 1.5, 0.1}}, []EpochRecord{{1, 1.7, 0.3, 0.3, 0.1, 100, 1}})
	if gi, ge, err := ReadMetrics(dir); err != nil || len(gi) != 2 || len(ge) != 1 {
		t.Errorf("after WriteEpoch (which flushes): %v, %v, %v", gi, ge, err)
	}
}

func TestMetricsAppend(t *testing.T) {
	dir := t.TempDir()
	m, err := NewMetricsWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := []IterRecord{{1, 0.5, 2.3, 0.1}, {2, 1, 2.0, 0.1}, {3, 1.5, 1.8, 0.1}}
	writeRecords(t, m, first, []EpochRecord{{1, 2.1, 0.3, 0.28, 0.1, 500, 2}})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// The process was killed in the middle of a row.
	f, err := os.OpenFile(filepath.Join(dir, ItersFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("4,2,1.7")
	f.Close()
	if gi, _, err := ReadMetrics(dir); err != nil || !sameIters(gi, first) {
		t.Fatalf("partial last row: ReadMetrics = %v, %v; want it ignored", gi, err)
	}

	// Resume from the checkpoint after epoch 1 (iteration 2): iteration 3 is done again.
	m, err = OpenMetricsWriter(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	second := []IterRecord{{3, 1.5, 1.75, 0.05}, {4, 2, 1.6, 0.05}}
	writeRecords(t, m, second, []EpochRecord{{2, 1.7, 0.45, 0.4, 0.05, 520, 2}})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ItersFile))
	if n := strings.Count(string(data), ItersHeader); n != 1 {
		t.Errorf("header appears %d times:\n%s", n, data)
	}
	if strings.Contains(string(data), "4,2,1.7\n") || strings.Contains(string(data), "1.73,") {
		t.Errorf("partial row not cut off:\n%s", data)
	}
	gi, ge, err := ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := append(first[:2:2], second...)
	if !sameIters(gi, want) {
		t.Errorf("iters after resume:\n got %v\nwant %v", gi, want)
	}
	if len(ge) != 2 || ge[0].Epoch != 1 || ge[1].Epoch != 2 || ge[1].TrainAcc != 0.45 {
		t.Errorf("epochs after resume: %v", ge)
	}

	// Appending to a folder without metrics creates them with their header.
	dir2 := t.TempDir()
	m, err = OpenMetricsWriter(dir2, true)
	if err != nil {
		t.Fatal(err)
	}
	writeRecords(t, m, first[:1], nil)
	m.Close()
	if gi, _, err := ReadMetrics(dir2); err != nil || !sameIters(gi, first[:1]) {
		t.Errorf("append to new folder: %v, %v", gi, err)
	}

	// Appending to a file with a foreign header is refused.
	os.WriteFile(filepath.Join(dir2, EpochsFile), []byte("a,b\n1,2\n"), 0o644)
	if _, err := OpenMetricsWriter(dir2, true); err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("append to wrong header: %v", err)
	}
}

func TestMetricsResumeEpochRepeated(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ItersFile), []byte(ItersHeader+"\n1,1,2,0.1\n2,2,1.9,0.1\n3,3,1.8,0.1\n2,2,1.85,0.1\n3,3,1.7,0.1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, EpochsFile), []byte(EpochsHeader+"\n1,2,.1,.1,.1,1,1\n2,1.9,.2,.2,.1,1,1\n3,1.8,.3,.3,.1,1,1\n2,1.85,.25,.2,.1,1,1\n3,1.7,.35,.3,.1,1,1\n"), 0o644)
	gi, ge, err := ReadMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []IterRecord{{1, 1, 2, 0.1}, {2, 2, 1.85, 0.1}, {3, 3, 1.7, 0.1}}
	if !reflect.DeepEqual(gi, want) {
		t.Errorf("iters = %v, want %v", gi, want)
	}
	if len(ge) != 3 || ge[1].TrainAcc != 0.25 || ge[2].TrainAcc != 0.35 {
		t.Errorf("epochs = %v", ge)
	}
}

func TestMetricsMalformed(t *testing.T) {
	good := map[string]string{
		ItersFile:  ItersHeader + "\n1,0.5,2.3,0.1\n",
		EpochsFile: EpochsHeader + "\n1,2.1,0.3,0.28,0.1,500,2\n",
	}
	for _, c := range []struct {
		file, content, want string
	}{
		{ItersFile, ItersHeader + "\n1,0.5,2.3,0.1\n2,1,2.1\n", "iters.csv:3: 3 fields, want 4"},
		{ItersFile, ItersHeader + "\n1,0.5,2.3,0.1\n\n2,1,abc,0.1\n", `iters.csv:4: field 3 (loss) "abc": not a number`},
		{ItersFile, ItersHeader + "\n1.5,0.5,2.3,0.1\n", `iters.csv:2: field 1 (iter) "1.5": iteration must be a positive integer`},
		{ItersFile, ItersHeader + "\n0,0.5,2.3,0.1\n", `iters.csv:2: field 1 (iter)`},
		{ItersFile, "iteration,loss\n1,2\n", `iters.csv:1: header is "iteration,loss"`},
		{ItersFile, "", "iters.csv: empty file"},
		{EpochsFile, EpochsHeader + "\n1,2.1,0.3,0.28,0.1,500,2,7\n", "epochs.csv:2: 8 fields, want 7"},
		{EpochsFile, EpochsHeader + "\n1,2.1,0.3,x,0.1,500,2\n", `epochs.csv:2: field 4 (val_acc) "x": not a number`},
		{EpochsFile, EpochsHeader + "\nfirst,2.1,0.3,0.3,0.1,500,2\n", `epochs.csv:2: field 1 (epoch)`},
	} {
		dir := t.TempDir()
		for name, content := range good {
			if name == c.file {
				content = c.content
			}
			os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
		}
		_, _, err := ReadMetrics(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %q: error %v, want it to contain %q", c.file, c.content, err, c.want)
		}
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ItersFile), []byte(good[ItersFile]), 0o644)
	if _, _, err := ReadMetrics(dir); err == nil || !strings.Contains(err.Error(), EpochsFile) {
		t.Errorf("missing epochs.csv: %v", err)
	}
	// Windows line ends and blanks are tolerated.
	os.WriteFile(filepath.Join(dir, EpochsFile), []byte(EpochsHeader+"\r\n1, 2.1, 0.3, 0.28, 0.1, 500, 2\r\n"), 0o644)
	if _, ge, err := ReadMetrics(dir); err != nil || len(ge) != 1 || ge[0].ValAcc != 0.28 {
		t.Errorf("CRLF file: %v, %v", ge, err)
	}
}

func TestWriteIterDoesNotAllocate(t *testing.T) {
	m, err := NewMetricsWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		m.WriteIter(IterRecord{Iter: i, Epoch: float64(i) / 390, Loss: 2.3 / float64(i), LR: 0.01})
	})
	if allocs != 0 {
		t.Errorf("WriteIter allocates %v times per call", allocs)
	}
}
