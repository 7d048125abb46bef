package kernels

// freeList is a bounded free list of *T shared by goroutines: get returns a recycled
// value or a new one, put keeps a value for reuse unless the list is full. Neither blocks,
// and once values circulate neither allocates.
type freeList[T any] struct {
	c    chan *T
	newT func() *T // makes a value when the list is empty
}

func newFreeList[T any](size int, newT func() *T) *freeList[T] {
	return &freeList[T]{c: make(chan *T, size), newT: newT}
}

func (f *freeList[T]) get() *T {
	select {
	case x := <-f.c:
		return x
	default:
		return f.newT()
	}
}

func (f *freeList[T]) put(x *T) {
	select {
	case f.c <- x:
	default:
	}
}
