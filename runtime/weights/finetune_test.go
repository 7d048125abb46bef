package weights_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/runtime/weights"
	"github.com/netc-dev/netc/testdata/golden/cifarsmall"
	"github.com/netc-dev/netc/testdata/golden/cifarsmallfinetune"
)

// synthetic returns n random 3x32x32 images of 10 classes whose class shows in their
// brightness and in which channel is brightest, so that a network learns something.
func synthetic(n int, seed uint64) *data.Dataset {
	rng := nn.NewRNG(seed)
	ds := &data.Dataset{C: 3, H: 32, W: 32, Classes: 10, X: make([]float32, n*3*32*32), Labels: make([]int32, n)}
	for i := range n {
		l := rng.Intn(10)
		ds.Labels[i] = int32(l)
		img := ds.Image(i)
		for j := range img {
			v := float32(l)/20 + 0.4*rng.Float32()
			if j/1024 == l%3 {
				v += 0.2
			}
			img[j] = v
		}
	}
	return ds
}

// TestFineTuneFrozen trains cifar-small briefly, then fine-tunes
// specs/cifar-small-finetune.net from its checkpoint: conv1 (lr 0) keeps the checkpoint's
// weights bit for bit, conv2 and conv3 start from them and move, and the renamed
// classifier is initialized and reported.
func TestFineTuneFrozen(t *testing.T) {
	dir := t.TempDir()
	base := cifarsmall.New(1)
	cfg, err := train.ConfigFromInfo(base.Info())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.MaxIters, cfg.RunDir = 1, 4, filepath.Join(dir, "base")
	res, err := train.Train(base, synthetic(256, 1), nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.ReadFile(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}

	// The spec of the fine-tuning freezes conv1 and slows conv2 and conv3.
	ft := cifarsmallfinetune.New(1)
	mult := map[string]float32{}
	for _, p := range ft.Info().Params {
		mult[p.Name] = p.LRMult
	}
	if mult["conv1.weight"] != 0 || mult["conv1.bias"] != 0 || mult["conv2.weight"] != 0.1 || mult["head.weight"] != 1 {
		t.Fatalf("learning-rate multipliers %v", mult)
	}
	cfg, err = train.ConfigFromInfo(ft.Info())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.MaxIters, cfg.RunDir, cfg.Weights = 1, 3, filepath.Join(dir, "ft"), res.Checkpoint
	var out bytes.Buffer
	ftRes, err := train.Train(ft, synthetic(256, 2), nil, nil, cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := "weights from " + res.Checkpoint + ": loaded conv1.weight, conv1.bias, conv2.weight, conv2.bias, conv3.weight, conv3.bias; initialized head.weight, head.bias\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if ftRes.Iters != 3 {
		t.Errorf("%d iterations", ftRes.Iters)
	}
	params := ft.Params()
	for _, p := range ft.Info().Params {
		got := p.Data(params)
		var orig []float32
		if strings.HasPrefix(p.Name, "conv") {
			if orig, err = ck.Float32(p.Name, p.Shape); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case strings.HasPrefix(p.Name, "conv1."):
			sameBits(t, p.Name+" (frozen)", got, orig)
		case strings.HasPrefix(p.Name, "conv"):
			if changed(got, orig) == 0 {
				t.Errorf("%s did not change", p.Name)
			}
		}
	}
	// The checkpoint of the fine-tuning holds the same conv1.
	ftck, err := weights.Open(ftRes.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"conv1.weight", "conv1.bias"} {
		a, _ := ck.Float32(name, nil)
		b, err := ftck.Tensors.Float32(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, name+" in the fine-tuned checkpoint", b, a)
	}
}

// changed counts the values of a and b that differ.
func changed(a, b []float32) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
