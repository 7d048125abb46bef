package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The worker pool: goroutines started once (lazily, on the first parallel call) that wait
// for work. A parallel call hands its job only to workers that are idle at that moment and
// runs the chunks nobody picked up itself, so a call never waits for a busy worker: calls
// from several goroutines at once, or nested calls from inside a body, cannot deadlock, and
// a call made while every worker is busy simply runs serially on its own goroutine.

// pfJob is one ParallelFor call. Chunks are claimed through next by the caller and by the
// workers it recruited; wg counts the chunks not yet finished. A recruited worker that
// wakes up late finds nothing to claim, so the caller never waits for a worker to wake up,
// only for chunks that are running. refs counts the goroutines still holding the job
// (the caller and the recruited workers); the last one recycles it.
type pfJob struct {
	body   func(lo, hi int)
	n      int
	chunks int32
	next   atomic.Int32
	left   atomic.Int32 // chunks not finished, for polling
	wg     sync.WaitGroup
	refs   atomic.Int32
}

type worker struct {
	jobs chan *pfJob
}

const maxWorkers = 256

var pool struct {
	mu      sync.Mutex
	workers int              // started so far (guarded by mu)
	idle    chan *worker     // workers waiting for a job
	jobs    *freeList[pfJob] // job records
}

var started atomic.Int32 // pool.workers, readable without the lock

func init() {
	pool.idle = make(chan *worker, maxWorkers)
	pool.jobs = newFreeList(maxWorkers, func() *pfJob { return new(pfJob) })
}

// ensureWorkers starts workers until there are at least want of them.
func ensureWorkers(want int) {
	if want > maxWorkers {
		want = maxWorkers
	}
	pool.mu.Lock()
	for pool.workers < want {
		w := &worker{jobs: make(chan *pfJob, 1)}
		pool.workers++
		go w.loop()
		pool.idle <- w
	}
	started.Store(int32(pool.workers))
	pool.mu.Unlock()
}

// spinFor is how long an idle worker keeps polling for a new job before it blocks. Waking
// a blocked thread costs tens of microseconds (more in a VM), which would dominate the
// back-to-back parallel steps of a GEMM or of consecutive layers; polling (yielding the P
// to any other runnable goroutine each time) avoids that.
const spinFor = 200 * time.Microsecond

// spinPolls is how many times an idle worker looks at its channel between yields, about
// 10 µs.
const spinPolls = 10000

func (w *worker) next() *pfJob {
	select {
	case j := <-w.jobs:
		return j
	default:
	}
	deadline := time.Now().Add(spinFor)
	for {
		// Poll without yielding most of the time: a yield goes through the scheduler for
		// microseconds, and a job handed over meanwhile would wait for it.
		for range spinPolls {
			if len(w.jobs) > 0 {
				return <-w.jobs
			}
		}
		runtime.Gosched()
		select {
		case j := <-w.jobs:
			return j
		default:
		}
		if time.Now().After(deadline) {
			return <-w.jobs
		}
	}
}

func (w *worker) loop() {
	for {
		j := w.next()
		j.run(w)
		j.release()
	}
}

// run claims and runs chunks until none are left, for the caller (w nil) or for worker
// w, which it returns to the idle workers before it finishes its last chunk. The caller
// returns when the last chunk is done, and often makes its next call at once (the next
// block of a GEMM, the next layer): a worker that became idle only after finishing would
// still be missing from the idle list then, and that call would run serially.
func (j *pfJob) run(w *worker) {
	n, c := j.n, int(j.chunks)
	for i := int(j.next.Add(1)) - 1; ; {
		if i >= c { // nothing left to claim
			if w != nil {
				pool.idle <- w
			}
			return
		}
		j.body(i*n/c, (i+1)*n/c)
		next := int(j.next.Add(1)) - 1
		if next >= c && w != nil {
			pool.idle <- w
			w = nil // returned already
		}
		j.left.Add(-1)
		j.wg.Done()
		i = next
	}
}

func (j *pfJob) release() {
	if j.refs.Add(-1) == 0 {
		j.body = nil
		pool.jobs.put(j)
	}
}

// ParallelFor splits [0, n) into at most GOMAXPROCS contiguous chunks of nearly equal size
// and calls body(lo, hi) once for each, running one chunk on the calling goroutine and the
// others on the persistent worker pool (GOMAXPROCS-1 goroutines started on first use). It
// returns when every chunk is done.
//
// body may be called concurrently from several goroutines and must be safe for that; the
// chunks are disjoint. Nested calls (from inside a body, including on a pool worker) and
// concurrent calls are allowed and cannot deadlock: a call hands chunks only to workers
// that are idle at that moment and runs the rest itself, so when the pool is busy (as it
// is inside a parallel body) the call simply runs serially. ParallelFor allocates nothing per call once warmed up, as long
// as body is not a new closure allocated for the call (reuse a func value to avoid that).
// A panic in a body running on a worker terminates the program.
func ParallelFor(n int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	p := runtime.GOMAXPROCS(0)
	if p > n {
		p = n
	}
	if p <= 1 {
		body(0, n)
		return
	}
	if want := min(p-1, maxWorkers); int(started.Load()) < want {
		ensureWorkers(want)
	}
	j := pool.jobs.get()
	j.body, j.n, j.chunks = body, n, int32(p)
	j.next.Store(0)
	j.left.Store(int32(p))
	j.wg.Add(p)
	j.refs.Store(1)
recruit:
	for helpers := 0; helpers < p-1; helpers++ {
		select {
		case w := <-pool.idle:
			j.refs.Add(1)
			w.jobs <- j
		default:
			break recruit
		}
	}
	j.run(nil)
	// Chunks still running on workers usually finish about when the caller's do: poll
	// briefly before blocking, which saves a park and wake-up of this goroutine.
	for spin := 0; spin < 1000 && j.left.Load() > 0; spin++ {
	}
	j.wg.Wait()
	j.release()
}
