package train

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
	"github.com/netc-dev/netc/testdata/golden/lenetmnist"
)

// bigNet is a network of one large tensor that only checkpoints use.
type bigNet struct {
	info          nn.Info
	params, grads []float32
}

func newBigNet() *bigNet {
	const rows, cols = 2048, 1024
	n := &bigNet{info: nn.Info{
		Name: "big", SpecHash: "feed", InC: 1, InH: 1, InW: 1, Outputs: 1, Loss: "euclidean", NumParams: rows * cols,
		Params: []nn.ParamTensor{{Name: "full1.weight", Size: rows * cols, Shape: []int{rows, cols}, LRMult: 1}},
	}}
	n.params, n.grads = make([]float32, rows*cols), make([]float32, rows*cols)
	return n
}

func (n *bigNet) Info() *nn.Info    { return &n.info }
func (n *bigNet) Params() []float32 { return n.params }
func (n *bigNet) Grads() []float32  { return n.grads }
func (n *bigNet) NewWorkspace(batch int) *nn.Workspace {
	return nn.NewWorkspace(batch, 0, 0, 1)
}
func (n *bigNet) Forward(*nn.Workspace, []float32, bool) []float32 { return nil }
func (n *bigNet) Backward(*nn.Workspace, []int32) float32          { return 0 }

// checkpointer returns a trainer of n able to write checkpoints.
func checkpointer(t testing.TB, n nn.Network) *trainer {
	opt, err := NewOptimizer(OptimizerConfig{Method: MethodMomentum, Momentum: 0.9}, n.Info())
	if err != nil {
		t.Fatal(err)
	}
	return &trainer{net: n, info: n.Info(), cfg: DefaultConfig(nil), opt: opt, ipe: 10,
		loader: data.NewLoader(&data.Dataset{C: 1, H: 1, W: 1}, 1, 1), ws: n.NewWorkspace(1),
		initialLoss: math.Log(10), bestVal: math.NaN()}
}

const writerEnv = "NETC_TEST_CHECKPOINT_WRITER"

// TestCheckpointSurvivesKill kills a process that writes checkpoints without pause at
// random moments (SIGKILL: no chance to clean up) and checks that the checkpoint file
// is complete and consistent each time: the atomic write's temporary file, sync and
// rename leave either the old checkpoint or the new one.
func TestCheckpointSurvivesKill(t *testing.T) {
	if env := os.Getenv(writerEnv); env != "" {
		dir, base, _ := strings.Cut(env, ",")
		start, _ := strconv.Atoi(base)
		writeForever(t, dir, start)
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, CheckpointFile)
	for round := range 6 {
		base := (round + 1) * 1000000
		cmd := exec.Command(os.Args[0], "-test.run=^TestCheckpointSurvivesKill$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", writerEnv, dir, base))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for this writer's first checkpoint, then kill it a little later, most
		// likely in the middle of another write.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if ck, err := ReadCheckpoint(path); err == nil && ck.Iter >= base {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no checkpoint after 30 s\n%s", stderr.String())
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(5+17*round) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		ck, err := ReadCheckpoint(path)
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, stderr.String())
		}
		n := newBigNet()
		loaded, _, err := LoadWeights(path, n)
		if err != nil || len(loaded) != 1 {
			t.Fatalf("round %d: %v %v", round, loaded, err)
		}
		for i, v := range n.params {
			if v != float32(ck.Iter) {
				t.Fatalf("round %d: weight %d is %v in the checkpoint of iteration %d", round, i, v, ck.Iter)
			}
		}
		t.Logf("round %d: killed after %d checkpoints; the last is intact", round, ck.Iter-base+1)
	}
}

// writeForever writes checkpoints of a bigNet whose weights all equal the iteration.
func writeForever(t *testing.T, dir string, start int) {
	n := newBigNet()
	tr := checkpointer(t, n)
	for i := start; ; i++ {
		for j := range n.params {
			n.params[j] = float32(i)
		}
		tr.iter = i
		if err := tr.saveCheckpoint(filepath.Join(dir, CheckpointFile)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckpointWriteFailure injects a failing write at the end of an epoch: the run
// stops with an error and the previous checkpoint stays as it was.
func TestCheckpointWriteFailure(t *testing.T) {
	train, _ := mnist(t, 200, 0)
	cfg := mnistConfig(t, 1)
	cfg.RunDir = t.TempDir()
	res, err := Train(lenetmnist.New(1), train, nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(res.Checkpoint)
	defer func(w func(string, []safetensors.Tensor, map[string]string) error) { writeTensors = w }(writeTensors)
	writeTensors = func(path string, tensors []safetensors.Tensor, meta map[string]string) error {
		// Half a file in a temporary, then the disk fills up.
		var buf bytes.Buffer
		safetensors.Write(&buf, tensors, meta)
		os.WriteFile(path+".tmp-partial", buf.Bytes()[:buf.Len()/2], 0o644)
		return errors.New("no space left on device")
	}
	train, _ = mnist(t, 200, 0)
	cfg.Epochs, cfg.Resume, cfg.RunDir = 2, res.Checkpoint, ""
	_, err = Train(lenetmnist.New(1), train, nil, nil, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "epoch 2: writing checkpoint: no space left on device (the previous checkpoint is intact)") {
		t.Errorf("error %v", err)
	}
	after, _ := os.ReadFile(res.Checkpoint)
	if !bytes.Equal(good, after) {
		t.Error("the checkpoint changed")
	}
	if _, err := ReadCheckpoint(res.Checkpoint); err != nil {
		t.Error(err)
	}
}

func TestReadCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	// Not a netc checkpoint: plain weights.
	plain := filepath.Join(dir, "plain.safetensors")
	if err := safetensors.WriteFile(plain, []safetensors.Tensor{safetensors.Float32Tensor("w", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCheckpoint(plain); err == nil || !strings.Contains(err.Error(), "not a netc checkpoint") {
		t.Errorf("plain weights: %v", err)
	}
	// Not safetensors at all.
	junk := filepath.Join(dir, "junk.safetensors")
	os.WriteFile(junk, []byte("hello"), 0o644)
	if _, err := ReadCheckpoint(junk); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("junk: %v", err)
	}
	// Bad metadata names the key.
	tr := checkpointer(t, lenetmnist.New(1))
	path := filepath.Join(dir, CheckpointFile)
	if err := tr.saveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	f, _ := safetensors.ReadFile(path)
	meta := f.Metadata()
	meta[metaLoader] = "{"
	safetensors.WriteFile(path, f.Tensors(), meta)
	if _, err := ReadCheckpoint(path); err == nil || !strings.Contains(err.Error(), "metadata loader") {
		t.Errorf("bad loader state: %v", err)
	}
}

// TestCheckpointMetadataValidated: every inconsistent metadata value is refused, naming
// its key, instead of showing an accuracy of 1862.5 or stopping a resumed run with a false
// divergence; so are non-finite tensors.
func TestCheckpointMetadataValidated(t *testing.T) {
	dir := t.TempDir()
	n := lenetmnist.New(1)
	tr := checkpointer(t, n)
	tr.iter, tr.ep = 25, epochState{LossSum: 12, Correct: 3, Seen: 4}
	tr.loader.SetState(data.LoaderState{Seed: 1, Epoch: 2, Pos: 5})
	good := filepath.Join(dir, "good.safetensors")
	if err := tr.saveCheckpoint(good); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCheckpoint(good); err != nil {
		t.Fatalf("a good checkpoint: %v", err)
	}
	f, err := safetensors.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(name, key, value string, tensors []safetensors.Tensor) string {
		md := f.Metadata()
		if key != "" {
			md[key] = value
		}
		path := filepath.Join(dir, name+".safetensors")
		if err := safetensors.WriteFile(path, tensors, md); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct{ key, value, want string }{
		{metaEpochState, `{"loss_sum":12,"correct":149,"seen":8}`, "149 correct of 8 seen"},
		{metaEpochState, `{"loss_sum":-1,"correct":1,"seen":8}`, "finite numbers ≥ 0"},
		{metaInitialLoss, "-2.3", "must be a finite number > 0"},
		{metaInitialLoss, "NaN", "must be a finite number > 0"},
		{metaBestVal, "1.5", "must be in [0, 1]"},
		{metaItersEpoch, "0", "must be at least 1"},
		{metaEpoch, "7", "iteration 25 of 10 per epoch is in epoch 2"},
		{metaLoader, `{"seed":1,"epoch":9,"pos":5}`, "want epoch in [0, 2]"},
		{metaLoader, `{"seed":1,"epoch":2,"pos":-3}`, "position ≥ 0"},
		{metaPreprocess, `{"kind":"none","std":true,"c":1,"h":28,"w":28,"std_dev":[0]}`, "standard deviation 0"},
	} {
		path := rewrite(tc.key, tc.key, tc.value, f.Tensors())
		_, err := ReadCheckpoint(path)
		if err == nil || !strings.Contains(err.Error(), "checkpoint metadata "+tc.key) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.key, tc.value, err, tc.want)
		}
	}

	// The loader's position must lie within the training set resumed on.
	ck, err := ReadCheckpoint(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := ck.checkLoader(5); err != nil {
		t.Errorf("position 5 of 5 images: %v", err)
	}
	if err := ck.checkLoader(4); err == nil || !strings.Contains(err.Error(), "position 5 is past the 4 training images") {
		t.Errorf("position 5 of 4 images: %v", err)
	}

	// A NaN weight or velocity: the checkpoint reads, but resuming from it is refused.
	for _, name := range []string{"conv1.bias", VelocityPrefix + "full1.weight"} {
		ts := f.Tensors()
		for i := range ts {
			if ts[i].Name == name {
				ts[i].Data = bytes.Clone(ts[i].Data)
				copy(ts[i].Data[4:], []byte{0, 0, 0xc0, 0x7f}) // value 1: NaN
			}
		}
		ck, err := ReadCheckpoint(rewrite("nan", "", "", ts))
		if err != nil {
			t.Fatal(err)
		}
		err = ck.restoreTensors(n.Info(), make([]float32, len(n.Params())), make([]float32, len(n.Params())), nil)
		if !errors.Is(err, safetensors.ErrNotFinite) || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("NaN in %s: %v", name, err)
		}
	}
}
