package monitor

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressNotTerminalIsQuiet(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 1, 10, 390)
	if p.Interval != DefaultPlainInterval {
		t.Errorf("Interval = %v, want %v", p.Interval, DefaultPlainInterval)
	}
	for i := 1; i <= 390; i++ {
		p.Update(i, 2.3/float64(i), 1500)
	}
	p.Finish()
	p.Update(1, 1, 1)
	p.Finish()
	if buf.Len() != 0 {
		t.Errorf("a fast epoch wrote %q to a non-terminal", buf.String())
	}
	var nilp *Progress
	nilp.Update(1, 1, 1)
	nilp.Finish()
}

func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := newProgress(&buf, 3, 10, 100, false, clk.now, refreshInterval)
	p.Interval = 30 * time.Second
	for i := 1; i <= 100; i++ {
		clk.t = clk.t.Add(time.Second) // a slow epoch: 1 s per iteration
		p.Update(i, 1.5, 64)
	}
	p.Finish()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		"epoch 3/10 iter 30/100 loss 1.5000 64 img/s",
		"epoch 3/10 iter 60/100 loss 1.5000 64 img/s",
		"epoch 3/10 iter 90/100 loss 1.5000 64 img/s",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("plain lines:\n%s\nwant\n%s", buf.String(), strings.Join(want, "\n"))
	}

	buf.Reset()
	p = newProgress(&buf, 1, 1, 10, false, clk.now, refreshInterval)
	p.Interval = 0
	for i := 1; i <= 10; i++ {
		clk.t = clk.t.Add(time.Hour)
		p.Update(i, 1, 1)
	}
	if buf.Len() != 0 {
		t.Errorf("Interval 0 wrote %q", buf.String())
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Now()}
	p := newProgress(&buf, 2, 5, 50, true, clk.now, 0)
	for i := 1; i <= 25; i++ {
		clk.t = clk.t.Add(200 * time.Millisecond)
		p.Update(i, 0.8765, 1234)
	}
	out := buf.String()
	for _, s := range []string{"epoch 2/5 loss 0.8765 1234 img/s", "(25/50"} {
		if !strings.Contains(out, s) {
			t.Errorf("bar output lacks %q:\n%q", s, out)
		}
	}
	for i := 26; i <= 50; i++ {
		p.Update(i, 0.8, 1234)
	}
	p.Finish()
	if !strings.HasSuffix(buf.String(), "\r") {
		t.Errorf("bar not cleared at the end: %q", buf.String()[max(0, buf.Len()-80):])
	}
}

func TestProgressUpdateAllocations(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, 1, 1, 1<<30, false, time.Now, refreshInterval)
	i := 0
	if a := testing.AllocsPerRun(1000, func() { i++; p.Update(i, 1.5, 100) }); a != 0 {
		t.Errorf("Update (not a terminal) allocates %v times per call", a)
	}
}

func TestProgressTerminalUpdateAllocations(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, 1, 1, 1<<30, true, time.Now, time.Hour)
	p.Update(1, 1.5, 100)
	i := 1
	if a := testing.AllocsPerRun(1000, func() { i++; p.Update(i, 1.5, 100) }); a > 0 {
		t.Errorf("Update between redraws (terminal) allocates %v times per call", a)
	}
}
