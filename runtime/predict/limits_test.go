//go:build unix

package predict

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// pngClaiming returns a 1x1 PNG whose header claims w×h pixels (with a valid checksum).
func pngClaiming(t *testing.T, w, h uint32) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	// The signature (8 bytes), the IHDR chunk's length (4) and type (4), then its data.
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

// Every hostile or careless file gives status 1 and an error naming the file and what is
// wrong, at once: no out-of-memory crash, no hang, no "NaN%".
func TestHostileFiles(t *testing.T) {
	net := lenetmnist.New(1)
	w := writeWeights(t, net, nil)
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.png")
	os.WriteFile(huge, pngClaiming(t, 100000, 100000), 0o644)
	img := filepath.Join(dir, "x.png")
	os.WriteFile(img, pngClaiming(t, 1, 1), 0o644)
	fifo := filepath.Join(dir, "w.safetensors")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	bigLabels := filepath.Join(dir, "labels.txt")
	os.WriteFile(bigLabels, bytes.Repeat([]byte("class\n"), 200_000), 0o644)
	nan := lenetmnist.New(1)
	nan.Params()[5] = float32(math.NaN())
	nanW := writeWeights(t, nan, nil)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--weights", w, huge}, "a 100000x100000 image: 10000000000 pixels, more than the limit of 67108864 pixels (predict.MaxImagePixels)"},
		{[]string{"--weights", w, dir}, dir + ": not a regular file: it is a directory"},
		{[]string{"--weights", fifo, img}, fifo + ": not a regular file: it is a named pipe"},
		{[]string{"--weights", dir, img}, "it is a directory"},
		{[]string{"--weights", w, img, "--labels", "/dev/zero"}, "it is a character device"},
		{[]string{"--weights", w, img, "--labels", bigLabels}, "(limits.MaxTextSize)"},
		{[]string{"--weights", nanW, img}, `tensor "conv1.weight": not finite: value 5 of 200 is NaN`},
	} {
		done := make(chan struct{})
		var status int
		var stderr string
		go func() {
			defer close(done)
			status, _, stderr = run(lenetmnist.New(1), tc.args...)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%q hangs", tc.args)
		}
		if status != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: status %d, stderr:\n%s\nwant status 1 and %q", tc.args, status, stderr, tc.want)
		}
	}
}
