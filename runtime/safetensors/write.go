package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/netc-dev/netc/internal/atomicfile"
)

// Write writes tensors and metadata (which may be nil) to w in the safetensors format.
// Tensors are laid out sorted by name whatever their order in the slice, and the header is
// compact JSON padded with spaces to a multiple of 8 bytes, so equal inputs give equal
// bytes. It checks every tensor first and writes nothing if one is invalid: a duplicate
// or reserved name, an unknown dtype, a negative dimension, or Data whose length does not
// match the shape.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	return write("", w, tensors, metadata)
}

// WriteFile writes tensors and metadata to the file at path, atomically: it writes a
// temporary file in the same directory, syncs it to disk and renames it over path, so
// that path holds either its old content or the complete new file, never a partial one.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	return atomicfile.Write(path, func(w io.Writer) error { return write(path, w, tensors, metadata) })
}

func write(path string, w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, order, err := buildHeader(path, tensors, metadata)
	if err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, i := range order {
		if _, err := w.Write(tensors[i].Data); err != nil {
			return err
		}
	}
	return nil
}

// buildHeader validates the tensors and returns the 8-byte length followed by the padded
// header, and the indices of tensors in the order of their data.
func buildHeader(path string, tensors []Tensor, metadata map[string]string) ([]byte, []int, error) {
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(tensors[a].Name, tensors[b].Name) })

	var h bytes.Buffer
	h.Write(make([]byte, 8)) // the length, filled in below
	h.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, newErr(path, "", ErrInvalidHeader, "metadata %q: not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		h.WriteString(quote(MetadataKey))
		h.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			h.WriteString(quote(k))
			h.WriteByte(':')
			h.WriteString(quote(metadata[k]))
		}
		h.WriteByte('}')
		first = false
	}
	var offset uint64
	for j, i := range order {
		t := &tensors[i]
		switch {
		case !utf8.ValidString(t.Name):
			return nil, nil, newErr(path, t.Name, ErrInvalidHeader, "the name is not valid UTF-8")
		case t.Name == MetadataKey:
			return nil, nil, newErr(path, t.Name, ErrInvalidHeader, "the name %q is reserved for metadata", MetadataKey)
		case j > 0 && t.Name == tensors[order[j-1]].Name:
			return nil, nil, newErr(path, t.Name, ErrDuplicateName, "two tensors have this name")
		}
		size, serr := dataSize(t.DType, t.Shape)
		if serr != nil {
			serr.File, serr.Tensor = path, t.Name
			return nil, nil, serr
		}
		if uint64(len(t.Data)) != size {
			return nil, nil, newErr(path, t.Name, ErrInvalidShape,
				"shape %v of %s needs %d bytes, but Data has %d", t.Shape, t.DType, size, len(t.Data))
		}
		if !first {
			h.WriteByte(',')
		}
		first = false
		h.WriteString(quote(t.Name))
		h.WriteString(`:{"dtype":`)
		h.WriteString(quote(t.DType))
		h.WriteString(`,"shape":[`)
		for k, d := range t.Shape {
			if k > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, offset+size)
		offset += size
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	b := h.Bytes()
	n := uint64(len(b) - 8)
	if n > MaxHeaderSize {
		return nil, nil, newErr(path, "", ErrHeaderTooLarge, "header of %d bytes exceeds the limit of %d", n, MaxHeaderSize)
	}
	binary.LittleEndian.PutUint64(b, n)
	return b, order, nil
}

// quote returns s as a JSON string, without escaping <, > and & for HTML.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // cannot fail for a string
	return strings.TrimSuffix(b.String(), "\n")
}
