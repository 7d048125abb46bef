package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/netc-dev/netc/internal/limits"
)

// File is a validated safetensors file held in memory.
type File struct {
	path     string
	data     []byte // the data section
	tensors  map[string]entry
	names    []string // sorted
	metadata map[string]string
}

type entry struct {
	dtype      string
	shape      []int
	begin, end uint64
}

// Read parses and validates a whole safetensors file held in data. The tensors of the
// returned File share data's memory: data must not be modified while they are in use.
func Read(data []byte) (*File, error) {
	return read("", data)
}

// ReadFile reads, parses and validates the safetensors file at path. Errors name the path.
// The path must name a regular file: a directory, device or named pipe is refused (with an
// error matching limits.ErrNotRegular) before anything is read, so that a pipe cannot hang
// the reader.
func ReadFile(path string) (*File, error) {
	f, err := limits.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readAt(path, f, st.Size())
}

// ReadAt parses and validates a safetensors file of size bytes read from r. The header is
// validated before the data section is read, so a corrupt header never causes a large
// allocation; the data section is then read into memory whole.
func ReadAt(r io.ReaderAt, size int64) (*File, error) {
	return readAt("", r, size)
}

func read(path string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, newErr(path, "", ErrShortFile, "file has %d bytes", len(data))
	}
	n, err := headerLen(path, binary.LittleEndian.Uint64(data), uint64(len(data)))
	if err != nil {
		return nil, err
	}
	f, err := parseHeader(path, data[8:8+n], uint64(len(data))-8-n)
	if err != nil {
		return nil, err
	}
	f.data = data[8+n:]
	return f, nil
}

func readAt(path string, r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, newErr(path, "", ErrShortFile, "file has %d bytes", max(size, 0))
	}
	var lenBuf [8]byte
	if err := readFull(path, r, lenBuf[:], 0); err != nil {
		return nil, err
	}
	n, err := headerLen(path, binary.LittleEndian.Uint64(lenBuf[:]), uint64(size))
	if err != nil {
		return nil, err
	}
	header := make([]byte, n)
	if err := readFull(path, r, header, 8); err != nil {
		return nil, err
	}
	dataLen := uint64(size) - 8 - n
	f, err := parseHeader(path, header, dataLen)
	if err != nil {
		return nil, err
	}
	if dataLen > math.MaxInt {
		return nil, newErr(path, "", ErrTruncated, "data section of %d bytes does not fit in memory", dataLen)
	}
	f.data = make([]byte, dataLen)
	if err := readFull(path, r, f.data, int64(8+n)); err != nil {
		return nil, err
	}
	return f, nil
}

func readFull(path string, r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) { // io.ReaderAt may report io.EOF along with the last byte
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newErr(path, "", ErrTruncated, "only %d of %d bytes at offset %d could be read", n, len(buf), off)
	}
	return &Error{File: path, Kind: err, Detail: fmt.Sprintf("reading %d bytes at offset %d", len(buf), off)}
}

// headerLen checks the header length n against the limit and against the file size.
func headerLen(path string, n, fileSize uint64) (uint64, error) {
	if n > MaxHeaderSize {
		return 0, newErr(path, "", ErrHeaderTooLarge, "header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > fileSize-8 {
		return 0, newErr(path, "", ErrTruncated, "header length %d exceeds the %d bytes that follow it", n, fileSize-8)
	}
	return n, nil
}

// parseHeader parses and validates the header against a data section of dataLen bytes.
func parseHeader(path string, header []byte, dataLen uint64) (*File, error) {
	if !utf8.Valid(header) {
		return nil, newErr(path, "", ErrInvalidHeader, "header is not valid UTF-8")
	}
	f := &File{path: path, tensors: map[string]entry{}, metadata: map[string]string{}}
	err := walkObject(header, func(name string, raw json.RawMessage) *Error {
		if name == MetadataKey {
			if string(bytes.TrimSpace(raw)) == "null" { // as the reference reader allows
				return nil
			}
			err := walkObject(raw, func(k string, v json.RawMessage) *Error {
				s, err := jsonString(v)
				if err != nil {
					err.Detail = fmt.Sprintf("%s value of %q: %s", MetadataKey, k, err.Detail)
					return err
				}
				f.metadata[k] = s
				return nil
			}, MetadataKey+" key")
			if err != nil && err.Kind == ErrInvalidHeader && !strings.HasPrefix(err.Detail, MetadataKey) {
				err.Detail = MetadataKey + ": " + err.Detail
			}
			return err
		}
		e, err := parseEntry(raw)
		if err != nil {
			err.Tensor = name
			return err
		}
		f.tensors[name] = e
		f.names = append(f.names, name)
		return nil
	}, "tensor name")
	if err != nil {
		err.File = path
		return nil, err
	}
	sort.Strings(f.names)

	// The tensors must tile [0, dataLen) exactly: sorted by offsets, each begins where the
	// previous one ended. Empty tensors may sit anywhere on a boundary.
	order := slices.Clone(f.names)
	sort.SliceStable(order, func(i, j int) bool {
		a, b := f.tensors[order[i]], f.tensors[order[j]]
		return a.begin < b.begin || (a.begin == b.begin && a.end < b.end)
	})
	var pos uint64
	prev := ""
	for _, name := range order {
		e := f.tensors[name]
		switch {
		case e.end > dataLen: // e.begin <= e.end was checked by parseEntry
			return nil, newErr(path, name, ErrTruncated,
				"data_offsets [%d, %d] extend past the %d-byte data section", e.begin, e.end, dataLen)
		case e.begin < pos:
			return nil, newErr(path, name, ErrInvalidOffsets,
				"data_offsets [%d, %d] overlap tensor %q, which ends at %d", e.begin, e.end, prev, pos)
		case e.begin > pos:
			return nil, newErr(path, name, ErrInvalidOffsets,
				"data_offsets [%d, %d] leave bytes [%d, %d) of the data section unused", e.begin, e.end, pos, e.begin)
		}
		pos, prev = e.end, name
	}
	if pos != dataLen {
		return nil, newErr(path, "", ErrInvalidOffsets,
			"bytes [%d, %d) at the end of the data section belong to no tensor", pos, dataLen)
	}
	return f, nil
}

// parseEntry parses {"dtype": ..., "shape": [...], "data_offsets": [b, e]} and checks it
// on its own: known dtype, valid shape, b ≤ e, and a size that matches the shape.
func parseEntry(raw json.RawMessage) (entry, *Error) {
	var e entry
	var have [3]bool
	err := walkObject(raw, func(k string, v json.RawMessage) *Error {
		switch k {
		case "dtype":
			s, err := jsonString(v)
			if err != nil {
				err.Detail = "dtype: " + err.Detail
				return err
			}
			e.dtype, have[0] = s, true
		case "shape":
			nums, err := jsonNumbers(v)
			if err != nil {
				err.Detail = "shape: " + err.Detail
				return err
			}
			e.shape = make([]int, len(nums))
			for i, s := range nums {
				d, perr := strconv.ParseInt(s, 10, 64)
				switch {
				case perr != nil && strings.HasPrefix(s, "-"):
					return &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf("dimension %s is negative", s)}
				case perr != nil || d > math.MaxInt:
					return &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf("dimension %s is not an integer that fits in an int", s)}
				case d < 0:
					return &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf("dimension %s is negative", s)}
				}
				e.shape[i] = int(d)
			}
			have[1] = true
		case "data_offsets":
			nums, err := jsonNumbers(v)
			if err != nil {
				err.Kind = ErrInvalidOffsets
				err.Detail = "data_offsets: " + err.Detail
				return err
			}
			if len(nums) != 2 {
				return &Error{Kind: ErrInvalidOffsets, Detail: fmt.Sprintf("data_offsets has %d numbers, want 2", len(nums))}
			}
			var off [2]uint64
			for i, s := range nums {
				u, perr := strconv.ParseUint(s, 10, 64)
				if perr != nil {
					return &Error{Kind: ErrInvalidOffsets, Detail: fmt.Sprintf("data_offsets value %s is not an integer in [0, 2^64)", s)}
				}
				off[i] = u
			}
			e.begin, e.end = off[0], off[1]
			have[2] = true
		default:
			return &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("unknown field %q (want dtype, shape, data_offsets)", k)}
		}
		return nil
	}, "field")
	if err != nil {
		return e, err
	}
	for i, name := range [3]string{"dtype", "shape", "data_offsets"} {
		if !have[i] {
			return e, &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("missing field %q", name)}
		}
	}
	size, serr := dataSize(e.dtype, e.shape)
	if serr != nil {
		return e, serr
	}
	if e.begin > e.end {
		return e, &Error{Kind: ErrInvalidOffsets, Detail: fmt.Sprintf("data_offsets [%d, %d] end before they begin", e.begin, e.end)}
	}
	if got := e.end - e.begin; got != size {
		return e, &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf(
			"shape %v of %s needs %d bytes, but data_offsets [%d, %d] hold %d", e.shape, e.dtype, size, e.begin, e.end, got)}
	}
	return e, nil
}

// walkObject calls fn for every member of the JSON object raw, in order, and rejects
// anything else: not an object, a repeated key (what is a key is named by what), trailing
// data. Keys are compared after unescaping, so "a" and "\u0061" are duplicates.
func walkObject(raw []byte, fn func(key string, value json.RawMessage) *Error, what string) *Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("want a JSON object, found %s", describe(tok))}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("want an object key, found %s", describe(tok))}
		}
		if seen[key] {
			return &Error{Kind: ErrDuplicateName, Detail: fmt.Sprintf("%s %q appears twice", what, key)}
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return jsonErr(err)
		}
		if e := fn(key, v); e != nil {
			return e
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return jsonErr(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonErr(err)
		}
		return &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("unexpected %s after the JSON object", describe(tok))}
	}
	return nil
}

// jsonString decodes a JSON string (and nothing else, not even null).
func jsonString(raw json.RawMessage) (string, *Error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) == 0 || raw[0] != '"' {
		return "", &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("want a string, found %s", clip(raw))}
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", jsonErr(err)
	}
	return s, nil
}

// jsonNumbers decodes a JSON array of numbers into their literal spellings.
func jsonNumbers(raw json.RawMessage) ([]string, *Error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("want an array of integers, found %s", describe(tok))}
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		n, ok := tok.(json.Number)
		if !ok {
			return nil, &Error{Kind: ErrInvalidHeader, Detail: fmt.Sprintf("want an integer, found %s", describe(tok))}
		}
		out = append(out, n.String())
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, jsonErr(err)
	}
	return out, nil
}

func jsonErr(err error) *Error {
	if err == io.EOF {
		return &Error{Kind: ErrInvalidHeader, Detail: "unexpected end of JSON"}
	}
	return &Error{Kind: ErrInvalidHeader, Detail: "bad JSON: " + err.Error()}
}

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return strconv.Quote(t.String())
	case string:
		return "string " + strconv.Quote(clip([]byte(t)))
	case json.Number:
		return "number " + t.String()
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// clip shortens b for an error message.
func clip(b []byte) string {
	const n = 40
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

// Names returns the names of the file's tensors, sorted.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Metadata returns a copy of the file's __metadata__ map (empty if it has none).
func (f *File) Metadata() map[string]string { return maps.Clone(f.metadata) }

// Tensor returns the named tensor and true, or false if the file has no such tensor. The
// returned Data shares the file's memory and must not be modified.
func (f *File) Tensor(name string) (Tensor, bool) {
	e, ok := f.tensors[name]
	if !ok {
		return Tensor{}, false
	}
	return Tensor{Name: name, DType: e.dtype, Shape: slices.Clone(e.shape), Data: f.data[e.begin:e.end:e.end]}, true
}

// Tensors returns every tensor of the file, sorted by name, as Tensor would.
func (f *File) Tensors() []Tensor {
	out := make([]Tensor, len(f.names))
	for i, name := range f.names {
		out[i], _ = f.Tensor(name)
	}
	return out
}

// Float32 returns the named tensor converted to float32: F32 as is, F16, BF16 and F64
// (as written by other programs) converted. It checks the tensor's shape against
// wantShape, where a negative dimension matches any size; a nil wantShape skips the check
// (an empty, non-nil one asks for a scalar). A missing tensor gives ErrNotFound, another
// dtype ErrWrongDType, another shape ErrWrongShape.
func (f *File) Float32(name string, wantShape []int) ([]float32, error) {
	e, ok := f.tensors[name]
	if !ok {
		return nil, newErr(f.path, name, ErrNotFound, "the file has %d tensors: %s", len(f.names), listNames(f.names))
	}
	if wantShape != nil && !shapeMatches(e.shape, wantShape) {
		return nil, newErr(f.path, name, ErrWrongShape, "has shape %v, want %v", e.shape, wantShape)
	}
	b := f.data[e.begin:e.end]
	switch e.dtype {
	case "F32":
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case "F16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	case "BF16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out, nil
	case "F64":
		out := make([]float32, len(b)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
		return out, nil
	}
	return nil, newErr(f.path, name, ErrWrongDType, "has dtype %s, want F32, F16, BF16 or F64", e.dtype)
}

// FiniteFloat32 is Float32 for values that must be numbers, such as weights: a tensor
// holding NaN or ±Inf gives ErrNotFinite, naming the first such value.
func (f *File) FiniteFloat32(name string, wantShape []int) ([]float32, error) {
	v, err := f.Float32(name, wantShape)
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, newErr(f.path, name, ErrNotFinite,
				"value %d of %d is %v (saved from a run that diverged?)", i, len(v), x)
		}
	}
	return v, nil
}

func shapeMatches(got, want []int) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if w >= 0 && got[i] != w {
			return false
		}
	}
	return true
}

// listNames lists names for an error message, at most 10 of them.
func listNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	const n = 10
	q := make([]string, 0, n+1)
	for i, s := range names {
		if i == n {
			q = append(q, fmt.Sprintf("... (%d more)", len(names)-n))
			break
		}
		q = append(q, strconv.Quote(s))
	}
	return strings.Join(q, ", ")
}

// f16ToF32 converts an IEEE 754 binary16 value to float32, exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // infinity or NaN (the payload is kept)
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant × 2^-24
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
