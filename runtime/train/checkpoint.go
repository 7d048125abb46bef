package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/netc-dev/netc/runtime/data"
	"github.com/netc-dev/netc/runtime/nn"
	"github.com/netc-dev/netc/runtime/safetensors"
)

// Checkpoint files in a run folder.
const (
	// CheckpointFile is the checkpoint of the latest epoch (or of the iteration at which
	// the run was stopped), replaced atomically each time.
	CheckpointFile = "checkpoint.safetensors"
	// BestFile is the checkpoint of the epoch with the best validation accuracy so far.
	BestFile = "best.safetensors"
)

// CheckpointFormat is the value of the "format" metadata of netc's checkpoints.
const CheckpointFormat = "netc-checkpoint-1"

// VelocityPrefix starts the names of the momentum tensors in a checkpoint: the velocity
// of "conv1.weight" is "velocity.conv1.weight".
const VelocityPrefix = "velocity."

// SecondMomentPrefix starts the names of Adam's second-moment tensors in a checkpoint
// (its first moment is the velocity): "second_moment.conv1.weight".
const SecondMomentPrefix = "second_moment."

// Metadata keys of a checkpoint (all values are strings; numbers in Go's shortest exact
// form, structures in JSON).
const (
	metaFormat      = "format"
	metaNetwork     = "network"
	metaSpecHash    = "spec_hash"
	metaIter        = "iteration"
	metaEpoch       = "epoch"
	metaItersEpoch  = "iters_per_epoch"
	metaLoader      = "loader"
	metaRNG         = "rng"
	metaInitialLoss = "initial_loss"
	metaEpochState  = "epoch_state"
	metaBestVal     = "best_val"
	metaPreprocess  = "preprocess"
	metaConfig      = "config"
	metaOptSteps    = "optimizer_steps"
)

// Checkpoint is the state of a training run as saved in a checkpoint file: everything but
// the tensors, which ResumeFrom and LoadWeights read. Checkpoints are safetensors files:
// one F32 tensor per parameter tensor of the network under its Info name
// ("conv1.weight", "meansub1.mean", ...), one per momentum buffer (VelocityPrefix +
// name) and, for Adam, one per second moment (SecondMomentPrefix + name), and the fields
// below as string metadata, so any safetensors reader (PyTorch's
// included) can open them; each batch norm's "<layer>.num_batches_tracked"
// (nn.BatchCounters), an I64 scalar of the optimizer steps, completes PyTorch's state.
type Checkpoint struct {
	// Path is the file the checkpoint was read from.
	Path string
	// Network and SpecHash identify the spec the network was generated from.
	Network, SpecHash string
	// Iter is the number of iterations done; Epoch the number of epochs completed.
	Iter, Epoch int
	// ItersPerEpoch is the number of iterations of one epoch of the run.
	ItersPerEpoch int
	// Loader is the data loader's state (seed, epoch, position).
	Loader data.LoaderState
	// RNG is the state of the workspace generator that draws the dropout masks.
	RNG uint64
	// InitialLoss is the loss of the run's first batch, the reference of the divergence
	// test.
	InitialLoss float64
	// BestVal is the best validation accuracy of the run so far (NaN if none).
	BestVal float64
	// Preprocess is the normalization fitted on the training split, which prediction
	// must apply to its inputs too.
	Preprocess data.Preprocess
	// Config is the run's configuration summary, as JSON.
	Config string
	// OptimizerSteps is the number of optimizer steps taken, which Adam's bias correction
	// counts (the iterations, for a checkpoint that does not say).
	OptimizerSteps int

	epoch epochState
	file  *safetensors.File
}

// epochState is the running sums of a partly done epoch, so that a run resumed in the
// middle of an epoch reports the same epoch line.
type epochState struct {
	LossSum  float64 `json:"loss_sum"`
	Correct  int     `json:"correct"`
	Seen     int     `json:"seen"`
	TrainSec float64 `json:"train_seconds"`
	Sec      float64 `json:"seconds"`
}

// writeTensors is safetensors.WriteFile; tests replace it to inject failures.
var writeTensors = safetensors.WriteFile

// saveCheckpoint writes the run's state to path atomically (a temporary file, synced,
// renamed over path), so that path always holds either the previous checkpoint or the
// complete new one.
func (t *trainer) saveCheckpoint(path string) error {
	info := t.info
	params := t.net.Params()
	vel, second := t.opt.Velocity(), t.opt.SecondMoment()
	tensors := make([]safetensors.Tensor, 0, 3*len(info.Params))
	for i := range info.Params {
		p := &info.Params[i]
		tensors = append(tensors, safetensors.Float32Tensor(p.Name, p.Shape, p.Data(params)))
		if len(vel) > 0 && !p.Buffer {
			tensors = append(tensors, safetensors.Float32Tensor(VelocityPrefix+p.Name, p.Shape, p.Data(vel)))
		}
		if len(second) > 0 && !p.Buffer {
			tensors = append(tensors, safetensors.Float32Tensor(SecondMomentPrefix+p.Name, p.Shape, p.Data(second)))
		}
	}
	names := make([]string, len(info.Params))
	for i, p := range info.Params {
		names[i] = p.Name
	}
	// PyTorch's BatchNorm state, for a strict load_state_dict; resuming does not read it.
	for _, c := range nn.BatchCounters(names) {
		tensors = append(tensors, safetensors.Int64Tensor(c, nil, []int64{int64(t.opt.Steps())}))
	}
	loader, _ := json.Marshal(t.loader.State())
	pre, err := json.Marshal(t.pre)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	ep, _ := json.Marshal(t.ep)
	meta := map[string]string{
		metaFormat:      CheckpointFormat,
		metaNetwork:     info.Name,
		metaSpecHash:    info.SpecHash,
		metaIter:        strconv.Itoa(t.iter),
		metaEpoch:       strconv.Itoa(t.iter / t.ipe),
		metaItersEpoch:  strconv.Itoa(t.ipe),
		metaLoader:      string(loader),
		metaRNG:         strconv.FormatUint(t.ws.RNG.State, 10),
		metaInitialLoss: fmtF64(t.initialLoss),
		metaEpochState:  string(ep),
		metaBestVal:     fmtF64(t.bestVal),
		metaPreprocess:  string(pre),
		metaConfig:      t.cfg.summaryJSON(),
		metaOptSteps:    strconv.Itoa(t.opt.Steps()),
	}
	if err := writeTensors(path, tensors, meta); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	return nil
}

func fmtF64(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ReadCheckpoint reads the metadata of a netc checkpoint (tensors are read on demand by
// the functions that need them). It fails on files that are not safetensors, or not
// netc checkpoints, with an error naming the file.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	meta := f.Metadata()
	if meta[metaFormat] != CheckpointFormat {
		return nil, fmt.Errorf("%s: not a netc checkpoint (metadata format %q, want %q)", path, meta[metaFormat], CheckpointFormat)
	}
	c := &Checkpoint{Path: path, Network: meta[metaNetwork], SpecHash: meta[metaSpecHash], Config: meta[metaConfig], file: f}
	bad := func(key string, err error) error {
		return fmt.Errorf("%s: checkpoint metadata %s %q: %v", path, key, meta[key], err)
	}
	ints := []struct {
		key string
		p   *int
	}{{metaIter, &c.Iter}, {metaEpoch, &c.Epoch}, {metaItersEpoch, &c.ItersPerEpoch}}
	for _, n := range ints {
		if *n.p, err = strconv.Atoi(meta[n.key]); err != nil || *n.p < 0 {
			return nil, bad(n.key, errors.New("not a whole number ≥ 0"))
		}
	}
	c.OptimizerSteps = -1
	if v, ok := meta[metaOptSteps]; ok {
		if c.OptimizerSteps, err = strconv.Atoi(v); err != nil || c.OptimizerSteps < 0 {
			return nil, bad(metaOptSteps, fmt.Errorf("%q is not a count of steps", v))
		}
	}
	if c.RNG, err = strconv.ParseUint(meta[metaRNG], 10, 64); err != nil {
		return nil, bad(metaRNG, err)
	}
	if c.InitialLoss, err = strconv.ParseFloat(meta[metaInitialLoss], 64); err != nil {
		return nil, bad(metaInitialLoss, err)
	}
	if c.BestVal, err = strconv.ParseFloat(meta[metaBestVal], 64); err != nil {
		return nil, bad(metaBestVal, err)
	}
	for _, j := range []struct {
		key string
		v   any
	}{{metaLoader, &c.Loader}, {metaEpochState, &c.epoch}, {metaPreprocess, &c.Preprocess}} {
		if err := json.Unmarshal([]byte(meta[j.key]), j.v); err != nil {
			return nil, bad(j.key, err)
		}
	}
	if key, err := c.validate(); err != nil {
		return nil, bad(key, err)
	}
	return c, nil
}

// validate checks that the metadata is consistent, as carefully as the tensors: it
// returns the key of the first wrong value and what is wrong with it. A damaged or
// hand-edited checkpoint must not show a training accuracy of 1862.5 or stop a resumed
// run with a false divergence.
func (c *Checkpoint) validate() (key string, err error) {
	ep := c.epoch
	switch {
	case c.ItersPerEpoch < 1:
		return metaItersEpoch, errors.New("must be at least 1")
	case c.Epoch != c.Iter/c.ItersPerEpoch:
		return metaEpoch, fmt.Errorf("iteration %d of %d per epoch is in epoch %d",
			c.Iter, c.ItersPerEpoch, c.Iter/c.ItersPerEpoch)
	case c.Iter > 0 && !(finite(c.InitialLoss) && c.InitialLoss > 0):
		return metaInitialLoss, errors.New("must be a finite number > 0 (the divergence test compares with it)")
	case !math.IsNaN(c.BestVal) && !(c.BestVal >= 0 && c.BestVal <= 1):
		return metaBestVal, errors.New("an accuracy must be in [0, 1] (or NaN for none yet)")
	case ep.Seen < 0 || ep.Correct < 0 || ep.Correct > ep.Seen:
		return metaEpochState, fmt.Errorf("%d correct of %d seen", ep.Correct, ep.Seen)
	case !nonNegative(ep.LossSum) || !nonNegative(ep.TrainSec) || !nonNegative(ep.Sec):
		return metaEpochState, errors.New("the loss sum and times must be finite numbers ≥ 0")
	case c.Loader.Epoch < 0 || c.Loader.Epoch > c.Epoch || c.Loader.Pos < 0:
		return metaLoader, fmt.Errorf("epoch %d, position %d: want epoch in [0, %d] and a position ≥ 0",
			c.Loader.Epoch, c.Loader.Pos, c.Epoch)
	}
	for _, v := range c.Preprocess.StdDev { // JSON has no NaN or Inf: only the sign can be wrong
		if v <= 0 {
			return metaPreprocess, fmt.Errorf("standard deviation %v: must be > 0", v)
		}
	}
	return "", nil
}

// checkLoader checks that the checkpoint's loader position lies within a training set of
// n images (its size is not known when the checkpoint is read).
func (c *Checkpoint) checkLoader(n int) error {
	if c.Loader.Pos > n {
		return fmt.Errorf("%s: checkpoint metadata %s: position %d is past the %d training images (another training set?)",
			c.Path, metaLoader, c.Loader.Pos, n)
	}
	return nil
}

// checkSpec refuses a checkpoint made for another spec than the network's, by the hash of
// the spec's source: the same source under another file name (another network name) is
// the same network.
func (c *Checkpoint) checkSpec(info *nn.Info) error {
	if c.SpecHash == info.SpecHash {
		return nil
	}
	if c.Network == info.Name {
		return fmt.Errorf("%s: checkpoint of another version of spec %q (hash %.12s), not of this network's (hash %.12s); train from scratch or use --weights to start from its matching tensors",
			c.Path, c.Network, c.SpecHash, info.SpecHash)
	}
	return fmt.Errorf("%s: checkpoint of spec %q (hash %.12s), not of %q (hash %.12s); cannot resume a different network",
		c.Path, c.Network, c.SpecHash, info.Name, info.SpecHash)
}

// restoreTensors copies the checkpoint's parameters (and velocity and Adam's second
// moment, when vel and second are not empty) into params, vel and second, checking every
// shape.
func (c *Checkpoint) restoreTensors(info *nn.Info, params, vel, second []float32) error {
	for i := range info.Params {
		p := &info.Params[i]
		w, err := c.file.FiniteFloat32(p.Name, p.Shape)
		if err != nil {
			return err
		}
		copy(p.Data(params), w)
		if len(vel) > 0 && !p.Buffer {
			v, err := c.file.FiniteFloat32(VelocityPrefix+p.Name, p.Shape)
			if err != nil {
				if errors.Is(err, safetensors.ErrNotFound) {
					return fmt.Errorf("%s: the checkpoint has no momentum for %s (was it trained with plain SGD?): %w", c.Path, p.Name, err)
				}
				return err
			}
			copy(p.Data(vel), v)
		}
		if len(second) > 0 && !p.Buffer {
			v, err := c.file.FiniteFloat32(SecondMomentPrefix+p.Name, p.Shape)
			if err != nil {
				if errors.Is(err, safetensors.ErrNotFound) {
					return fmt.Errorf("%s: the checkpoint has no second moment for %s (was it trained without Adam?): %w",
						c.Path, p.Name, err)
				}
				return err
			}
			copy(p.Data(second), v)
		}
	}
	return nil
}

// LoadWeights loads into net's parameters every tensor of the safetensors file at path
// (a netc checkpoint, or weights exported by another tool under the same names) whose
// name and shape match one of the network's parameter tensors (Info().Params), for
// prediction or fine-tuning. It returns the names of the tensors loaded and of the
// network's tensors left as they were (missing from the file or of another shape);
// the file's other tensors (momentum, or layers the network lacks) are ignored. The
// spec hash is not checked: this is how a network starts from another's weights. It is
// an error only when the file cannot be read or a matching tensor cannot be converted to
// float32 or holds NaN or ±Inf; loading nothing is not an error, so check loaded.
func LoadWeights(path string, net nn.Network) (loaded, skipped []string, err error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	info := net.Info()
	params := net.Params()
	for i := range info.Params {
		p := &info.Params[i]
		t, ok := f.Tensor(p.Name)
		if !ok || !sameShape(t.Shape, p.Shape) {
			skipped = append(skipped, p.Name)
			continue
		}
		w, err := f.FiniteFloat32(p.Name, p.Shape)
		if err != nil {
			return loaded, skipped, err
		}
		copy(p.Data(params), w)
		loaded = append(loaded, p.Name)
	}
	return loaded, skipped, nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// nonNegative reports whether v is a finite number ≥ 0.
func nonNegative(v float64) bool { return finite(v) && v >= 0 }

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
