package kernels

import (
	"fmt"
	"runtime"
	"unsafe"
)

// parallelMinFlops is the size (2·m·n·k) below which Sgemm stays on the calling goroutine:
// handing work to the pool costs about a microsecond while its workers are still polling
// (see spinFor), a few tens of microseconds to wake one that went to sleep, and more when
// the other cores are busy with other work (see directParallelMin, the same threshold).
var parallelMinFlops = float64(1 << 25)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32 matrices, where
// op(X) is X or Xᵀ as transA/transB say, op(A) is m×k, op(B) is k×n and C is m×n, with
// leading dimensions (row strides) lda, ldb and ldc. As in BLAS, beta == 0 overwrites C
// without reading it (NaNs in C do not propagate) and k == 0 or alpha == 0 only scales C.
//
// Large products are split over GOMAXPROCS goroutines of the worker pool (see
// ParallelFor); small ones, below about 4 MFLOP, run on the calling goroutine. Sgemm does
// not allocate in steady state. It panics if a slice is too short or a stride too small.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemm(cur, true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that already run
// several products in parallel (for example one per image of a batch).
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	gemm(cur, false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("A", transA, m, k, a, lda)
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
}

// checkMatrix checks that x holds op(X), r×c, stored row-major with stride ld.
func checkMatrix(name string, trans bool, r, c int, x []float32, ld int) {
	if trans {
		r, c = c, r
	}
	if ld < c {
		panic(fmt.Sprintf("kernels: Sgemm: ld%s=%d < %d columns", lowerName(name), ld, c))
	}
	if r == 0 || c == 0 {
		return
	}
	if need := (r-1)*ld + c; len(x) < need {
		panic(fmt.Sprintf("kernels: Sgemm: len(%s)=%d < %d for %d×%d with stride %d", name, len(x), need, r, c, ld))
	}
}

func lowerName(s string) string {
	switch s {
	case "A":
		return "a"
	case "B":
		return "b"
	}
	return "c"
}

// gemmArgs is one (sub-)problem of gemm.
type gemmArgs struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
}

func gemm(im *impl, parallel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(im, m, n, beta, c, ldc)
		return
	}
	pl := getPlan(im, &gemmArgs{transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc})
	if parallel && 2*float64(m)*float64(n)*float64(k) >= parallelMinFlops {
		if p := runtime.GOMAXPROCS(0); p > 1 && (pl.bandSplit(p) || pl.parallel(p)) {
			putPlan(pl)
			return
		}
	}
	pl.serial()
	putPlan(pl)
}

// scaleMatrix computes C = beta·C (beta == 0 writes zeros).
func scaleMatrix(im *impl, m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else {
			im.scale(beta, row)
		}
	}
}

// gemmPlan is one product in progress: the arguments, the packing decisions and the
// current kc×nc block of op(B), packed once and shared read-only by all workers.
type gemmPlan struct {
	im               *impl
	sh               *gemmShape
	g                gemmArgs
	doPackA, doPackB bool

	// The current block: columns [jc, jc+nb) and steps [pc, pc+kb) of op(B).
	jc, nb, pc, kb int
	beta           float32  // g.beta for the first step block, then 1
	buf            *gemmBuf // holds the packed block of B (buf.b) or its packed right edge

	// Parallel runs: the rows (splitM) or columns of C are cut into units of whole
	// micro-tiles; packFn and runFn are bound once so that calls do not allocate.
	splitM        bool
	packFn, runFn func(lo, hi int)
	// Or, when bands is set, parts serial products on bands of rows, or of columns when
	// colBands is set too (see bandSplit).
	bands, colBands bool
	parts           int
}

// gemmPlans is set in init: a plan's run may take another plan from it (see runBand).
var gemmPlans *freeList[gemmPlan]

func init() {
	gemmPlans = newFreeList(64, func() *gemmPlan {
		pl := new(gemmPlan)
		pl.packFn = pl.packPanels
		pl.runFn = pl.run
		return pl
	})
}

func getPlan(im *impl, g *gemmArgs) *gemmPlan {
	pl := gemmPlans.get()
	sh := &im.gemm
	pl.im, pl.sh, pl.g = im, sh, *g
	// A B panel read by at most two row panels is read in place whatever its stride: at
	// worst it comes from memory twice, against three passes to pack it.
	pl.doPackB = !sh.direct || g.transB || g.m > packBPanels*sh.mr || g.m > 2*sh.mr && !rowsFitL2(g.ldb, min(sh.kc, g.k))
	pl.doPackA = !sh.direct || g.n > packAPanels*sh.nr
	pl.buf = getGemmBuf()
	return pl
}

func putPlan(pl *gemmPlan) {
	putGemmBuf(pl.buf)
	pl.buf = nil
	pl.g = gemmArgs{} // drop references to the caller's slices
	gemmPlans.put(pl)
}

// setBlock selects the block of op(B) at (jc, pc) and prepares its buffers; the caller
// then packs it with packPanels.
func (pl *gemmPlan) setBlock(jc, pc int) {
	sh, g := pl.sh, &pl.g
	pl.jc, pl.nb = jc, min(sh.nc, g.n-jc)
	pl.pc, pl.kb = pc, min(sh.kc, g.k-pc)
	pl.beta = g.beta
	if pc > 0 {
		pl.beta = 1
	}
	if pl.doPackB {
		pl.buf.b = grow(pl.buf.b, min(sh.kc, g.k)*roundUp(min(sh.nc, g.n), sh.nr))
	} else {
		pl.buf.bEdge = grow(pl.buf.bEdge, min(sh.kc, g.k)*sh.nr)
	}
}

// bPanels is the number of micro-panels of the current block that packPanels packs.
func (pl *gemmPlan) bPanels() int {
	if pl.doPackB {
		return (pl.nb + pl.sh.nr - 1) / pl.sh.nr
	}
	if pl.nb%pl.sh.nr != 0 {
		return 1 // only the right edge
	}
	return 0
}

// packPanels packs micro-panels [q0, q1) of the current block of op(B).
func (pl *gemmPlan) packPanels(q0, q1 int) {
	sh, g := pl.sh, &pl.g
	nr, kb := sh.nr, pl.kb
	if !pl.doPackB {
		e := pl.nb % nr
		packB(sh, pl.buf.bEdge[:kb*nr], g.b, g.ldb, g.transB, pl.pc, pl.jc+pl.nb-e, kb, e)
		return
	}
	j0, j1 := q0*nr, min(q1*nr, pl.nb)
	packB(sh, pl.buf.b[q0*nr*kb:q1*nr*kb], g.b, g.ldb, g.transB, pl.pc, pl.jc+j0, kb, j1-j0)
}

func (pl *gemmPlan) serial() {
	buf := getGemmBuf()
	for jc := 0; jc < pl.g.n; jc += pl.sh.nc {
		for pc := 0; pc < pl.g.k; pc += pl.sh.kc {
			pl.setBlock(jc, pc)
			if n := pl.bPanels(); n > 0 {
				pl.packPanels(0, n)
			}
			pl.block(0, pl.g.m, 0, pl.nb, buf)
		}
	}
	putGemmBuf(buf)
}

// parallel runs the product on p goroutines of the pool: for each block of op(B), the
// workers pack its panels together, then each computes a band of rows (or columns) of C
// from it, packing its own panels of op(A). It reports false (doing nothing) if the
// product cannot be split.
func (pl *gemmPlan) parallel(p int) bool {
	sh, g := pl.sh, &pl.g
	// Cut the dimension that balances best; rows are preferred (with the shared B block,
	// cutting columns makes every worker pack the same panels of A).
	effM := splitEfficiency(g.m, sh.mr, p)
	effN := splitEfficiency(min(g.n, sh.nc), sh.nr, p)
	pl.splitM = effM >= effN-0.05
	units := (g.m + sh.mr - 1) / sh.mr
	if !pl.splitM {
		units = (min(g.n, sh.nc) + sh.nr - 1) / sh.nr
	}
	if units < 2 {
		return false
	}
	for jc := 0; jc < g.n; jc += sh.nc {
		for pc := 0; pc < g.k; pc += sh.kc {
			pl.setBlock(jc, pc)
			if n := pl.bPanels(); n > 1 {
				ParallelFor(n, pl.packFn)
			} else if n == 1 {
				pl.packPanels(0, 1)
			}
			u := units
			if !pl.splitM {
				u = (pl.nb + sh.nr - 1) / sh.nr
			}
			ParallelFor(u, pl.runFn)
		}
	}
	return true
}

// bandSplit runs the product as p serial products on bands of C, one handoff to the pool,
// where parallel needs two per block of op(B) and keeps the workers in step. Each band
// packs its own copy of the operand the bands share, so the bands go across the smaller
// one if they can: bands of columns, each packing all of op(A), when n > m, else bands of
// rows, each packing all of op(B). The split must be even, into bands of at least
// bandMinPanels micro-panels; bandSplit reports false (doing nothing) if neither way is.
// On AlexNet's convolutions at batch 1, row bands double the speed of the two-core
// product (BenchmarkSgemmConv: 46 → 103 GFLOP/s on conv3, 384 rows by 169 columns), and
// column bands make conv1 (96 by 3025) 15% faster than row bands.
func (pl *gemmPlan) bandSplit(p int) bool {
	even := func(n, u int) bool { return n >= p*bandMinPanels*u && splitEfficiency(n, u, p) >= 0.9 }
	rows, cols := even(pl.g.m, pl.sh.mr), even(pl.g.n, pl.sh.nr)
	if !rows && !cols {
		return false
	}
	pl.bands, pl.colBands, pl.parts = true, cols && (pl.g.n > pl.g.m || !rows), p
	ParallelFor(p, pl.runFn)
	pl.bands = false
	return true
}

// bandMinPanels is the fewest micro-panels a band of bandSplit gets: fewer would not pay
// for packing all of the other operand again.
const bandMinPanels = 8

// runBand computes band [lo, hi) of C's rows, or of its columns with colBands, as a
// serial product.
func (pl *gemmPlan) runBand(lo, hi int) {
	g := pl.g
	switch {
	case pl.colBands:
		g.n = hi - lo
		if g.transB {
			g.b = g.b[lo*g.ldb:]
		} else {
			g.b = g.b[lo:]
		}
		g.c = g.c[lo:]
	default:
		g.m = hi - lo
		if g.transA {
			g.a = g.a[lo:]
		} else {
			g.a = g.a[lo*g.lda:]
		}
		g.c = g.c[lo*g.ldc:]
	}
	sub := getPlan(pl.im, &g)
	sub.serial()
	putPlan(sub)
}

// splitEfficiency is the fraction of n (in units of u) that the largest of p contiguous
// chunks of whole units would leave the others short of: 1 is a perfect balance.
func splitEfficiency(n, u, p int) float64 {
	units := (n + u - 1) / u
	if units < 2 {
		return 0
	}
	c := min(p, units)
	largest := 0
	for i := 0; i < c; i++ {
		lo, hi := i*units/c*u, min((i+1)*units/c*u, n)
		largest = max(largest, hi-lo)
	}
	return float64(n) / float64(c*largest)
}

// run computes the band [lo, hi) of units of the current block (ParallelFor body).
func (pl *gemmPlan) run(lo, hi int) {
	if pl.bands {
		n, u := pl.g.m, pl.sh.mr
		if pl.colBands {
			n, u = pl.g.n, pl.sh.nr
		}
		units := (n + u - 1) / u
		pl.runBand(lo*units/pl.parts*u, min(hi*units/pl.parts*u, n))
		return
	}
	buf := getGemmBuf()
	if pl.splitM {
		pl.block(lo*pl.sh.mr, min(hi*pl.sh.mr, pl.g.m), 0, pl.nb, buf)
	} else {
		pl.block(0, pl.g.m, lo*pl.sh.nr, min(hi*pl.sh.nr, pl.nb), buf)
	}
	putGemmBuf(buf)
}

// gemmBuf holds one goroutine's packed panels and edge tile. Buffers live on a free list
// and only grow, so steady-state calls allocate nothing.
type gemmBuf struct {
	a, b, tile   []float32
	flat         []float32 // a direct convolution's output rows laid end to end (see directConvFlat)
	aEdge, bEdge []float32
	rows         []int32 // a direct convolution's tap offsets for an edge tile
}

var gemmBufs = newFreeList(64, func() *gemmBuf { return new(gemmBuf) })

func getGemmBuf() *gemmBuf { return gemmBufs.get() }

func putGemmBuf(b *gemmBuf) { gemmBufs.put(b) }

// grow returns s with length n, reallocating (64-byte aligned) if its capacity is short.
func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	raw := make([]float32, n+16)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) & 63); r != 0 {
		off = (64 - r) / 4
	}
	return raw[off : off+n : off+n]
}

// Packing thresholds for kernels that can read operands in place: op(B) is packed when
// its micro-panels are reused by more than packBPanels row panels of A, and op(A) when
// its panels are reused by more than packAPanels column panels of B. Below that, copying
// costs more than the cache misses and strided loads it saves.
var (
	packBPanels = 4
	packAPanels = 4
)

// block computes rows [i0, i1) and columns [j0, j1) (relative to the block, j0 a
// multiple of nr) of C for the current block of op(B): for each mc×kb block of op(A),
// pack it into mr-tall micro-panels (unless the kernel reads A in place), then run the
// micro-kernel over every mr×nr tile, the B micro-panel staying in L1 across the rows.
// Partial panels at the edges are always packed, zero-padded; tiles on the right edge are
// computed into a scratch tile and merged.
func (pl *gemmPlan) block(i0, i1, j0, j1 int, buf *gemmBuf) {
	sh, g := pl.sh, &pl.g
	mr, nr := sh.mr, sh.nr
	kb, pc, jc := pl.kb, pl.pc, pl.jc
	beta := pl.beta
	kernel := sh.kernel
	a, lda, b, ldb, c, ldc := g.a, g.lda, g.b, g.ldb, g.c, g.ldc
	kcMax := min(sh.kc, g.k)
	if pl.doPackA {
		buf.a = grow(buf.a, kcMax*roundUp(min(sh.mc, roundUp(g.m, mr)), mr))
	}
	buf.aEdge = grow(buf.aEdge, kcMax*mr)
	buf.tile = grow(buf.tile, mr*nr)
	tile := buf.tile

	for ic := i0; ic < i1; ic += sh.mc {
		mb := min(sh.mc, i1-ic)
		var ap []float32
		if pl.doPackA {
			ap = buf.a[:kb*roundUp(mb, mr)]
			packA(sh, ap, a, lda, g.transA, ic, pc, mb, kb)
		} else if e := mb % mr; e != 0 {
			packA(sh, buf.aEdge[:kb*mr], a, lda, g.transA, ic+mb-e, pc, e, kb)
		}
		for jr := j0; jr < j1; jr += nr {
			cols := min(nr, j1-jr)
			var bpan []float32
			bStep := nr
			switch {
			case pl.doPackB:
				bpan = pl.buf.b[jr*kb : (jr+nr)*kb]
			case cols == nr:
				off := pc*ldb + jc + jr
				bpan, bStep = b[off:off+(kb-1)*ldb+nr], ldb
			default:
				bpan = pl.buf.bEdge[:kb*nr]
			}
			for ir := 0; ir < mb; ir += mr {
				rows := min(mr, mb-ir)
				var apan []float32
				aRow, aStep := 1, mr
				switch {
				case pl.doPackA:
					apan = ap[ir*kb : (ir+mr)*kb]
				case rows == mr && !g.transA:
					off := (ic+ir)*lda + pc
					apan, aRow, aStep = a[off:off+(mr-1)*lda+kb], lda, 1
				case rows == mr:
					off := pc*lda + ic + ir
					apan, aStep = a[off:off+(kb-1)*lda+mr], lda
				default:
					apan = buf.aEdge[:kb*mr]
				}
				off := (ic+ir)*ldc + jc + jr
				if cols == nr {
					kernel(kb, apan, aRow, aStep, bpan, bStep, c[off:off+(rows-1)*ldc+nr], ldc, rows, g.alpha, beta)
					continue
				}
				// Right edge: compute the full tile into tile, then merge.
				kernel(kb, apan, aRow, aStep, bpan, bStep, tile, nr, mr, g.alpha, 0)
				for i := 0; i < rows; i++ {
					crow := c[off+i*ldc : off+i*ldc+cols]
					trow := tile[i*nr : i*nr+cols]
					switch beta {
					case 0:
						copy(crow, trow)
					case 1:
						for j, v := range trow {
							crow[j] += v
						}
					default:
						for j, v := range trow {
							crow[j] = beta*crow[j] + v
						}
					}
				}
			}
		}
	}
}

// rowsFitL2 reports whether n cache lines ld floats apart can stay together in a 512 KiB
// 8-way L2 (1024 sets) with room to spare. Strides that are multiples of a large power of
// two map every row to a few sets, and unpacked B rows would then evict one another before
// the next row panel of A reuses them. (L1 conflicts matter less: the 6×16 kernel needs
// only 64 bytes of B per 12 FMAs, which L2 delivers.)
func rowsFitL2(ld, n int) bool {
	bytes := ld * 4
	if bytes%64 != 0 {
		return true // the rows' line offsets vary, so they spread over the sets
	}
	const sets, ways = 1024, 8
	step := bytes / 64 % sets
	g := sets
	if step != 0 {
		g = gcd(step, sets)
	}
	return n <= sets/g*ways/2
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA packs the mb×kb block of op(A) at (i0, p0) into mr-row micro-panels: panel q holds
// element (i0+q*mr+i, p0+p) at dst[q*mr*kb + p*mr + i], with rows past mb zero.
func packA(sh *gemmShape, dst, a []float32, lda int, trans bool, i0, p0, mb, kb int) {
	// op(A)(i, p) is a[p*lda + i] when transposed (steps contiguous), else a[i*lda + p].
	packPanels(sh.mr, sh.copyA, sh.interA, dst, a, lda, trans, i0, p0, mb, kb)
}

// packB packs the kb×nb block of op(B) at (p0, j0) into nr-column micro-panels: panel q
// holds element (p0+p, j0+q*nr+j) at dst[q*nr*kb + p*nr + j], with columns past nb zero.
func packB(sh *gemmShape, dst, b []float32, ldb int, trans bool, p0, j0, kb, nb int) {
	// op(B)(p, j) is b[p*ldb + j] (steps contiguous), or b[j*ldb + p] when transposed.
	packPanels(sh.nr, sh.copyB, sh.interB, dst, b, ldb, !trans, j0, p0, nb, kb)
}

// packPanels packs n×kb elements of x into w-wide micro-panels, element (e, p) — for e
// < n along the panels, p < kb along the steps — at dst[(e/w)*w*kb + p*w + e%w], with
// elements past n zero. When stepsContiguous, element (e, p) is x[(p0+p)*ld + e0+e],
// so a panel's step is w contiguous values, copied by copyFn; otherwise it is
// x[(e0+e)*ld + p0+p], and w rows are interleaved by interFn. Either kernel may be nil,
// leaving the work to the Go loops.
func packPanels(w int, copyFn func(dst, src []float32, ld, kb, panels int), interFn func(dst, src []float32, ld, kb int),
	dst, x []float32, ld int, stepsContiguous bool, e0, p0, n, kb int) {
	full := n / w
	if stepsContiguous {
		src := x[p0*ld+e0:]
		// A few panels at a time: each step p then writes to a handful of pages only.
		const group = 8
		for q := 0; q < full; q += group {
			m := min(group, full-q)
			s := src[q*w : q*w+(kb-1)*ld+m*w]
			d := dst[q*w*kb : (q+m)*w*kb]
			if copyFn != nil {
				copyFn(d, s, ld, kb, m)
			} else {
				packCopyGo(d, s, ld, kb, m, w)
			}
		}
		if e := n - full*w; e > 0 {
			d := dst[full*w*kb : (full+1)*w*kb]
			for p := 0; p < kb; p++ {
				dp := d[p*w : p*w+w]
				copy(dp, src[p*ld+full*w:p*ld+n])
				clear(dp[e:])
			}
		}
		return
	}
	for q := 0; q <= full; q++ {
		rows := min(w, n-q*w)
		if rows == 0 {
			break
		}
		pan := dst[q*w*kb : (q+1)*w*kb]
		src := x[(e0+q*w)*ld+p0:]
		src = src[:(rows-1)*ld+kb]
		if rows == w && interFn != nil {
			interFn(pan, src, ld, kb)
			continue
		}
		packInterleaveGo(pan, src, ld, kb, rows, w)
	}
}

// packCopyGo sets dst[q*w*kb + p*w + j] = src[p*ld + q*w + j] for p < kb, q < panels,
// j < w: it packs full w-wide panels whose steps are contiguous in src.
func packCopyGo(dst, src []float32, ld, kb, panels, w int) {
	for p := 0; p < kb; p++ {
		row := src[p*ld : p*ld+panels*w]
		for q := 0; q < panels; q++ {
			d := dst[q*w*kb+p*w : q*w*kb+p*w+w]
			if w > 16 {
				copy(d, row[q*w:q*w+w])
				continue
			}
			for j, v := range row[q*w : q*w+w] {
				d[j] = v
			}
		}
	}
}

// packInterleaveGo sets dst[p*w+i] = src[i*ld+p] for p < kb, i < rows, and zero for
// rows <= i < w: it packs one panel whose lines are rows of src.
func packInterleaveGo(dst, src []float32, ld, kb, rows, w int) {
	var rs [32][]float32
	for i := 0; i < rows; i++ {
		rs[i] = src[i*ld : i*ld+kb]
	}
	for p := 0; p < kb; p++ {
		d := dst[p*w : p*w+w]
		for i := 0; i < rows; i++ {
			d[i] = rs[i][p]
		}
		clear(d[rows:])
	}
}
