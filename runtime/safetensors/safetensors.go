// Package safetensors reads and writes the safetensors format of Hugging Face, the format
// in which PyTorch and most model hubs exchange weights.
//
// A safetensors file is, in order:
//
//   - 8 bytes: N, a little-endian uint64, the length of the header;
//   - N bytes: the header, a UTF-8 JSON object that maps each tensor name to
//     {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, plus an optional
//     "__metadata__" object of string → string; it may end with spaces (writers pad the
//     header so that the data starts at a multiple of 8 bytes);
//   - the data section: the bytes of every tensor, little-endian and row-major (C order),
//     where tensor t occupies bytes [BEGIN, END) counted from the start of the data section.
//
// Reading validates the whole file before any tensor is handed out, as the reference
// implementation does: the header is at most MaxHeaderSize bytes of valid UTF-8 JSON
// without duplicate names; every dtype is known; every shape has non-negative dimensions
// whose element count × dtype size equals END − BEGIN (computed without overflow); and the
// tensors tile the data section exactly, without overlaps, holes or bytes left over. Every
// such failure, and every bad request (a missing tensor, a wrong dtype or shape), is an
// *Error that names the file and the tensor and matches, with errors.Is, one of the Err*
// kinds below; errors of the file system are returned as the os package gives them. No
// input makes this package panic (FuzzRead checks it).
//
// Writing is deterministic: tensors are laid out in name order, the header is compact JSON
// (metadata first, keys sorted) padded with spaces to a multiple of 8 bytes, so the same
// tensors always give the same bytes. WriteFile replaces its file atomically.
package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// MaxHeaderSize is the largest header, in bytes, that Read accepts: 100 MB, the limit of
// the reference implementation, which keeps a corrupt length from allocating gigabytes.
const MaxHeaderSize = 100_000_000

// MetadataKey is the reserved header key under which the file's string → string metadata
// is stored; no tensor may have this name.
const MetadataKey = "__metadata__"

// Tensor is one named tensor: its dtype as spelled in the format ("F32", "F16", "BF16",
// "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", ...), its shape (row-major, outermost
// dimension first; empty for a scalar) and its raw little-endian bytes.
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// Float32Tensor returns an F32 tensor holding a little-endian copy of data. Write checks
// that len(data) matches the shape.
func Float32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: "F32", Shape: append([]int(nil), shape...), Data: b}
}

// Int64Tensor returns an I64 tensor holding a little-endian copy of data (a scalar for an
// empty shape and one value). Write checks that len(data) matches the shape.
func Int64Tensor(name string, shape []int, data []int64) Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: "I64", Shape: append([]int{}, shape...), Data: b}
}

// The kinds of error this package returns, wrapped in an *Error; test them with errors.Is.
var (
	// ErrShortFile: the file is shorter than the 8 bytes of the header length.
	ErrShortFile = errors.New("file shorter than 8 bytes")
	// ErrHeaderTooLarge: the header length exceeds MaxHeaderSize.
	ErrHeaderTooLarge = errors.New("header too large")
	// ErrTruncated: the header or a tensor's data extends past the end of the file.
	ErrTruncated = errors.New("truncated file")
	// ErrInvalidHeader: the header is not valid UTF-8 JSON of the expected structure
	// (an object of tensor entries with exactly the fields dtype, shape and data_offsets,
	// and an optional __metadata__ object of strings).
	ErrInvalidHeader = errors.New("invalid header")
	// ErrDuplicateName: two tensors (or two metadata keys, or two fields of one entry)
	// have the same name.
	ErrDuplicateName = errors.New("duplicate name")
	// ErrUnknownDType: a dtype that this package does not know.
	ErrUnknownDType = errors.New("unknown dtype")
	// ErrInvalidShape: a negative or non-integer dimension, or a shape whose size in bytes
	// does not match the tensor's data.
	ErrInvalidShape = errors.New("invalid shape")
	// ErrInvalidOffsets: data offsets that are malformed, reversed, overlapping, or leave
	// bytes of the data section that belong to no tensor.
	ErrInvalidOffsets = errors.New("invalid data offsets")
	// ErrNotFound: no tensor of that name in the file.
	ErrNotFound = errors.New("tensor not found")
	// ErrWrongDType: the tensor's dtype cannot be converted to what was asked.
	ErrWrongDType = errors.New("wrong dtype")
	// ErrWrongShape: the tensor's shape is not the one asked for.
	ErrWrongShape = errors.New("wrong shape")
	// ErrNotFinite: a tensor asked for as weights (FiniteFloat32) holds NaN or ±Inf.
	ErrNotFinite = errors.New("not finite")
)

// Error is the error returned by every function of this package for a bad file, a bad
// tensor or a failed request. Its message reads
// `safetensors: FILE: tensor "NAME": KIND: DETAIL`, leaving out the parts that are empty.
type Error struct {
	File   string // path of the file, empty when reading from memory or writing to a Writer
	Tensor string // name of the tensor concerned, empty when the error is not about one
	Kind   error  // one of the Err* values of this package, or an I/O error
	Detail string // what exactly is wrong
}

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("safetensors: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		b.WriteString("tensor ")
		b.WriteString(strconv.Quote(e.Tensor))
		b.WriteString(": ")
	}
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("error")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns e.Kind, so that errors.Is(err, ErrTruncated) and the like work.
func (e *Error) Unwrap() error { return e.Kind }

func newErr(file, tensor string, kind error, format string, args ...any) *Error {
	return &Error{File: file, Tensor: tensor, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// dtypeBits gives the size in bits of one element of every dtype of the format.
var dtypeBits = map[string]uint64{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// dataSize returns the number of bytes that a tensor of this dtype and shape occupies, or
// an error of kind ErrUnknownDType or ErrInvalidShape, computed without overflow; the
// reader and the writer share it.
func dataSize(dtype string, shape []int) (uint64, *Error) {
	b, ok := dtypeBits[dtype]
	if !ok {
		return 0, &Error{Kind: ErrUnknownDType, Detail: fmt.Sprintf("%q", dtype)}
	}
	n := b
	for _, d := range shape {
		if d < 0 {
			return 0, &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf("negative dimension in %v", shape)}
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf("%v of %s overflows 64 bits", shape, dtype)}
		}
		n = lo
	}
	if n%8 != 0 {
		return 0, &Error{Kind: ErrInvalidShape, Detail: fmt.Sprintf("%v of %s is not a whole number of bytes", shape, dtype)}
	}
	return n / 8, nil
}
