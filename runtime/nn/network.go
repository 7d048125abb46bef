// Package nn is what netc-generated networks link to: the Network interface that the
// training loop and every tool use, the per-batch Workspace, parameter metadata, seeded
// random numbers and initialization, and what every generated package would otherwise
// repeat: Split (the batch split over the workers, their gradients, the loops over the
// images), Packing and Ones. It is named nn, not runtime, so that it does not
// shadow Go's own runtime package. The kernels generated code calls are in
// runtime/kernels; the tools (training, data, export, benchmarks) live in the other
// packages under runtime/.
package nn

// SupportPackageIsVersion1 is referenced by generated code so that a package generated for
// another runtime version fails to compile instead of misbehaving.
const SupportPackageIsVersion1 = true

// Network is implemented by every netc-generated network.
type Network interface {
	// Info describes the network: input shape, layers, loss and parameter tensors.
	Info() *Info
	// Params is every learnable parameter in one flat slice; Info().Params names its parts.
	Params() []float32
	// Grads has the layout of Params and receives the gradients computed by Backward.
	Grads() []float32
	// NewWorkspace allocates every buffer a batch of the given size needs, once.
	NewWorkspace(batch int) *Workspace
	// Forward runs the network on x (batch × InC × InH × InW, C,H,W order per image) and
	// returns the scores (batch × Outputs), which stay valid until the next Forward on ws.
	// In training mode dropout is active; in test mode it is the identity.
	Forward(ws *Workspace, x []float32, train bool) []float32
	// Backward computes the loss of the last Forward on ws against labels (one class per
	// image; for the euclidean loss, ws.Targets if set, else one-hot labels), fills Grads
	// (overwriting them) and ws.InputGrad (unless nil), and returns the mean loss over the
	// batch.
	Backward(ws *Workspace, labels []int32) float32
}

// Workspace holds every activation, gradient and scratch buffer of one batch size, so that
// a training step allocates nothing. Its layout belongs to the generated code that made it.
type Workspace struct {
	// Batch is the number of images the workspace was sized for.
	Batch int
	// Buf holds every image's activations, their gradients and what else the layers keep
	// per image, at offsets fixed by the generated code; the workers' scratch space is
	// Private's.
	Buf []float32
	// Index holds integer state of the last Forward, such as the argmax of max pools.
	Index []int32
	// RNG draws dropout masks; seed it for reproducible training.
	RNG RNG
	// Targets, if non-nil, are the regression targets (batch × Outputs) of the euclidean
	// loss.
	Targets []float32
	// LabelSmoothing is ε in [0, 1) of the softmax loss (PyTorch's label_smoothing): an
	// image of class y has the target (1−ε)·onehot(y) + ε/K over the K classes.
	LabelSmoothing float32
	// InputGrad receives the gradient of the loss with respect to the input of the last
	// Forward, when Backward runs. Set it to nil when that gradient is not wanted (training
	// does): Backward then skips the work that only it needs.
	InputGrad []float32
	// Profile, if set, records the time spent in each layer (see Profile). Its number of
	// workers must be at least Workers.
	Profile *Profile
	// Workers is the number of goroutines the generated code splits a batch over.
	Workers int
	// Private is the generated code's own state for this workspace (which embeds a Split).
	Private any
}

// NewWorkspace returns a workspace of the given sizes, with no Private state; generated
// code makes its workspaces with Split.Init, which calls it.
func NewWorkspace(batch, floats, ints, inputSize int) *Workspace {
	return &Workspace{
		Batch:     batch,
		Buf:       make([]float32, floats),
		Index:     make([]int32, ints),
		RNG:       NewRNG(1),
		InputGrad: make([]float32, batch*inputSize),
	}
}
