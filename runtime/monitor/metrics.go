package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File names of the metrics inside a run folder.
const (
	// ItersFile holds one IterRecord per training iteration.
	ItersFile = "iters.csv"
	// EpochsFile holds one EpochRecord per epoch.
	EpochsFile = "epochs.csv"
)

// Header lines of the two metrics files (without the trailing newline).
const (
	// ItersHeader is the first line of iters.csv.
	ItersHeader = "iter,epoch,loss,lr"
	// EpochsHeader is the first line of epochs.csv.
	EpochsHeader = "epoch,loss,train_acc,val_acc,lr,img_per_s,seconds"
)

// IterRecord is one row of iters.csv: the state after one training iteration.
type IterRecord struct {
	// Iter is the 1-based number of the iteration over the whole run.
	Iter int
	// Epoch is the fractional epoch at the end of the iteration: 1.25 is a quarter of the
	// way through the second epoch, 2 is the end of the second one.
	Epoch float64
	// Loss is the mini-batch's loss (data loss plus regularization, as the training loop
	// reports it). NaN and ±Inf are stored as written and skipped by the plots.
	Loss float64
	// LR is the base learning rate used for the iteration's update.
	LR float64
}

// EpochRecord is one row of epochs.csv: the summary of one finished epoch.
type EpochRecord struct {
	// Epoch is the 1-based number of the epoch.
	Epoch int
	// Loss is the mean training loss over the epoch.
	Loss float64
	// TrainAcc and ValAcc are accuracies as fractions in [0, 1]. NaN means "not measured"
	// (no validation set, say) and is left out of the accuracy chart.
	TrainAcc, ValAcc float64
	// LR is the base learning rate at the end of the epoch.
	LR float64
	// ImgPerSec is the training throughput over the epoch, in images per second.
	ImgPerSec float64
	// Seconds is the epoch's wall-clock duration.
	Seconds float64
}

// MetricsWriter appends IterRecords to iters.csv and EpochRecords to epochs.csv in a run
// folder. Writes are buffered: WriteEpoch flushes both files, so that after each epoch
// the files on disk are complete and `netc plot` can read them while training goes on;
// call Flush to force the iteration rows out earlier and Close at the end of the run.
// Numbers are written in Go's shortest exact form ('g', -1), so reading gives back the
// same float64 values. A MetricsWriter is not safe for concurrent use.
type MetricsWriter struct {
	iters, epochs   *os.File
	itersW, epochsW *bufio.Writer
	buf             []byte
	closed          bool
}

// NewMetricsWriter creates (or truncates) iters.csv and epochs.csv in dir, which must
// exist, and writes their header lines. It is OpenMetricsWriter(dir, false).
func NewMetricsWriter(dir string) (*MetricsWriter, error) {
	return OpenMetricsWriter(dir, false)
}

// OpenMetricsWriter opens the metrics files of the run folder dir. With appendMode false
// it creates or truncates them and writes the headers. With appendMode true (resuming a
// run) it appends to existing files without repeating the header; a file that does not
// exist or is empty is created with its header, a file whose first line is not the
// expected header is an error, and a trailing partial row (the process was killed in the
// middle of a write) is cut off before appending. Rows that a resumed run writes again
// (iterations after the last checkpoint) are sorted out by ReadMetrics: later rows win.
func OpenMetricsWriter(dir string, appendMode bool) (*MetricsWriter, error) {
	iters, err := openMetricsFile(filepath.Join(dir, ItersFile), ItersHeader, appendMode)
	if err != nil {
		return nil, err
	}
	epochs, err := openMetricsFile(filepath.Join(dir, EpochsFile), EpochsHeader, appendMode)
	if err != nil {
		iters.Close()
		return nil, err
	}
	return &MetricsWriter{
		iters:   iters,
		epochs:  epochs,
		itersW:  bufio.NewWriterSize(iters, 64<<10),
		epochsW: bufio.NewWriterSize(epochs, 4<<10),
		buf:     make([]byte, 0, 128),
	}, nil
}

// openMetricsFile opens one metrics file for writing at its end, with its header in
// place.
func openMetricsFile(path, header string, appendMode bool) (*os.File, error) {
	if !appendMode {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		if _, err := f.WriteString(header + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("monitor: %s: %w", path, err)
		}
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		return nil, fmt.Errorf("monitor: %s: %w", path, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail(err)
	}
	if len(data) == 0 {
		if _, err := f.WriteString(header + "\n"); err != nil {
			return fail(err)
		}
		return f, nil
	}
	first, _, _ := bytes.Cut(data, []byte{'\n'})
	if got := strings.TrimRight(string(first), "\r \t"); got != header {
		return fail(fmt.Errorf("line 1: header is %q, want %q", got, header))
	}
	// Cut off a partial last row so the next row starts on a line of its own.
	end := int64(bytes.LastIndexByte(data, '\n') + 1)
	if end != int64(len(data)) {
		if err := f.Truncate(end); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		return fail(err)
	}
	return f, nil
}

// WriteIter appends one row to iters.csv. It does not allocate.
func (m *MetricsWriter) WriteIter(r IterRecord) error {
	if m.closed {
		return errClosed
	}
	b := m.buf[:0]
	b = strconv.AppendInt(b, int64(r.Iter), 10)
	b = appendFloat(b, r.Epoch)
	b = appendFloat(b, r.Loss)
	b = appendFloat(b, r.LR)
	b = append(b, '\n')
	m.buf = b
	if _, err := m.itersW.Write(b); err != nil {
		return fmt.Errorf("monitor: %s: %w", m.iters.Name(), err)
	}
	return nil
}

// WriteEpoch appends one row to epochs.csv and flushes both files.
func (m *MetricsWriter) WriteEpoch(r EpochRecord) error {
	if m.closed {
		return errClosed
	}
	b := m.buf[:0]
	b = strconv.AppendInt(b, int64(r.Epoch), 10)
	b = appendFloat(b, r.Loss)
	b = appendFloat(b, r.TrainAcc)
	b = appendFloat(b, r.ValAcc)
	b = appendFloat(b, r.LR)
	b = appendFloat(b, r.ImgPerSec)
	b = appendFloat(b, r.Seconds)
	b = append(b, '\n')
	m.buf = b
	if _, err := m.epochsW.Write(b); err != nil {
		return fmt.Errorf("monitor: %s: %w", m.epochs.Name(), err)
	}
	return m.Flush()
}

// Flush writes the buffered rows of both files to disk (to the operating system; it does
// not fsync).
func (m *MetricsWriter) Flush() error {
	if m.closed {
		return errClosed
	}
	if err := m.itersW.Flush(); err != nil {
		return fmt.Errorf("monitor: %s: %w", m.iters.Name(), err)
	}
	if err := m.epochsW.Flush(); err != nil {
		return fmt.Errorf("monitor: %s: %w", m.epochs.Name(), err)
	}
	return nil
}

// Close flushes and closes both files. Closing twice returns nil the second time.
func (m *MetricsWriter) Close() error {
	if m.closed {
		return nil
	}
	err := m.Flush()
	m.closed = true
	if e := m.iters.Close(); err == nil && e != nil {
		err = fmt.Errorf("monitor: %w", e)
	}
	if e := m.epochs.Close(); err == nil && e != nil {
		err = fmt.Errorf("monitor: %w", e)
	}
	return err
}

var errClosed = errors.New("monitor: MetricsWriter is closed")

// appendFloat appends a comma and v in shortest exact form ("NaN", "+Inf" and "-Inf"
// for the special values, which strconv.ParseFloat reads back).
func appendFloat(b []byte, v float64) []byte {
	b = append(b, ',')
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// ReadMetrics reads iters.csv and epochs.csv from the run folder dir. Both files must
// exist and start with their header; they may have no rows (a run that has not finished
// an iteration or an epoch yet), in which case the corresponding slice is empty. A row
// with the wrong number of fields or a field that is not a number is an error naming the
// file and line. A last line without its newline is a row the process was writing when it
// stopped and is ignored. When iteration (or epoch) numbers go back — a run resumed from a
// checkpoint older than its last rows — the later rows replace the earlier ones from that
// number on, so the result is always strictly increasing in Iter (and Epoch).
func ReadMetrics(dir string) ([]IterRecord, []EpochRecord, error) {
	var iters []IterRecord
	path := filepath.Join(dir, ItersFile)
	err := readCSV(path, ItersHeader, 4, func(f []string, fail func(int, string) error) error {
		var r IterRecord
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return fail(0, "iteration must be a positive integer")
		}
		r.Iter = n
		if r.Epoch, err = parseField(f[1]); err != nil {
			return fail(1, "not a number")
		}
		if r.Loss, err = parseField(f[2]); err != nil {
			return fail(2, "not a number")
		}
		if r.LR, err = parseField(f[3]); err != nil {
			return fail(3, "not a number")
		}
		if k := len(iters); k > 0 && iters[k-1].Iter >= r.Iter {
			iters = iters[:cutIters(iters, r.Iter)]
		}
		iters = append(iters, r)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var epochs []EpochRecord
	path = filepath.Join(dir, EpochsFile)
	err = readCSV(path, EpochsHeader, 7, func(f []string, fail func(int, string) error) error {
		var r EpochRecord
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return fail(0, "epoch must be a positive integer")
		}
		r.Epoch = n
		dst := [...]*float64{&r.Loss, &r.TrainAcc, &r.ValAcc, &r.LR, &r.ImgPerSec, &r.Seconds}
		for i, p := range dst {
			if *p, err = parseField(f[i+1]); err != nil {
				return fail(i+1, "not a number")
			}
		}
		for len(epochs) > 0 && epochs[len(epochs)-1].Epoch >= r.Epoch {
			epochs = epochs[:len(epochs)-1]
		}
		epochs = append(epochs, r)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return iters, epochs, nil
}

// cutIters returns the number of leading records of the sorted iters with Iter < iter.
func cutIters(iters []IterRecord, iter int) int {
	lo, hi := 0, len(iters)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if iters[mid].Iter < iter {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// parseField parses one numeric field, allowing surrounding blanks.
func parseField(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}

// readCSV reads a metrics file: header check, then row(fields, fail) for each non-blank
// line. fail(i, msg) builds the error for field i of the current line.
func readCSV(path, header string, nfields int, row func(f []string, fail func(int, string) error) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if len(data) == 0 {
		return fmt.Errorf("monitor: %s: empty file (no header %q)", path, header)
	}
	// Drop a trailing partial row: every row the writer produces ends with '\n'.
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	} else if string(bytes.TrimRight(data, "\r \t")) != header {
		return fmt.Errorf("monitor: %s:1: header is %q, want %q", path, data, header)
	}
	names := strings.Split(header, ",")
	fields := make([]string, 0, nfields)
	line := 0
	for len(data) > 0 {
		var l []byte
		l, data, _ = bytes.Cut(data, []byte{'\n'})
		line++
		s := strings.TrimRight(string(l), "\r \t")
		if line == 1 {
			if s != header {
				return fmt.Errorf("monitor: %s:1: header is %q, want %q", path, s, header)
			}
			continue
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		fields = fields[:0]
		for f := range strings.SplitSeq(s, ",") {
			fields = append(fields, f)
		}
		if len(fields) != nfields {
			return fmt.Errorf("monitor: %s:%d: %d fields, want %d (%s): %q", path, line, len(fields), nfields, header, s)
		}
		fail := func(i int, msg string) error {
			return fmt.Errorf("monitor: %s:%d: field %d (%s) %q: %s", path, line, i+1, names[i], fields[i], msg)
		}
		if err := row(fields, fail); err != nil {
			return err
		}
	}
	return nil
}
