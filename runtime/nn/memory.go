package nn

// BatchBytes returns a lower bound of the memory a workspace of batch images takes: four
// bytes per float of each image's input and input gradient and of every layer's output
// and output gradient. Generated code adds scratch buffers per worker, so the real size is
// larger; callers compare this bound with the machine's memory before allocating, so that
// a batch that cannot fit is an error instead of an out-of-memory crash. It saturates
// instead of overflowing.
func (in *Info) BatchBytes(batch int) uint64 {
	perImage := uint64(2 * in.InputSize())
	for _, l := range in.Layers {
		perImage += 2 * uint64(l.Out[0]) * uint64(l.Out[1]) * uint64(l.Out[2])
	}
	perImage *= 4
	if batch <= 0 {
		return 0
	}
	if perImage > ^uint64(0)/uint64(batch) {
		return ^uint64(0)
	}
	return perImage * uint64(batch)
}
