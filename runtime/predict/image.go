package predict

import (
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // image.Decode reads GIF too
	_ "image/jpeg"
	_ "image/png"
	"io"

	"github.com/netc-dev/netc/internal/limits"

	"golang.org/x/image/draw"
)

// Fit says how an image of another size than the network's input is brought to it.
type Fit int

const (
	// Resize scales the whole image to the input's height and width (bilinear), changing
	// its aspect ratio if it differs.
	Resize Fit = iota
	// Crop scales the image (bilinear), keeping its aspect ratio, until it covers the
	// input, then cuts the input's height and width from its centre.
	Crop
)

// MaxImagePixels is the largest image (width × height) that ReadImage decodes: 8192×8192,
// 64 Mpixels, which decode into at most 512 MiB. The size is read from the image's header
// before anything is decoded, so a small file claiming a huge image costs nothing.
const MaxImagePixels = 8192 * 8192

// ReadImage decodes the PNG, JPEG or GIF file at path; errors name it. The path must be a
// regular file; its header's dimensions are checked against MaxImagePixels before the
// image is decoded.
func ReadImage(path string) (image.Image, error) {
	f, err := limits.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG, JPEG or GIF image: %v", path, err)
	}
	if px := limits.Product(cfg.Width, cfg.Height); px > MaxImagePixels {
		return nil, &limits.SizeError{What: fmt.Sprintf("%s: a %dx%d image", path, cfg.Width, cfg.Height),
			Size: px, Limit: MaxImagePixels, Unit: "pixels", Name: "predict.MaxImagePixels"}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PNG, JPEG or GIF image: %v", path, err)
	}
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("%s: the image is empty (%dx%d)", path, b.Dx(), b.Dy())
	}
	return img, nil
}

// ImageTensor converts img to a network input of c channels (1: gray, 3: RGB) of h×w
// pixels, in C,H,W order, with pixels scaled to [0, 1] exactly as the data loaders scale
// them (the 8-bit value / 255), so that an 8-bit image of the input's size gives the same
// floats as the data set it was written from. Images of another size are scaled with a
// bilinear filter as fit says. Gray is the luminance of color.GrayModel (0.299 R +
// 0.587 G + 0.114 B); transparent pixels count as black. It fails for c other than 1
// or 3.
func ImageTensor(img image.Image, c, h, w int, fit Fit) ([]float32, error) {
	if c != 1 && c != 3 {
		return nil, fmt.Errorf("images make inputs of 1 (gray) or 3 (RGB) channels, not %d", c)
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("invalid input size %dx%d", h, w)
	}
	src := img
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		sr := b
		if fit == Crop {
			sr = centerCrop(b, h, w)
		}
		dst := image.NewRGBA64(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(dst, dst.Bounds(), img, sr, draw.Src, nil)
		src = dst
	}
	b := src.Bounds()
	out := make([]float32, c*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px := src.At(b.Min.X+x, b.Min.Y+y)
			i := y*w + x
			if c == 1 {
				out[i] = pixelScale[color.GrayModel.Convert(px).(color.Gray).Y]
				continue
			}
			r, g, bl, _ := px.RGBA() // premultiplied: over black
			out[i] = pixelScale[r>>8]
			out[h*w+i] = pixelScale[g>>8]
			out[2*h*w+i] = pixelScale[bl>>8]
		}
	}
	return out, nil
}

// pixelScale maps a byte to float32(b)/255, as package data does.
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// centerCrop returns the largest rectangle of b's centre with the aspect ratio w:h.
func centerCrop(b image.Rectangle, h, w int) image.Rectangle {
	sw, sh := b.Dx(), b.Dy()
	cw, ch := sw, sh
	if sw*h > sh*w { // wider than the input: cut the sides
		cw = max(1, (sh*w+h/2)/h)
	} else { // taller: cut top and bottom
		ch = max(1, (sw*h+w/2)/w)
	}
	x0 := b.Min.X + (sw-cw)/2
	y0 := b.Min.Y + (sh-ch)/2
	return image.Rect(x0, y0, x0+cw, y0+ch)
}
