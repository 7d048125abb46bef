package onnx

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// message is a protobuf message under construction. Its encoding is kept as a list of
// parts: small encoded byte strings, and float32 payloads that are held by reference and
// converted to little-endian bytes only when written, so that a model with hundreds of
// megabytes of weights is never copied whole in memory. A nested message is appended by
// splicing its parts after its tag and length.
type message struct{ parts []part }

// part is encoded bytes or, when f is not nil, the float32 values f as raw little-endian
// bytes.
type part struct {
	b []byte
	f []float32
}

// bytes appends already encoded bytes.
func (m *message) bytes(b []byte) {
	if n := len(m.parts); n > 0 && m.parts[n-1].f == nil {
		m.parts[n-1].b = append(m.parts[n-1].b, b...)
		return
	}
	m.parts = append(m.parts, part{b: append([]byte(nil), b...)})
}

// int appends a varint field (int32, int64 or enum).
func (m *message) int(num protowire.Number, v int64) {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	m.bytes(protowire.AppendVarint(b, uint64(v)))
}

// ints appends a repeated int64 field unpacked, one element per tag, as proto2 encodes a
// field not declared packed (TensorProto.dims, AttributeProto.ints).
func (m *message) ints(num protowire.Number, vs ...int64) {
	for _, v := range vs {
		m.int(num, v)
	}
}

// float appends a float field.
func (m *message) float(num protowire.Number, v float32) {
	b := protowire.AppendTag(nil, num, protowire.Fixed32Type)
	m.bytes(protowire.AppendFixed32(b, math.Float32bits(v)))
}

// str appends a string or bytes field.
func (m *message) str(num protowire.Number, s string) {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	m.bytes(protowire.AppendString(b, s))
}

// floats appends a bytes field holding vs as raw little-endian float32 (TensorProto.raw_data).
func (m *message) floats(num protowire.Number, vs []float32) {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	m.bytes(protowire.AppendVarint(b, uint64(4*len(vs))))
	if len(vs) > 0 {
		m.parts = append(m.parts, part{f: vs})
	}
}

// msg appends the embedded message sub.
func (m *message) msg(num protowire.Number, sub *message) {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	m.bytes(protowire.AppendVarint(b, uint64(sub.size())))
	for _, p := range sub.parts {
		if p.f != nil {
			m.parts = append(m.parts, p)
		} else {
			m.bytes(p.b)
		}
	}
}

// size is the length of the encoding in bytes.
func (m *message) size() int {
	n := 0
	for _, p := range m.parts {
		n += len(p.b) + 4*len(p.f)
	}
	return n
}

// writeTo writes the encoding to w.
func (m *message) writeTo(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf [4096]byte
	for _, p := range m.parts {
		if p.f == nil {
			if _, err := bw.Write(p.b); err != nil {
				return err
			}
			continue
		}
		for f := p.f; len(f) > 0; {
			n := min(len(f), len(buf)/4)
			for i, v := range f[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := bw.Write(buf[:4*n]); err != nil {
				return err
			}
			f = f[n:]
		}
	}
	return bw.Flush()
}
