package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the readers: they must never panic, must agree, must
// fail only with an *Error of one of the package's kinds, and every file they accept must
// survive Write → Read unchanged.
func FuzzRead(f *testing.F) {
	for _, c := range malformedCases() {
		f.Add(c.data)
	}
	f.Add(handBuilt(false))
	f.Add(handBuilt(true))
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{
		Float32Tensor("conv1.weight", []int{2, 1, 2, 2}, seq(8)),
		Float32Tensor("conv1.bias", []int{2}, seq(2)),
		{Name: "e", DType: "F16", Shape: []int{0}},
	}, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(nonFiniteFile(f))

	kinds := []error{ErrShortFile, ErrHeaderTooLarge, ErrTruncated, ErrInvalidHeader, ErrDuplicateName,
		ErrUnknownDType, ErrInvalidShape, ErrInvalidOffsets}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(data)
		file2, err2 := ReadAt(bytes.NewReader(data), int64(len(data)))
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Read and ReadAt disagree: %v / %v", err, err2)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%v is not an *Error", err)
			}
			known := false
			for _, k := range kinds {
				known = known || errors.Is(err, k)
			}
			if !known {
				t.Fatalf("%v is of no known kind", err)
			}
			return
		}
		tensors := file.Tensors()
		sameTensors(t, file2.Tensors(), tensors)
		for _, tn := range tensors {
			v, err := file.Float32(tn.Name, tn.Shape)
			switch tn.DType {
			case "F32", "F16", "BF16", "F64":
				n := 1
				for _, d := range tn.Shape {
					n *= d
				}
				if err != nil || len(v) != n {
					t.Fatalf("Float32(%q): %d values, %v; want %d", tn.Name, len(v), err, n)
				}
			default:
				if !errors.Is(err, ErrWrongDType) {
					t.Fatalf("Float32(%q) of %s: %v", tn.Name, tn.DType, err)
				}
			}
			if err == nil {
				// FiniteFloat32 refuses exactly the tensors that hold NaN or ±Inf.
				_, ferr := file.FiniteFloat32(tn.Name, tn.Shape)
				if bad := slices.ContainsFunc(v, notFinite); bad != errors.Is(ferr, ErrNotFinite) || (!bad && ferr != nil) {
					t.Fatalf("FiniteFloat32(%q) = %v, non-finite values: %v", tn.Name, ferr, bad)
				}
			}
		}
		var w1, w2 bytes.Buffer
		if err := Write(&w1, tensors, file.Metadata()); err != nil {
			t.Fatalf("writing an accepted file back: %v", err)
		}
		back, err := Read(w1.Bytes())
		if err != nil {
			t.Fatalf("reading back what was written: %v", err)
		}
		sameTensors(t, back.Tensors(), tensors)
		if !maps.Equal(back.Metadata(), file.Metadata()) {
			t.Fatalf("metadata changed: %q → %q", file.Metadata(), back.Metadata())
		}
		if err := Write(&w2, back.Tensors(), back.Metadata()); err != nil || !bytes.Equal(w1.Bytes(), w2.Bytes()) {
			t.Fatalf("writing twice gives different bytes (%v)", err)
		}
	})
}

// nonFiniteFile returns a file whose tensors hold NaN (F32) and +Inf (F16, 0x7c00).
func nonFiniteFile(tb testing.TB) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{
		Float32Tensor("w", []int{3}, []float32{1, float32(math.NaN()), 2}),
		{Name: "h", DType: "F16", Shape: []int{1}, Data: []byte{0x00, 0x7c}},
	}, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func notFinite(x float32) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) }
