package monitor

import (
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// DefaultPlainInterval is the Interval NewProgress gives a Progress that does not write
// to a terminal: one plain line per minute at most, so that a long epoch in CI or behind
// a pipe still shows signs of life while a short one prints nothing.
const DefaultPlainInterval = time.Minute

// refreshInterval is how often the terminal bar is redrawn and its text rebuilt.
const refreshInterval = 150 * time.Millisecond

// Progress shows the progress of one training epoch. Make one per epoch with
// NewProgress, call Update after every iteration and Finish at the end of the epoch.
//
// When the writer is a terminal (an *os.File for which golang.org/x/term.IsTerminal is
// true) Progress draws a progress bar on one line, redrawn at most every 150 ms:
//
//	epoch 3/10 loss 1.2345 1520 img/s  42% |████████████                  | (164/390) [3s:4s]
//
// with the iterations done and to do, the running loss and throughput passed to Update,
// and the elapsed and estimated remaining time of the epoch. Finish clears the bar, so
// the line the training loop prints at the end of each epoch takes its place.
//
// Otherwise (a file, a pipe, a buffer) Progress prints nothing per iteration: the
// training loop prints its own line per epoch. The one exception is a slow epoch: when
// Interval is positive and at least Interval has passed since the epoch began (or since
// the last such line), Update prints one plain line
//
//	epoch 3/10 iter 164/390 loss 1.2345 1520 img/s
//
// Interval is DefaultPlainInterval after NewProgress; set it to 0 for complete silence.
// Finish prints nothing in this mode.
//
// Update does not allocate except when it redraws (terminal) or prints (plain line); it
// reads the clock once per call. A nil *Progress is valid and does nothing. A Progress
// is not safe for concurrent use.
type Progress struct {
	// Interval is the minimum time between plain lines when not writing to a terminal;
	// 0 or negative disables them. It has no effect on a terminal.
	Interval time.Duration

	w                    io.Writer
	epoch, epochs, iters int
	bar                  *progressbar.ProgressBar
	start, last          time.Time
	now                  func() time.Time
	refresh              time.Duration
	buf                  []byte
	finished             bool
}

// NewProgress starts the progress display of epoch (1-based) out of epochs, which has
// iters iterations, writing to w. See Progress for what is shown where.
func NewProgress(w io.Writer, epoch, epochs, iters int) *Progress {
	return newProgress(w, epoch, epochs, iters, isTerminal(w), time.Now, refreshInterval)
}

// isTerminal reports whether w is an *os.File attached to a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}

// newProgress is NewProgress with the terminal test, the clock and the refresh interval
// of the bar given, for tests.
func newProgress(w io.Writer, epoch, epochs, iters int, tty bool, now func() time.Time, refresh time.Duration) *Progress {
	if iters < 1 {
		iters = 1
	}
	p := &Progress{
		Interval: DefaultPlainInterval,
		w:        w,
		epoch:    epoch,
		epochs:   epochs,
		iters:    iters,
		now:      now,
		refresh:  refresh,
		buf:      make([]byte, 0, 96),
	}
	p.start = now()
	p.last = p.start
	if tty {
		p.bar = progressbar.NewOptions(iters,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(p.describe(0, math.NaN(), 0, false)),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(refresh),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionEnableColorCodes(false),
		)
	}
	return p
}

// Update records that iteration iter (1-based within the epoch) is done, with the running
// loss and the throughput in images per second so far.
func (p *Progress) Update(iter int, runningLoss float64, imgPerSec float64) {
	if p == nil || p.finished {
		return
	}
	iter = min(max(iter, 0), p.iters)
	t := p.now()
	if p.bar != nil {
		// Rebuild the text only when the bar may redraw; the bar throttles itself too,
		// but always draws when it reaches the end, which Finish then clears.
		if t.Sub(p.last) >= p.refresh {
			p.last = t
			p.bar.Describe(p.describe(iter, runningLoss, imgPerSec, false))
		}
		_ = p.bar.Set(iter)
		return
	}
	if p.Interval > 0 && t.Sub(p.last) >= p.Interval {
		p.last = t
		_, _ = io.WriteString(p.w, p.describe(iter, runningLoss, imgPerSec, true))
	}
}

// Finish ends the epoch's display: on a terminal it clears the bar's line; otherwise it
// does nothing. Update after Finish is ignored; calling Finish twice is harmless.
func (p *Progress) Finish() {
	if p == nil || p.finished {
		return
	}
	p.finished = true
	if p.bar != nil {
		_ = p.bar.Finish()
		// Finish leaves the cursor at the start of the cleared line, which is where
		// the training loop's epoch line goes.
	}
}

// describe formats "epoch E/N [iter I/T] loss L R img/s" in p.buf and returns it as a
// string (the one allocation of a redraw).
func (p *Progress) describe(iter int, loss, imgPerSec float64, plain bool) string {
	b := p.buf[:0]
	b = append(b, "epoch "...)
	b = strconv.AppendInt(b, int64(p.epoch), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(p.epochs), 10)
	if plain {
		b = append(b, " iter "...)
		b = strconv.AppendInt(b, int64(iter), 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(p.iters), 10)
	}
	b = append(b, " loss "...)
	if loss != loss {
		b = append(b, "-"...)
	} else {
		b = strconv.AppendFloat(b, loss, 'f', 4, 64)
	}
	b = append(b, ' ')
	b = strconv.AppendFloat(b, imgPerSec, 'f', 0, 64)
	b = append(b, " img/s"...)
	if plain {
		b = append(b, '\n')
	}
	p.buf = b
	return string(b)
}
