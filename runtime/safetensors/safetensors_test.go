package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// file assembles a safetensors file from a literal header and data bytes, as the format's
// spec describes it: 8-byte little-endian header length, header, data.
func file(header string, data ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}

// le assembles little-endian bytes from values of fixed-size types.
func le(vals ...any) []byte {
	var buf bytes.Buffer
	for _, v := range vals {
		if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

func zeros(n int) []byte { return make([]byte, n) }

func sameTensors(t *testing.T, got, want []Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %d: got %s %s %v % x, want %s %s %v % x", i, g.Name, g.DType, g.Shape, g.Data, w.Name, w.DType, w.Shape, w.Data)
		}
	}
}

func sortedByName(ts []Tensor) []Tensor {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	return ts
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
	}{
		{"empty", nil, nil},
		{"metadata only", nil, map[string]string{"format": "pt"}},
		{"one f32", []Tensor{Float32Tensor("conv1.weight", []int{2, 1, 3, 3}, seq(18))}, nil},
		{"scalar", []Tensor{Float32Tensor("s", nil, []float32{3.5})}, nil},
		{"empty tensor", []Tensor{
			Float32Tensor("b", []int{0, 3}, nil),
			Float32Tensor("a", []int{2}, []float32{1, 2}),
			Float32Tensor("c", []int{3, 0}, nil),
		}, nil},
		{"many dtypes, unsorted", []Tensor{
			{Name: "z.i64", DType: "I64", Shape: []int{2}, Data: le(int64(-1), int64(1<<40))},
			{Name: "y.u8", DType: "U8", Shape: []int{3}, Data: []byte{1, 2, 3}},
			{Name: "x.bool", DType: "BOOL", Shape: []int{1}, Data: []byte{1}},
			{Name: "w.f16", DType: "F16", Shape: []int{1, 2}, Data: le(uint16(0x3c00), uint16(0xc000))},
			{Name: "v.bf16", DType: "BF16", Shape: []int{1}, Data: le(uint16(0x3f80))},
			{Name: "u.f64", DType: "F64", Shape: []int{1}, Data: le(math.Pi)},
			{Name: "t.f4", DType: "F4", Shape: []int{4}, Data: []byte{0x12, 0x34}},
			{Name: "a.weight", DType: "F32", Shape: []int{2, 2}, Data: le(float32(1), float32(-2), float32(3), float32(4))},
		}, map[string]string{"format": "pt", "netc": "1"}},
		{"awkward names and metadata", []Tensor{
			Float32Tensor(`quote"back\slash`, []int{1}, []float32{1}),
			Float32Tensor("<html>&amp;", []int{1}, []float32{2}),
			Float32Tensor("ünïcödé ✓", []int{1}, []float32{3}),
			Float32Tensor("", []int{1}, []float32{4}),
			Float32Tensor("new\nline\ttab\x01", []int{1}, []float32{5}),
		}, map[string]string{"": "empty key", "k\"ey": "v\\al\n", "<": ">&", "ü": "✓"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, c.tensors, c.meta); err != nil {
				t.Fatal(err)
			}
			n := binary.LittleEndian.Uint64(buf.Bytes())
			if n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			f, err := Read(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			want := sortedByName(c.tensors)
			sameTensors(t, f.Tensors(), want)
			names := make([]string, len(want))
			for i, w := range want {
				names[i] = w.Name
				got, ok := f.Tensor(w.Name)
				if !ok {
					t.Fatalf("Tensor(%q) not found", w.Name)
				}
				sameTensors(t, []Tensor{got}, []Tensor{w})
			}
			if !slices.Equal(f.Names(), names) {
				t.Errorf("Names() = %q, want %q", f.Names(), names)
			}
			if got := f.Metadata(); !maps.Equal(got, c.meta) {
				t.Errorf("Metadata() = %q, want %q", got, c.meta)
			}
			// The data of tensors sorted by name follow each other in the file.
			var data []byte
			for _, w := range want {
				data = append(data, w.Data...)
			}
			if !bytes.HasSuffix(buf.Bytes(), data) || buf.Len() != 8+int(n)+len(data) {
				t.Errorf("data section is not the tensors' data in name order")
			}
			// Every reader agrees.
			f2, err := ReadAt(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, f2.Tensors(), want)
			path := filepath.Join(t.TempDir(), "w.safetensors")
			if err := WriteFile(path, c.tensors, c.meta); err != nil {
				t.Fatal(err)
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(onDisk, buf.Bytes()) {
				t.Errorf("WriteFile and Write give different bytes")
			}
			f3, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, f3.Tensors(), want)
		})
	}
}

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)*0.25 - 1
	}
	return s
}

func TestFloat32RoundTrip(t *testing.T) {
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, -1.5, math.MaxFloat32, math.SmallestNonzeroFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e-20, 123456.789}
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{Float32Tensor("v", []int{2, 5}, vals)}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Float32("v", []int{2, 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if math.Float32bits(got[i]) != math.Float32bits(vals[i]) {
			t.Errorf("value %d: got %v, want %v", i, got[i], vals[i])
		}
	}
	// Float32Tensor copies: changing the source does not change the tensor.
	src := []float32{1, 2}
	tn := Float32Tensor("c", []int{2}, src)
	src[0] = 9
	if !bytes.Equal(tn.Data, le(float32(1), float32(2))) {
		t.Errorf("Float32Tensor does not copy its data")
	}
}

func TestDeterministic(t *testing.T) {
	a := []Tensor{
		Float32Tensor("full1.weight", []int{2, 3}, seq(6)),
		Float32Tensor("conv1.bias", []int{2}, seq(2)),
		Float32Tensor("conv1.weight", []int{2, 1, 1, 1}, seq(2)),
	}
	meta := map[string]string{"b": "2", "a": "1", "c": "3"}
	var first []byte
	for i := range 20 {
		ts := slices.Clone(a)
		// A different slice order, and a fresh map (whose iteration order varies).
		ts[0], ts[i%3] = ts[i%3], ts[0]
		var buf bytes.Buffer
		if err := Write(&buf, ts, maps.Clone(meta)); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatalf("run %d wrote different bytes", i)
		}
	}
	// The exact header, padded with spaces to a multiple of 8.
	const header = `{"__metadata__":{"a":"1","b":"2","c":"3"},` +
		`"conv1.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"conv1.weight":{"dtype":"F32","shape":[2,1,1,1],"data_offsets":[8,16]},` +
		`"full1.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]}}`
	pad := strings.Repeat(" ", (8-len(header)%8)%8)
	want := file(header+pad, le(seq(2)), le(seq(2)), le(seq(6)))
	if !bytes.Equal(first, want) {
		t.Errorf("Write gave\n%q\nwant\n%q", first, want)
	}
	// The input is not modified.
	if a[0].Name != "full1.weight" {
		t.Errorf("Write reordered its input")
	}
}

// A file as another program (PyTorch's safetensors, say) would write it, built by hand
// from the format's spec: data laid out in an order other than the names', F16, BF16,
// F64 and integer tensors, metadata, and a header padded with spaces.
func handBuilt(pretty bool) []byte {
	header := `{"__metadata__":{"format":"pt","source":"hand"},` +
		`"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},` +
		`"h":{"dtype":"F16","shape":[6],"data_offsets":[16,28]},` +
		`"b":{"dtype":"BF16","shape":[3],"data_offsets":[28,34]},` +
		`"d":{"dtype":"F64","shape":[],"data_offsets":[40,48]},` +
		`"i":{"dtype":"I16","shape":[3],"data_offsets":[34,40]}}`
	if pretty {
		header = "\n  " + strings.ReplaceAll(header, `},"`, "},\n  \"") + "\n"
	}
	header += strings.Repeat(" ", (8-len(header)%8)%8)
	return file(header,
		le(float32(1), float32(-2), float32(0.5), float32(1e-3)),
		// F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), -0, +Inf
		le(uint16(0x3c00), uint16(0xc000), uint16(0x7bff), uint16(0x0001), uint16(0x8000), uint16(0x7c00)),
		// BF16: 1, -3.5, 2^-126 × 1.5 (the top half of float32 0x00c00000)
		le(uint16(0x3f80), uint16(0xc060), uint16(0x00c0)),
		le(int16(-7), int16(0), int16(300)),
		le(float64(2.75)),
	)
}

func TestHandBuilt(t *testing.T) {
	for _, pretty := range []bool{false, true} {
		f, err := Read(handBuilt(pretty))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := f.Names(), []string{"b", "d", "h", "i", "w"}; !slices.Equal(got, want) {
			t.Errorf("Names() = %q, want %q", got, want)
		}
		if got, want := f.Metadata(), map[string]string{"format": "pt", "source": "hand"}; !maps.Equal(got, want) {
			t.Errorf("Metadata() = %q, want %q", got, want)
		}
		floats := []struct {
			name  string
			shape []int
			want  []float32
		}{
			{"w", []int{2, 2}, []float32{1, -2, 0.5, 1e-3}},
			{"h", []int{6}, []float32{1, -2, 65504, 1.0 / (1 << 24), float32(math.Copysign(0, -1)), float32(math.Inf(1))}},
			{"b", []int{3}, []float32{1, -3.5, math.Float32frombits(0x00c00000)}},
			{"d", []int{}, []float32{2.75}},
		}
		for _, c := range floats {
			got, err := f.Float32(c.name, c.shape)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%s: got %v, want %v", c.name, got, c.want)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(c.want[i]) {
					t.Errorf("%s[%d] = %v, want %v", c.name, i, got[i], c.want[i])
				}
			}
		}
		i, ok := f.Tensor("i")
		if !ok || i.DType != "I16" || !slices.Equal(i.Shape, []int{3}) || !bytes.Equal(i.Data, le(int16(-7), int16(0), int16(300))) {
			t.Errorf("Tensor(i) = %+v, %v", i, ok)
		}
		if _, err := f.Float32("i", nil); !errors.Is(err, ErrWrongDType) {
			t.Errorf("Float32 of I16: got %v, want ErrWrongDType", err)
		}
	}
}

func TestF16(t *testing.T) {
	cases := []struct {
		bits uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0x3c01, 1 + 1.0/1024}, {0xbc00, -1}, {0x4000, 2}, {0x3555, 0.333251953125},
		{0x7bff, 65504}, {0x0400, 1.0 / (1 << 14)}, {0x03ff, 1023.0 / (1 << 24)}, {0x8001, -1.0 / (1 << 24)},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := f16ToF32(c.bits); got != c.want {
			t.Errorf("f16ToF32(%#04x) = %v, want %v", c.bits, got, c.want)
		}
	}
	if got := f16ToF32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("f16ToF32(0x7e00) = %v, want NaN", got)
	}
	if got := f16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("f16ToF32(0x8000) = %v, want -0", got)
	}
}

type malformed struct {
	name   string
	data   []byte
	kind   error
	tensor string // the tensor the error must name, if any
	detail string // a part of the message
}

// f32 is the header entry of an F32 tensor.
const f32 = `{"dtype":"F32","shape":[1],"data_offsets":`

func malformedCases() []malformed {
	valid := file(`{"a":`+f32+`[0,4]},"b":`+f32+`[4,8]}}`, zeros(8))
	return []malformed{
		{"empty file", nil, ErrShortFile, "", "0 bytes"},
		{"7 bytes", []byte{1, 0, 0, 0, 0, 0, 0}, ErrShortFile, "", "7 bytes"},
		{"header length 2^64-1", le(uint64(math.MaxUint64)), ErrHeaderTooLarge, "", "exceeds the limit"},
		{"header length over the limit", append(le(uint64(MaxHeaderSize+1)), "{}"...), ErrHeaderTooLarge, "", "100000000"},
		{"header length past the end", append(le(uint64(100)), `{"a":1}`...), ErrTruncated, "", "header length 100"},
		{"header cut short", valid[:20], ErrTruncated, "", "header length"},
		{"empty header", file(""), ErrInvalidHeader, "", "end of JSON"},
		{"invalid JSON", file(`{"a":`), ErrInvalidHeader, "", ""},
		{"invalid JSON token", file(`{"a":{"dtype":F32}}`), ErrInvalidHeader, "", "bad JSON"},
		{"header not an object", file(`[]`), ErrInvalidHeader, "", "want a JSON object"},
		{"header null", file(`null`), ErrInvalidHeader, "", "null"},
		{"invalid UTF-8", file("{\"\xff\":" + f32 + "[0,0]}}"), ErrInvalidHeader, "", "UTF-8"},
		{"data after the object", file(`{} {}`), ErrInvalidHeader, "", "after the JSON object"},
		{"duplicate name", file(`{"a":`+f32+`[0,4]},"a":`+f32+`[4,8]}}`, zeros(8)), ErrDuplicateName, "", `"a" appears twice`},
		{"duplicate name, escaped", file(`{"a":`+f32+`[0,4]},"\u0061":`+f32+`[4,8]}}`, zeros(8)), ErrDuplicateName, "", `"a"`},
		{"duplicate field", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), ErrDuplicateName, "a", `field "dtype"`},
		{"duplicate metadata key", file(`{"__metadata__":{"k":"1","k":"2"}}`), ErrDuplicateName, "", `__metadata__ key "k"`},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`), ErrDuplicateName, "", ""},
		{"unknown dtype", file(`{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, zeros(16)), ErrUnknownDType, "a", `"F128"`},
		{"lower-case dtype", file(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, zeros(4)), ErrUnknownDType, "a", `"f32"`},
		{"dtype not a string", file(`{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, zeros(4)), ErrInvalidHeader, "a", "dtype: want a string"},
		{"dtype null", file(`{"a":{"dtype":null,"shape":[1],"data_offsets":[0,4]}}`, zeros(4)), ErrInvalidHeader, "a", "dtype"},
		{"missing data_offsets", file(`{"a":{"dtype":"F32","shape":[1]}}`, zeros(4)), ErrInvalidHeader, "a", `missing field "data_offsets"`},
		{"missing shape", file(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, zeros(4)), ErrInvalidHeader, "a", `missing field "shape"`},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":[0,4]}}`, zeros(4)), ErrInvalidHeader, "a", `unknown field "offsets"`},
		{"entry not an object", file(`{"a":[0,4]}`, zeros(4)), ErrInvalidHeader, "a", "want a JSON object"},
		{"metadata value not a string", file(`{"__metadata__":{"epochs":10}}`), ErrInvalidHeader, "", `__metadata__ value of "epochs"`},
		{"metadata not an object", file(`{"__metadata__":"pt"}`), ErrInvalidHeader, "", "__metadata__"},
		{"shape not an array", file(`{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}`, zeros(4)), ErrInvalidHeader, "a", "shape"},
		{"shape of strings", file(`{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}`, zeros(4)), ErrInvalidHeader, "a", "shape"},
		{"negative dimension", file(`{"a":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,0]}}`), ErrInvalidShape, "a", "negative"},
		{"fractional dimension", file(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,10]}}`, zeros(10)), ErrInvalidShape, "a", "2.5"},
		{"exponent dimension", file(`{"a":{"dtype":"F32","shape":[1e1],"data_offsets":[0,40]}}`, zeros(40)), ErrInvalidShape, "a", "1e1"},
		{"dimension over int64", file(`{"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]}}`), ErrInvalidShape, "a", "fits"},
		{"element count overflows", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`), ErrInvalidShape, "a", "overflows"},
		{"byte count overflows", file(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`), ErrInvalidShape, "a", "overflows"},
		{"shape larger than data", file(`{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}`, zeros(12)), ErrInvalidShape, "a", "needs 16 bytes"},
		{"shape smaller than data", file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, zeros(8)), ErrInvalidShape, "a", "needs 4 bytes"},
		{"F4 half a byte", file(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}`, zeros(2)), ErrInvalidShape, "a", "whole number of bytes"},
		{"offsets reversed", file(`{"a":`+f32+`[8,4]}}`, zeros(8)), ErrInvalidOffsets, "a", "end before they begin"},
		{"offsets negative", file(`{"a":` + f32 + `[-4,0]}}`), ErrInvalidOffsets, "a", "-4"},
		{"offsets past 2^64", file(`{"a":` + f32 + `[18446744073709551616,18446744073709551620]}}`), ErrInvalidOffsets, "a", "2^64"},
		{"one offset", file(`{"a":`+f32+`[4]}}`, zeros(4)), ErrInvalidOffsets, "a", "has 1 numbers"},
		{"three offsets", file(`{"a":`+f32+`[0,4,8]}}`, zeros(4)), ErrInvalidOffsets, "a", "has 3 numbers"},
		{"offsets not numbers", file(`{"a":`+f32+`["0","4"]}}`, zeros(4)), ErrInvalidOffsets, "a", "data_offsets"},
		{"offsets not an array", file(`{"a":`+f32+`{"0":4}}}`, zeros(4)), ErrInvalidOffsets, "a", "data_offsets"},
		{"offsets out of range", file(`{"a":`+f32+`[0,4]},"b":`+f32+`[1000,1004]}}`, zeros(4)), ErrTruncated, "b", "[1000, 1004]"},
		{"offsets near 2^64", file(`{"a":` + f32 + `[18446744073709551612,0]}}`), ErrInvalidOffsets, "a", ""},
		{"overlapping", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":`+f32+`[4,8]}}`, zeros(8)), ErrInvalidOffsets, "b", `overlap tensor "a"`},
		{"same offsets", file(`{"a":`+f32+`[0,4]},"b":`+f32+`[0,4]}}`, zeros(4)), ErrInvalidOffsets, "b", "overlap"},
		{"empty tensor inside another", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}`, zeros(8)), ErrInvalidOffsets, "e", "overlap"},
		{"hole between tensors", file(`{"a":`+f32+`[0,4]},"b":`+f32+`[8,12]}}`, zeros(12)), ErrInvalidOffsets, "b", "bytes [4, 8)"},
		{"hole at the start", file(`{"a":`+f32+`[4,8]}}`, zeros(8)), ErrInvalidOffsets, "a", "bytes [0, 4)"},
		{"bytes after the last tensor", file(`{"a":`+f32+`[0,4]}}`, zeros(7)), ErrInvalidOffsets, "", "bytes [4, 7)"},
		{"bytes but no tensor", file(`{}`, zeros(3)), ErrInvalidOffsets, "", "bytes [0, 3)"},
		{"truncated data", valid[:len(valid)-3], ErrTruncated, "b", "5-byte data section"},
		{"data missing", valid[:len(valid)-8], ErrTruncated, "a", "0-byte data section"},
	}
}

func TestMalformed(t *testing.T) {
	dir := t.TempDir()
	for _, c := range malformedCases() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.safetensors")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			readers := []struct {
				name, file string
				read       func() (*File, error)
			}{
				{"Read", "", func() (*File, error) { return Read(c.data) }},
				{"ReadAt", "", func() (*File, error) { return ReadAt(bytes.NewReader(c.data), int64(len(c.data))) }},
				{"ReadFile", path, func() (*File, error) { return ReadFile(path) }},
			}
			for _, r := range readers {
				f, err := r.read()
				if err == nil {
					t.Fatalf("%s: no error, file has %q", r.name, f.Names())
				}
				if !errors.Is(err, c.kind) {
					t.Errorf("%s: got %v, want kind %v", r.name, err, c.kind)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: %v is not an *Error", r.name, err)
				}
				if e.File != r.file || e.Tensor != c.tensor {
					t.Errorf("%s: error names file %q tensor %q, want %q %q", r.name, e.File, e.Tensor, r.file, c.tensor)
				}
				msg := err.Error()
				if !strings.Contains(msg, c.detail) || !strings.Contains(msg, r.file) || !strings.HasPrefix(msg, "safetensors: ") {
					t.Errorf("%s: message %q lacks %q or %q", r.name, msg, c.detail, r.file)
				}
				if c.tensor != "" && !strings.Contains(msg, `tensor "`+c.tensor+`"`) {
					t.Errorf("%s: message %q does not name tensor %q", r.name, msg, c.tensor)
				}
			}
		})
	}
}

func TestValidEdgeCases(t *testing.T) {
	cases := []struct {
		name  string
		data  []byte
		names []string
	}{
		{"no tensors", file(`{}`), nil},
		{"padded with spaces", file(`{}      `), nil},
		{"leading whitespace", file(" \n\t{}"), nil},
		{"metadata null", file(`{"__metadata__":null}`), nil},
		{"empty tensors at the ends", file(`{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":`+f32+`[0,4]},"z":{"dtype":"I8","shape":[2,0],"data_offsets":[4,4]}}`, zeros(4)), []string{"a", "e", "z"}},
		{"field order", file(`{"a":{"data_offsets":[0,4],"shape":[1],"dtype":"F32"}}`, zeros(4)), []string{"a"}},
		{"sub-byte dtype", file(`{"a":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}`, zeros(3)), []string{"a"}},
	}
	for _, c := range cases {
		f, err := Read(c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(f.Names(), c.names) {
			t.Errorf("%s: Names() = %q, want %q", c.name, f.Names(), c.names)
		}
	}
}

func TestFloat32Errors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.safetensors")
	err := WriteFile(path, []Tensor{
		Float32Tensor("conv1.weight", []int{4, 1, 3, 3}, seq(36)),
		{Name: "steps", DType: "I64", Shape: []int{}, Data: le(int64(5))},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		shape  []int
		kind   error
		detail string
	}{
		{"conv2.weight", []int{4, 1, 3, 3}, ErrNotFound, `"conv1.weight", "steps"`},
		{"conv1.weight", []int{4, 3, 3}, ErrWrongShape, "has shape [4 1 3 3], want [4 3 3]"},
		{"conv1.weight", []int{4, 1, 3, 2}, ErrWrongShape, "want [4 1 3 2]"},
		{"conv1.weight", []int{}, ErrWrongShape, "want []"},
		{"steps", []int{}, ErrWrongDType, "I64"},
		{"conv1.weight", []int{4, 1, 3, 3}, nil, ""},
		{"conv1.weight", []int{-1, 1, 3, -1}, nil, ""},
		{"conv1.weight", nil, nil, ""},
	}
	for _, c := range cases {
		v, err := f.Float32(c.name, c.shape)
		if c.kind == nil {
			if err != nil || len(v) != 36 {
				t.Errorf("Float32(%q, %v) = %d values, %v", c.name, c.shape, len(v), err)
			}
			continue
		}
		if !errors.Is(err, c.kind) {
			t.Errorf("Float32(%q, %v): got %v, want %v", c.name, c.shape, err, c.kind)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, path) || !strings.Contains(msg, `tensor "`+c.name+`"`) || !strings.Contains(msg, c.detail) {
			t.Errorf("Float32(%q, %v): message %q lacks the path, the name or %q", c.name, c.shape, msg, c.detail)
		}
	}
	if _, ok := f.Tensor("nope"); ok {
		t.Errorf("Tensor of a missing name reports true")
	}
}

func TestWriteErrors(t *testing.T) {
	good := Float32Tensor("a", []int{1}, []float32{1})
	cases := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
		kind    error
		tensor  string
	}{
		{"duplicate", []Tensor{good, Float32Tensor("b", nil, []float32{1}), good}, nil, ErrDuplicateName, "a"},
		{"reserved name", []Tensor{Float32Tensor(MetadataKey, nil, []float32{1})}, nil, ErrInvalidHeader, MetadataKey},
		{"unknown dtype", []Tensor{{Name: "x", DType: "float32", Shape: []int{1}, Data: zeros(4)}}, nil, ErrUnknownDType, "x"},
		{"negative dim", []Tensor{{Name: "x", DType: "F32", Shape: []int{-1}, Data: nil}}, nil, ErrInvalidShape, "x"},
		{"short data", []Tensor{Float32Tensor("x", []int{2, 2}, seq(3))}, nil, ErrInvalidShape, "x"},
		{"long data", []Tensor{Float32Tensor("x", []int{2}, seq(3))}, nil, ErrInvalidShape, "x"},
		{"overflow", []Tensor{{Name: "x", DType: "F64", Shape: []int{math.MaxInt, 4}}}, nil, ErrInvalidShape, "x"},
		{"name not UTF-8", []Tensor{Float32Tensor("\xff", nil, []float32{1})}, nil, ErrInvalidHeader, "\xff"},
		{"metadata not UTF-8", []Tensor{good}, map[string]string{"k": "\xfe"}, ErrInvalidHeader, ""},
	}
	dir := t.TempDir()
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.tensors, c.meta)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.kind)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Tensor != c.tensor {
			t.Errorf("%s: %v does not name tensor %q", c.name, err, c.tensor)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", c.name, buf.Len())
		}
		// WriteFile fails the same way, leaves the old file alone and no temporary file.
		path := filepath.Join(dir, "w.safetensors")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		err = WriteFile(path, c.tensors, c.meta)
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: WriteFile: got %v, want %v naming %s", c.name, err, c.kind, path)
		}
		if old, _ := os.ReadFile(path); string(old) != "old" {
			t.Errorf("%s: WriteFile changed the file on error", c.name)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: WriteFile left %d files", c.name, len(ents))
		}
	}
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	for i := range 3 {
		want := []Tensor{Float32Tensor("v", []int{1}, []float32{float32(i)})}
		if err := WriteFile(path, want, map[string]string{"i": string(rune('0' + i))}); err != nil {
			t.Fatal(err)
		}
		f, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, f.Tensors(), want)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("directory holds %d entries (%v), want 1", len(ents), err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if err := WriteFile(filepath.Join(dir, "missing", "w.safetensors"), nil, nil); err == nil {
		t.Errorf("WriteFile into a missing directory succeeded")
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: got %v, want ErrNotExist", err)
	}
}

// failingReaderAt fails every read with a non-EOF error.
type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

// eofReaderAt returns io.EOF along with the last bytes, as io.ReaderAt allows.
type eofReaderAt struct{ b []byte }

func (r eofReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := copy(p, r.b[off:])
	if off+int64(n) == int64(len(r.b)) {
		return n, io.EOF
	}
	return n, nil
}

func TestReadAtIO(t *testing.T) {
	_, err := ReadAt(failingReaderAt{}, 100)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("got %v, want the I/O error", err)
	}
	data := handBuilt(false)
	if _, err := ReadAt(eofReaderAt{data}, int64(len(data))); err != nil {
		t.Errorf("EOF with the last byte: %v", err)
	}
	// A size larger than what the reader holds is a truncated file.
	if _, err := ReadAt(bytes.NewReader(data), int64(len(data))+8); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalidOffsets) {
		t.Errorf("size past the end: got %v", err)
	}
	if _, err := ReadAt(bytes.NewReader(data), -1); !errors.Is(err, ErrShortFile) {
		t.Errorf("negative size: got %v", err)
	}
}

func TestTensorDataIsolated(t *testing.T) {
	f, err := Read(handBuilt(false))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := f.Tensor("w")
	w.Shape[0] = 99
	_ = append(w.Data, 0xff) // must not overwrite the next tensor
	h, _ := f.Float32("h", []int{6})
	if h[0] != 1 {
		t.Errorf("appending to one tensor's Data changed the next: %v", h)
	}
	if w2, _ := f.Tensor("w"); w2.Shape[0] != 2 {
		t.Errorf("changing a returned Shape changed the file")
	}
}
