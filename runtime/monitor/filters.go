package monitor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math"

	"github.com/netc-dev/netc/internal/atomicfile"
	"github.com/netc-dev/netc/runtime/nn"
)

// FilterBorder is the width in pixels of the border around and between the filters of a
// FilterGrid picture.
const FilterBorder = 2

// FilterBorderGray is the gray level (R = G = B) of the border of a FilterGrid picture:
// dark, so that both dark and bright filter edges stand out.
const FilterBorderGray = 48

// FilterGrid draws the filters of the network's first convolution layer (the first
// entry of info.Layers with Kind "conv") from the flat parameters params (as
// Network.Params returns them) as a PNG picture at path.
//
// The picture is a grid of ⌈√n⌉ columns of the layer's n filters, in order row by row.
// A filter of shape [c, kh, kw] becomes a kh×kw image: in color when c is 3 (channels 0,
// 1 and 2 as red, green and blue, the order of the data sets), in gray when c is 1, and
// in gray from the mean over the channels otherwise. Each filter is normalized by its
// own minimum and maximum over all its values to 0…255 (a constant filter is mid gray),
// scaled up by nearest neighbour — ×8 up to 6×6 kernels, ×48/k for k×k kernels from 7
// to 11, ×4 beyond — and surrounded by a FilterBorder-pixel border of gray FilterBorderGray.
// So the picture of n filters of size k×k, scale s and g = ⌈√n⌉ columns is
// g·(k·s+B)+B pixels wide and ⌈n/g⌉·(k·s+B)+B high, with B = FilterBorder.
//
// The picture has no text; the layer's name, the filters' shape and the scale are in
// the PNG file's "Title" and "Description" text chunks (`exiftool`, `identify -verbose`
// or any PNG inspector shows them).
//
// It is an error when the network has no convolution layer, when the layer's weight
// tensor is missing or not 4-dimensional, or when params is too short for it.
func FilterGrid(info *nn.Info, params []float32, path string) error {
	img, title, desc, err := filterImage(info, params)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("monitor: FilterGrid %s: %w", path, err)
	}
	data := withText(buf.Bytes(), "Title", title, "Description", desc)
	err = atomicfile.Write(path, func(f io.Writer) error {
		_, err := f.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("monitor: %s: %w", path, err)
	}
	return nil
}

// firstConvWeight finds the first convolution layer and its weight tensor.
func firstConvWeight(info *nn.Info) (nn.LayerInfo, *nn.ParamTensor, error) {
	if info == nil {
		return nn.LayerInfo{}, nil, fmt.Errorf("monitor: FilterGrid: nil network info")
	}
	layer := -1
	for i, l := range info.Layers {
		if l.Kind == "conv" {
			layer = i
			break
		}
	}
	if layer < 0 {
		return nn.LayerInfo{}, nil, fmt.Errorf("monitor: FilterGrid: network %q has no convolution layer", info.Name)
	}
	l := info.Layers[layer]
	for i := range info.Params {
		t := &info.Params[i]
		if t.Layer == layer && !t.Bias && !t.Buffer {
			return l, t, nil
		}
	}
	return l, nil, fmt.Errorf("monitor: FilterGrid: convolution layer %q has no weight tensor", l.Name)
}

// filterImage builds the grid picture and its title and description.
func filterImage(info *nn.Info, params []float32) (*image.RGBA, string, string, error) {
	l, t, err := firstConvWeight(info)
	if err != nil {
		return nil, "", "", err
	}
	if len(t.Shape) != 4 {
		return nil, "", "", fmt.Errorf("monitor: FilterGrid: %s has shape %v, want [out, in, kh, kw]", t.Name, t.Shape)
	}
	n, c, kh, kw := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	if n < 1 || c < 1 || kh < 1 || kw < 1 || t.Size != n*c*kh*kw {
		return nil, "", "", fmt.Errorf("monitor: FilterGrid: %s has shape %v and size %d", t.Name, t.Shape, t.Size)
	}
	if t.Offset < 0 || t.Offset+t.Size > len(params) {
		return nil, "", "", fmt.Errorf("monitor: FilterGrid: %s needs params[%d:%d], have %d values", t.Name, t.Offset, t.Offset+t.Size, len(params))
	}
	w := t.Data(params)
	k := max(kh, kw)
	scale := 8
	switch {
	case k > 11:
		scale = 4
	case k > 6:
		scale = 48 / k
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	const B = FilterBorder
	tw, th := kw*scale+B, kh*scale+B
	img := image.NewRGBA(image.Rect(0, 0, cols*tw+B, rows*th+B))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = FilterBorderGray, FilterBorderGray, FilterBorderGray, 255
	}

	plane := kh * kw
	mean := make([]float32, plane)
	for f := range n {
		fw := w[f*c*plane : (f+1)*c*plane]
		// Values to show: the 3 channels, or 1 gray plane.
		var chans [3][]float32
		if c == 3 {
			chans = [3][]float32{fw[:plane], fw[plane : 2*plane], fw[2*plane:]}
		} else {
			g := fw
			if c != 1 {
				clear(mean)
				for ch := range c {
					for i, v := range fw[ch*plane : (ch+1)*plane] {
						mean[i] += v
					}
				}
				for i := range mean {
					mean[i] /= float32(c)
				}
				g = mean
			}
			chans = [3][]float32{g, g, g}
		}
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, ch := range chans {
			for _, v := range ch {
				if v == v && !math.IsInf(float64(v), 0) {
					lo, hi = min(lo, v), max(hi, v)
				}
			}
		}
		x0, y0 := B+(f%cols)*tw, B+(f/cols)*th
		for y := range kh {
			for x := range kw {
				var px [3]uint8
				for ch := range 3 {
					px[ch] = to8(chans[ch][y*kw+x], lo, hi)
				}
				for dy := range scale {
					o := img.PixOffset(x0+x*scale, y0+y*scale+dy)
					for range scale {
						img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = px[0], px[1], px[2], 255
						o += 4
					}
				}
			}
		}
	}
	mode := "RGB"
	switch {
	case c == 1:
		mode = "gray"
	case c != 3:
		mode = fmt.Sprintf("gray (mean of %d channels)", c)
	}
	title := fmt.Sprintf("%s: filters of %s", info.Name, l.Name)
	desc := fmt.Sprintf("layer %s (%s): %d filters of %dx%dx%d shown as %s, each normalized by its own min/max, scaled x%d, %d per row",
		l.Name, t.Name, n, c, kh, kw, mode, scale, cols)
	return img, title, desc, nil
}

// to8 maps v from [lo, hi] to 0…255; a constant filter (or a non-finite value) is 128.
func to8(v, lo, hi float32) uint8 {
	if !(hi > lo) || v != v || math.IsInf(float64(v), 0) {
		return 128
	}
	return uint8(math.Round(float64((v - lo) / (hi - lo) * 255)))
}

// withText inserts tEXt chunks (keyword, text pairs) right after the IHDR chunk of the
// PNG file data. Keywords are ASCII; text is written as is (UTF-8 readers show it fine).
func withText(data []byte, kv ...string) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4 // signature, IHDR length, type, data, CRC
	if len(data) < ihdrEnd {
		return data
	}
	var out bytes.Buffer
	out.Write(data[:ihdrEnd])
	for i := 0; i+1 < len(kv); i += 2 {
		body := append(append([]byte("tEXt"+kv[i]), 0), kv[i+1]...)
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(body)-4))
		out.Write(n[:])
		out.Write(body)
		binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(body))
		out.Write(n[:])
	}
	out.Write(data[ihdrEnd:])
	return out.Bytes()
}
