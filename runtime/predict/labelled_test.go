package predict

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/train"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// TestLabelledSet trains lenet-mnist briefly and checks `--data mnist`: per class, the
// table counts each test label's images and the images predicted right, as an
// independent Forward on the preprocessed test set does, and the last line is the
// accuracy.
func TestLabelledSet(t *testing.T) {
	trainAll, testAll, err := data.Load(data.MNIST, "")
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, 4000)
	for i := range idx {
		idx[i] = i
	}
	net := lenetmnist.New(1)
	cfg, err := train.ConfigFromInfo(net.Info())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs = 1
	res, err := train.Train(net, trainAll.Subset(idx), nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := writeWeights(t, net, &res.Preprocess)

	// The expected counts: Forward on the whole test set, preprocessed as in training.
	all := make([]int, testAll.Len())
	for i := range all {
		all[i] = i
	}
	test := testAll.Subset(all)
	if err := res.Preprocess.Apply(test); err != nil {
		t.Fatal(err)
	}
	scores := Forward(net, test.X, 100)
	var images, right [10]int
	for i, l := range test.Labels {
		images[l]++
		if TopK(scores[i*10:(i+1)*10], 1)[0] == int(l) {
			right[l]++
		}
	}
	total := 0
	for _, r := range right {
		total += r
	}

	pic := filepath.Join(t.TempDir(), "confusion.png")
	status, stdout, stderr := run(lenetmnist.New(5), "--weights", w, "--data", "mnist", "--confusion", pic)
	if status != 0 || stderr != "" {
		t.Fatalf("status %d, stderr %s", status, stderr)
	}
	t.Logf("\n%s", stdout)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := fmt.Sprintf("accuracy %.4f on 10000 images of the mnist test set", float64(total)/10000)
	if lines[len(lines)-1] != want {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], want)
	}
	rows := 0
	for _, l := range lines {
		f := strings.Fields(l)
		c, err := strconv.Atoi(f[0])
		if len(f) != 13 || err != nil {
			continue // not a row of the table
		}
		rows++
		n, _ := strconv.Atoi(f[2])
		diag, _ := strconv.Atoi(f[3+c])
		sum := 0
		for _, v := range f[3:] {
			k, _ := strconv.Atoi(v)
			sum += k
		}
		if n != images[c] || sum != n || diag != right[c] {
			t.Errorf("row %q: want %d images, %d right", l, images[c], right[c])
		}
	}
	if rows != 10 {
		t.Errorf("%d table rows, want 10", rows)
	}
	f, err := os.Open(pic)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() < 400 {
		t.Errorf("confusion picture: %v", err)
	}
}

func TestLabelledSetErrors(t *testing.T) {
	w := writeWeights(t, lenetmnist.New(1), nil)
	for _, tc := range []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"--data", "mnist", "digit.png"}, 2, "give one of --input, image files and --data"},
		{[]string{"--data", "mnist", "--split", "val"}, 2, `--split must be test or train, not "val"`},
		{[]string{"--data", "imagenet"}, 1, `unknown data set "imagenet"`},
		{[]string{"--data", "cifar10", "--data-dir", t.TempDir()}, 1, "cifar10"},
	} {
		status, _, stderr := run(lenetmnist.New(1), append([]string{"--weights", w}, tc.args...)...)
		if status != tc.status || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%q: status %d, stderr %q; want %d, %q", tc.args, status, stderr, tc.status, tc.stderr)
		}
	}
}
