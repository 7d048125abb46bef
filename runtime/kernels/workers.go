package kernels

import "runtime"

// Workers is how many goroutines ParallelFor splits work over: GOMAXPROCS. Generated code
// sizes its per-worker buffers with it when it makes a workspace.
func Workers() int { return runtime.GOMAXPROCS(0) }
