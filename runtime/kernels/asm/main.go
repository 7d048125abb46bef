// Command asm generates the amd64 assembly of package kernels with avo.
//
// It is run by `go generate ./runtime/kernels` (see the go:generate line in
// kernels/doc.go), which writes kernels_amd64.s and stubs_amd64.go.
//
// Every kernel is written once, parametrized by an isa value (vector width,
// register constructor and a few instruction choices), and emitted twice:
// for AVX2+FMA (8 lanes, 16 ymm registers) and for AVX-512 (16 lanes, 32 zmm
// registers). The two paths are therefore structurally the same code.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa describes one SIMD instruction set the kernels are emitted for.
type isa struct {
	name  string // suffix of the generated function names
	lanes int    // float32 lanes per vector register
	vb    int    // bytes per vector register
	vec   func() VecVirtual
	// GEMM micro-kernel shape: mr rows of nv vectors (nr = nv*lanes columns).
	mr, nv int
	// zero sets v to all zero bits.
	zero func(v VecVirtual)
	// half returns a register holding the upper half of v added (with op) to its lower half,
	// until an XMM remains.
	toX func(v VecVirtual, op func(a, b, dst Op)) VecVirtual
	// keepWhere emits dst = (y NLE 0) ? dy : 0 for full vectors (y in register, dy in memory).
	keepWhere func(y VecVirtual, zero VecVirtual, dy Mem) VecVirtual
}

var avx2 = isa{
	name: "AVX2", lanes: 8, vb: 32, vec: YMM, mr: 6, nv: 2,
	zero: func(v VecVirtual) { VXORPS(v, v, v) },
	toX: func(v VecVirtual, op func(a, b, dst Op)) VecVirtual {
		t := XMM()
		VEXTRACTF128(U8(1), v, t)
		op(t, v.AsX(), t)
		return t
	},
	keepWhere: func(y, zero VecVirtual, dy Mem) VecVirtual {
		m := YMM()
		VCMPPS(U8(6), zero, y, m) // m = !(y <= 0): NaN keeps its gradient, like the Go loop
		VANDPS(dy, m, m)
		return m
	},
}

var avx512 = isa{
	name: "AVX512", lanes: 16, vb: 64, vec: ZMM, mr: 14, nv: 2,
	zero: func(v VecVirtual) { VPXORD(v, v, v) },
	toX: func(v VecVirtual, op func(a, b, dst Op)) VecVirtual {
		y := YMM()
		VEXTRACTF64X4(U8(1), v, y)
		op(y, v.AsY(), y)
		t := XMM()
		VEXTRACTF32X4(U8(1), y, t)
		op(t, y.AsX(), t)
		return t
	},
	keepWhere: func(y, zero VecVirtual, dy Mem) VecVirtual {
		k := K()
		VCMPPS(U8(6), zero, y, k)
		m := ZMM()
		VMOVUPS_Z(dy, k, m)
		return m
	},
}

func main() {
	ConstraintExpr("!purego")
	genConsts()
	// Packing routines move data with general-purpose and baseline SSE registers only, so
	// the same code serves both paths (and is tested here for the AVX-512 widths too).
	for _, w := range []int{6, 14, 16, 32} {
		genPackCopy(w)
		genPackInterleave(w)
	}
	// A 14×8 AVX2 kernel: the AVX-512 tile height with 8-lane vectors (14 accumulators
	// fit in 16 ymm registers). It exists only so that tests on AVX2 machines exercise
	// the generator's 14-row code (row addressing, row-count checks) that AVX-512 uses.
	check := avx2
	check.name, check.mr, check.nv = "AVX2Check14x8", 14, 1
	genGemm(check)
	// Direct-convolution tiles (AVX2 only: AVX-512 machines run them too).
	for _, t := range convTiles {
		genConvTile(avx2, t[0], t[1])
	}
	for _, t := range convTiles512 {
		genConvTile(avx512, t[0], t[1])
	}
	for _, t := range gradTiles {
		genGradTile(t[0], t[1])
	}
	genDepthwise3x3()
	genDepthwise3x3Grad()
	genDeinterleave()
	genTranspose8()
	genCopyRows()
	genPoolLanes()
	genMaxPoolS2(2)
	genMaxPoolS2(3)
	genMaxUnpool2(false)
	genMaxUnpool2(true)
	for _, s := range []isa{avx2, avx512} {
		genGemm(s)
		genAxpy(s)
		genScale(s)
		genAdd(s)
		genDot(s)
		genAddScalar(s, false)
		genAddScalar(s, true)
		genRelu(s)
		genReluBackward(s)
		genAddSquares(s)
		genAddProduct(s)
		genDivPow34(s)
		genMomentum(s)
		genSumDev(s)
		genDotDev(s)
		genScaleShift(s, false)
		genScaleShift(s, true)
		genBNGrad(s)
		genMax(s)
		genExp(s)
	}
	Generate()
}

// ---------------------------------------------------------------------------
// GEMM micro-kernel

// genGemm emits
//
//	func sgemmKernel<ISA>(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, alpha, beta float32)
//
// which computes one mr×nr tile of C (nr = nv·lanes), of which it stores rows 0..rows-1:
//
//	c[i*ldc+j] = alpha * Σ_p a[i*aRow + p*aStep] * b[p*bStep + j] + beta*c[i*ldc+j]
//
// not reading c when beta == 0. A packed A panel has aRow = 1, aStep = mr; an unpacked
// one is read in place (aRow = lda, aStep = 1, or aRow = 1, aStep = lda for Aᵀ). B rows of
// nr values are bStep apart (nr when packed). The accumulators are mr×nv vector registers;
// each step of p loads nv vectors of b, broadcasts mr values of a and issues mr×nv FMAs
// (the BLIS haswell/skx scheme).
func genGemm(s isa) {
	mr, nv, nr := s.mr, s.nv, s.nv*s.lanes
	TEXT("sgemmKernel"+s.name, NOSPLIT, "func(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, alpha, beta float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("sgemmKernel%s computes one %d×%d tile: c[i*ldc+j] = alpha*Σp a[i*aRow+p*aStep]*b[p*bStep+j] + beta*c[i*ldc+j]", s.name, mr, nr),
		"for i < rows (1 <= rows <= "+fmt.Sprint(mr)+"); c is not read when beta == 0.")

	k := Load(Param("k"), GP64())
	rs := Load(Param("aRow"), GP64())
	SHLQ(U8(2), rs)
	sa := Load(Param("aStep"), GP64())
	SHLQ(U8(2), sa)
	sb := Load(Param("bStep"), GP64())
	SHLQ(U8(2), sb)
	b := Load(Param("b").Base(), GP64())

	// Row i of the A panel is at base[i/3] + (i%3)*rs.
	bases := make([]Register, (mr+2)/3)
	bases[0] = Load(Param("a").Base(), GP64())
	for j := 1; j < len(bases); j++ {
		bases[j] = GP64()
		LEAQ(Mem{Base: bases[j-1], Index: rs, Scale: 2}, bases[j])
		ADDQ(rs, bases[j])
	}
	aRow := func(i int) Mem {
		m := Mem{Base: bases[i/3]}
		switch i % 3 {
		case 1:
			m.Index, m.Scale = rs, 1
		case 2:
			m.Index, m.Scale = rs, 2
		}
		return m
	}

	// Prefetch the C tile: it is needed once the k loop is done.
	cp := Load(Param("c").Base(), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	for i := 0; i < mr; i++ {
		PREFETCHT0(Mem{Base: cp})
		PREFETCHT0(Mem{Base: cp, Disp: nr*4 - 4})
		ADDQ(ldc, cp)
	}

	acc := make([][]VecVirtual, mr)
	for i := range acc {
		acc[i] = make([]VecVirtual, nv)
		for v := range acc[i] {
			acc[i][v] = s.vec()
			s.zero(acc[i][v])
		}
	}
	bv := make([]VecVirtual, nv)
	for v := range bv {
		bv[v] = s.vec()
	}
	av := s.vec()

	step := func() {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: v * s.vb}, bv[v])
		}
		for i := 0; i < mr; i++ {
			VBROADCASTSS(aRow(i), av)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv[v], av, acc[i][v])
			}
		}
		for _, r := range bases {
			ADDQ(sa, r)
		}
		ADDQ(sb, b)
	}

	const unroll = 4
	Label("loop4")
	CMPQ(k, U8(unroll))
	JL(LabelRef("tail"))
	for u := 0; u < unroll; u++ {
		step()
	}
	SUBQ(U8(unroll), k)
	JMP(LabelRef("loop4"))

	Label("tail")
	TESTQ(k, k)
	JZ(LabelRef("store"))
	step()
	DECQ(k)
	JMP(LabelRef("tail"))

	Label("store")
	c := Load(Param("c").Base(), GP64())
	rows := Load(Param("rows"), GP64())
	// Before row i > 0: stop if rows <= i.
	rowCheck := func(i int, done string) {
		if i > 0 {
			CMPQ(rows, U8(i))
			JLE(LabelRef(done))
		}
	}
	alpha, _ := Param("alpha").Resolve()
	beta, _ := Param("beta").Resolve()
	al := s.vec()
	VBROADCASTSS(alpha.Addr, al)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			VMULPS(acc[i][v], al, acc[i][v])
		}
	}
	bits := GP32()
	MOVL(beta.Addr, bits)
	ANDL(U32(0x7fffffff), bits)
	JZ(LabelRef("overwrite"))

	be := s.vec()
	VBROADCASTSS(beta.Addr, be)
	for i := 0; i < mr; i++ {
		rowCheck(i, "done")
		for v := 0; v < nv; v++ {
			m := Mem{Base: c, Disp: v * s.vb}
			VFMADD231PS(m, be, acc[i][v])
			VMOVUPS(acc[i][v], m)
		}
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()

	Label("overwrite")
	for i := 0; i < mr; i++ {
		rowCheck(i, "done")
		for v := 0; v < nv; v++ {
			VMOVUPS(acc[i][v], Mem{Base: c, Disp: v * s.vb})
		}
		if i < mr-1 {
			ADDQ(ldc, c)
		}
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// ---------------------------------------------------------------------------
// Direct convolution

// convTiles are the rows×vectors shapes of the AVX2 direct-convolution tile kernels. Each
// keeps rows·vectors accumulators, vectors operand registers and one broadcast in the 16
// ymm registers.
var convTiles = [][2]int{{4, 2}, {5, 2}, {6, 2}, {4, 3}, {8, 1}, {10, 1}, {12, 1}}

// convTiles512 are those of the AVX-512 tiles, whose weights are broadcast from memory by
// the FMA itself: rows·vectors accumulators and vectors operand registers of the 32 zmm.
var convTiles512 = [][2]int{{16, 1}, {12, 1}, {10, 1}, {8, 1}, {8, 2}}

// genConvTile emits
//
//	func convTile<r>x<v>[AVX512](k int, a []float32, offs []int32, src, dst []float32, ldd int)
//
// which computes one r×(lanes·v) tile of a convolution as an implicit GEMM:
//
//	dst[i*ldd+j] = Σ_p a[p*r+i] * src[offs[p]+j]   for i < r, j < lanes·v
//
// a is a packed panel of r filters (tap p of filter i at p*r+i) and offs[p] the offset in
// the padded source of tap p; row j of the tile is output column j. Each step loads v
// vectors of source, broadcasts r weights and issues r·v FMAs, like the GEMM kernel
// except that the source rows are found through the offset table instead of a stride.
// The AVX2 kernels have no suffix.
func genConvTile(s isa, r, v int) {
	name := fmt.Sprintf("convTile%dx%d", r, v)
	if s.name != "AVX2" {
		name += s.name
	}
	cols := s.lanes * v
	TEXT(name, NOSPLIT, "func(k int, a []float32, offs []int32, src, dst []float32, ldd, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes n tiles side by side, tile t: dst[i*ldd+%d*t+j] = Σp a[p*%d+i]*src[offs[p]+%d*t+j] for i < %d, j < %d.", name, cols, r, cols, r, cols))
	src := Load(Param("src").Base(), GP64())
	dst := Load(Param("dst").Base(), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	n := Load(Param("n"), GP64())
	k, a, offs := GP64(), GP64(), GP64()
	acc, bv, av := tileRegs(s, r, v)
	off := GP64()
	step := func(u int) {
		MOVLQSX(Mem{Base: offs, Disp: 4 * u}, off)
		for j := 0; j < v; j++ {
			VMOVUPS(Mem{Base: src, Index: off, Scale: 4, Disp: s.vb * j}, bv[j])
		}
		for i := 0; i < r; i++ {
			w := Mem{Base: a, Disp: 4 * (u*r + i)}
			if s.name == "AVX2" {
				VBROADCASTSS(w, av)
			}
			for j := 0; j < v; j++ {
				if s.name == "AVX2" {
					VFMADD231PS(bv[j], av, acc[i][j])
				} else {
					VFMADD231PS_BCST(w, bv[j], acc[i][j])
				}
			}
		}
	}

	Label("tile")
	Load(Param("k"), k)
	Load(Param("a").Base(), a)
	Load(Param("offs").Base(), offs)
	zeroAcc(s, acc)
	tileLoop(k, step, func(n int) {
		ADDQ(U32(4*n*r), a)
		ADDQ(U8(4*n), offs)
	})

	Label("store")
	d := GP64()
	MOVQ(dst, d)
	for i := 0; i < r; i++ {
		for j := 0; j < v; j++ {
			VMOVUPS(acc[i][j], Mem{Base: d, Disp: s.vb * j})
		}
		if i < r-1 {
			ADDQ(ldd, d)
		}
	}
	ADDQ(U32(s.vb*v), src)
	ADDQ(U32(s.vb*v), dst)
	DECQ(n)
	JNZ(LabelRef("tile"))
	VZEROUPPER()
	RET()
}

// zeroAcc clears a tile's accumulators.
func zeroAcc(s isa, acc [][]VecVirtual) {
	for i := range acc {
		for j := range acc[i] {
			s.zero(acc[i][j])
		}
	}
}

// tileRegs allocates a tile's registers: r×v accumulators, v operand vectors and, on
// AVX2, one broadcast (nil otherwise: the FMAs broadcast from memory).
func tileRegs(s isa, r, v int) (acc [][]VecVirtual, bv []VecVirtual, av VecVirtual) {
	acc = make([][]VecVirtual, r)
	for i := range acc {
		acc[i] = make([]VecVirtual, v)
		for j := range acc[i] {
			acc[i][j] = s.vec()
		}
	}
	bv = make([]VecVirtual, v)
	for j := range bv {
		bv[j] = s.vec()
	}
	if s.name == "AVX2" {
		av = s.vec()
	}
	return acc, bv, av
}

// tileLoop emits the reduction loop of a tile kernel over k steps: step(u) emits the u-th
// of a group of steps (addressing operands u steps ahead), advance(n) moves the pointers
// past n steps. Groups of four run first, then single steps; the loop ends at "store".
func tileLoop(k Register, step func(u int), advance func(n int)) {
	const unroll = 4
	Label("loop4")
	CMPQ(k, U8(unroll))
	JL(LabelRef("tail"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	advance(unroll)
	SUBQ(U8(unroll), k)
	JMP(LabelRef("loop4"))

	Label("tail")
	TESTQ(k, k)
	JZ(LabelRef("store"))
	step(0)
	advance(1)
	DECQ(k)
	JMP(LabelRef("tail"))
}

// gradTiles are the shapes of the weight-gradient tile kernels: one general-purpose
// register per row holds that row's base address, so rows stay at most 8.
var gradTiles = [][2]int{{6, 2}, {4, 3}, {4, 2}, {8, 1}}

// genGradTile emits
//
//	func gradTile<r>x<v>(n int, src []float32, rows, pixels []int32, b, dst []float32, ldd int)
//
// which adds to one r×(8v) tile of the transposed weight gradient of a convolution:
//
//	dst[i*ldd+j] += Σ_q src[rows[i]+pixels[q]] * b[q*8v+j]   for i < r, j < 8v
//
// rows[i] is the offset of weight tap i in the padded input src, pixels[q] that of output
// position q, and b the output gradient transposed (position by position, 8v filters
// each). Each step broadcasts r input values and loads v vectors of b.
func genGradTile(r, v int) {
	name := fmt.Sprintf("gradTile%dx%d", r, v)
	TEXT(name, NOSPLIT, "func(n int, src []float32, rows, pixels []int32, b, dst []float32, ldd int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes dst[i*ldd+j] += Σq src[rows[i]+pixels[q]]*b[q*%d+j] for i < %d, j < %d.", name, 8*v, r, 8*v))
	n := Load(Param("n"), GP64())
	src := Load(Param("src").Base(), GP64())
	rowsp := Load(Param("rows").Base(), GP64())
	base := make([]Register, r)
	for i := range base {
		base[i] = GP64()
		MOVLQSX(Mem{Base: rowsp, Disp: 4 * i}, base[i])
		LEAQ(Mem{Base: src, Index: base[i], Scale: 4}, base[i])
	}
	pix := Load(Param("pixels").Base(), GP64())
	b := Load(Param("b").Base(), GP64())

	acc, bv, av := tileRegs(avx2, r, v)
	zeroAcc(avx2, acc)
	off := GP64()
	step := func(u int) {
		MOVLQSX(Mem{Base: pix, Disp: 4 * u}, off)
		for j := 0; j < v; j++ {
			VMOVUPS(Mem{Base: b, Disp: 32 * (u*v + j)}, bv[j])
		}
		for i := 0; i < r; i++ {
			VBROADCASTSS(Mem{Base: base[i], Index: off, Scale: 4}, av)
			for j := 0; j < v; j++ {
				VFMADD231PS(bv[j], av, acc[i][j])
			}
		}
	}

	tileLoop(n, step, func(m int) {
		ADDQ(U32(32*m*v), b)
		ADDQ(U8(4*m), pix)
	})

	Label("store")
	dst := Load(Param("dst").Base(), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	for i := 0; i < r; i++ {
		for j := 0; j < v; j++ {
			m := Mem{Base: dst, Disp: 32 * j}
			VADDPS(m, acc[i][j], acc[i][j])
			VMOVUPS(acc[i][j], m)
		}
		if i < r-1 {
			ADDQ(ldd, dst)
		}
	}
	VZEROUPPER()
	RET()
}

// genTranspose8 emits
//
//	func transpose8(dst []float32, ldd int, src []float32, lds, n int)
//
// which transposes 8 rows of n values (n a multiple of 8): dst[q*ldd+j] = src[j*lds+q] for
// j < 8, q < n, one 8×8 block at a time with the usual unpack, shuffle and lane-permute
// network.
func genCopyRows() {
	TEXT("copyRows", NOSPLIT, "func(dst []float32, ldd int, src []float32, lds, rows, cols int)")
	Pragma("noescape")
	Doc("copyRows is copyRowsGo for cols ≥ 8: 8 columns at a time, the last 8 overlapping those before.")
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	ldd := Load(Param("ldd"), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	rows := Load(Param("rows"), GP64())
	cols := Load(Param("cols"), GP64())
	last := GP64() // byte offset of the last 8 columns
	LEAQ(Mem{Base: cols, Disp: -8}, last)
	SHLQ(U8(2), last)
	s, d, n := GP64(), GP64(), GP64()
	t, u := YMM(), YMM()

	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(cols, n)
	Label("pair")
	CMPQ(n, U8(16))
	JL(LabelRef("one"))
	VMOVUPS(Mem{Base: s}, t)
	VMOVUPS(Mem{Base: s, Disp: 32}, u)
	VMOVUPS(t, Mem{Base: d})
	VMOVUPS(u, Mem{Base: d, Disp: 32})
	ADDQ(U8(64), s)
	ADDQ(U8(64), d)
	SUBQ(U8(16), n)
	JMP(LabelRef("pair"))
	Label("one")
	CMPQ(n, U8(8))
	JL(LabelRef("last"))
	VMOVUPS(Mem{Base: s}, t)
	VMOVUPS(t, Mem{Base: d})
	SUBQ(U8(8), n)
	Label("last")
	TESTQ(n, n)
	JZ(LabelRef("next"))
	VMOVUPS(Mem{Base: src, Index: last, Scale: 1}, t)
	VMOVUPS(t, Mem{Base: dst, Index: last, Scale: 1})
	Label("next")
	ADDQ(lds, src)
	ADDQ(ldd, dst)
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}

// genDeinterleave emits
//
//	func deinterleaveAVX2(even, odd, src []float32, pitch, w, n, rows int)
//
// (see deinterleaveGo) for n a positive multiple of 8 and rows > 0: for each row, two
// loads of 8 pairs, VSHUFPS picks the even and the odd values of each 128-bit lane,
// VPERMPD puts the lanes in order.
func genDeinterleave() {
	TEXT("deinterleaveAVX2", NOSPLIT, "func(even, odd, src []float32, pitch, w, n, rows int)")
	Pragma("noescape")
	Doc("deinterleaveAVX2 is deinterleaveGo for n a positive multiple of 8 and rows > 0.")
	e := Load(Param("even").Base(), GP64())
	o := Load(Param("odd").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	pitch := Load(Param("pitch"), GP64())
	SHLQ(U8(2), pitch)
	w := Load(Param("w"), GP64())
	SHLQ(U8(2), w)
	rows := Load(Param("rows"), GP64())
	Label("row")
	n := Load(Param("n"), GP64())
	SHRQ(U8(3), n)
	pe, po, ps := GP64(), GP64(), GP64()
	MOVQ(e, pe)
	MOVQ(o, po)
	MOVQ(src, ps)
	Label("loop")
	a, b, ev, od := YMM(), YMM(), YMM(), YMM()
	VMOVUPS(Mem{Base: ps}, a)
	VMOVUPS(Mem{Base: ps, Disp: 32}, b)
	VSHUFPS(U8(0x88), b, a, ev) // a0 a2 b0 b2 | a4 a6 b4 b6
	VSHUFPS(U8(0xDD), b, a, od) // a1 a3 b1 b3 | a5 a7 b5 b7
	VPERMPD(U8(0xD8), ev, ev)   // a0 a2 a4 a6 b0 b2 b4 b6
	VPERMPD(U8(0xD8), od, od)
	VMOVUPS(ev, Mem{Base: pe})
	VMOVUPS(od, Mem{Base: po})
	ADDQ(U8(64), ps)
	ADDQ(U8(32), pe)
	ADDQ(U8(32), po)
	DECQ(n)
	JNZ(LabelRef("loop"))
	ADDQ(pitch, e)
	ADDQ(pitch, o)
	ADDQ(w, src)
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}

func genTranspose8() {
	TEXT("transpose8", NOSPLIT, "func(dst []float32, ldd int, src []float32, lds, n int)")
	Pragma("noescape")
	Doc("transpose8 sets dst[q*ldd+j] = src[j*lds+q] for j < 8, q < n (n a multiple of 8).")
	dst := Load(Param("dst").Base(), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	src := Load(Param("src").Base(), GP64())
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	n := Load(Param("n"), GP64())
	// Row j of the source block is at src + j*lds: bases for rows 0, 3 and 6.
	r3 := GP64()
	LEAQ(Mem{Base: src, Index: lds, Scale: 2}, r3)
	ADDQ(lds, r3)
	r6 := GP64()
	LEAQ(Mem{Base: r3, Index: lds, Scale: 2}, r6)
	ADDQ(lds, r6)
	row := func(j int) Mem {
		base := []Register{src, src, src, r3, r3, r3, r6, r6}[j]
		m := Mem{Base: base}
		switch j % 3 {
		case 1:
			m.Index, m.Scale = lds, 1
		case 2:
			m.Index, m.Scale = lds, 2
		}
		return m
	}

	Label("block")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	r := make([]VecVirtual, 8)
	for j := range r {
		r[j] = YMM()
		VMOVUPS(row(j), r[j])
	}
	// t[2i], t[2i+1]: rows 2i and 2i+1 interleaved (low and high pairs of each lane).
	t := make([]VecVirtual, 8)
	for i := 0; i < 4; i++ {
		t[2*i], t[2*i+1] = YMM(), YMM()
		VUNPCKLPS(r[2*i+1], r[2*i], t[2*i])
		VUNPCKHPS(r[2*i+1], r[2*i], t[2*i+1])
	}
	// u: four rows' elements gathered per lane.
	u := make([]VecVirtual, 8)
	for h := 0; h < 2; h++ {
		a, b := t[4*h], t[4*h+2]   // rows 4h..4h+3, low pairs
		c, d := t[4*h+1], t[4*h+3] // high pairs
		u[4*h], u[4*h+1], u[4*h+2], u[4*h+3] = YMM(), YMM(), YMM(), YMM()
		VSHUFPS(U8(0x44), b, a, u[4*h])
		VSHUFPS(U8(0xEE), b, a, u[4*h+1])
		VSHUFPS(U8(0x44), d, c, u[4*h+2])
		VSHUFPS(U8(0xEE), d, c, u[4*h+3])
	}
	// Output row q (q < 4) is lane 0 of u[q] and u[4+q]; row 4+q is their lane 1.
	out := YMM()
	d := GP64()
	MOVQ(dst, d)
	for q := 0; q < 8; q++ {
		imm := U8(0x20)
		if q >= 4 {
			imm = U8(0x31)
		}
		VPERM2F128(imm, u[4+q%4], u[q%4], out)
		VMOVUPS(out, Mem{Base: d})
		ADDQ(ldd, d)
	}
	MOVQ(d, dst)
	ADDQ(U8(32), src)
	ADDQ(U8(32), r3)
	ADDQ(U8(32), r6)
	SUBQ(U8(8), n)
	JMP(LabelRef("block"))

	Label("done")
	VZEROUPPER()
	RET()
}

// genMaxPoolS2 emits
//
//	func maxPool<k>s2(dst []float32, arg []int32, src []float32, w, n, at int)
//
// the AVX2 kernel of k×k, stride-2 max pooling over one band of k rows (see maxPoolS2Go).
// Each step pools 8 windows: 16 values of a row, loaded at the window's columns 2t, are
// split into columns 2t and 2t+1 of the 8 windows by shuffles, which leave the windows in
// the order 0 1 4 5 2 3 6 7 (within 128-bit lanes), restored by one qword permutation of
// the results. The maximum and its offset in the window (r·w + c for row r, column c, from
// a table in the frame, in MaxPool's row-major order) are chosen by compare and blend, so a larger value later in the window replaces an earlier
// one and ties keep the first, as in MaxPool.
func genMaxPoolS2(k int) {
	TEXT(fmt.Sprintf("maxPool%ds2", k), NOSPLIT, "func(dst []float32, arg []int32, src []float32, w, n, rows, ldd, at int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("maxPool%ds2 is maxPoolS2Go(%d, …) for n a multiple of 8.", k, k))
	dst := Load(Param("dst").Base(), GP64())
	arg := Load(Param("arg").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	w := Load(Param("w"), GP64())
	rows := Load(Param("rows"), GP64())
	ldd := Load(Param("ldd"), GP64())
	at := Load(Param("at"), GP64())
	offs := AllocLocal((4*k*k + 7) &^ 7)
	t := GP64()
	for e := 1; e < k*k; e++ {
		IMUL3Q(U32(e/k), w, t)
		ADDQ(U32(e%k), t)
		MOVL(t.As32(), offs.Offset(4*e))
	}
	// VEX-encoded moves: the legacy-SSE MOVQ cost about 500 ns a call on this Zen 3 VM.
	broadcast := func(r Register, v VecVirtual) {
		x := XMM()
		VMOVQ(r, x)
		VPBROADCASTD(x, v)
	}
	step := YMM()
	MOVQ(U32(16), t)
	broadcast(t, step)
	twoW := GP64()
	LEAQ(Mem{Base: w, Index: w, Scale: 1}, twoW) // elements from one window row to the next
	SHLQ(U8(2), w)                               // bytes from one input row to the next
	SHLQ(U8(2), ldd)                             // bytes from one output row to the next
	base, m := YMM(), YMM()
	s, d, a, cnt := GP64(), GP64(), GP64(), GP64()

	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	// The index of each lane's upper left element, at + 2·lane, advancing by 16.
	broadcast(at, base)
	VPADDD(poolLanes, base, base)
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(arg, a)
	Load(Param("n"), cnt)

	Label("block")
	TESTQ(cnt, cnt)
	JZ(LabelRef("nextrow"))
	var best, off VecVirtual
	candidate := func(e int, v VecVirtual) {
		if e == 0 {
			best, off = v, YMM()
			VXORPS(off, off, off)
			return
		}
		VCMPPS(U8(1), v, best, m) // best < v: ordered, so a NaN never wins
		VBLENDVPS(m, v, best, best)
		o := YMM()
		VPBROADCASTD(offs.Offset(4*e), o)
		VBLENDVPS(m, o, off, off)
	}
	for r := 0; r < k; r++ {
		for c := 0; c < k; c += 2 {
			lo, hi := YMM(), YMM()
			row := Mem{Base: s, Disp: 4 * c}
			if r > 0 {
				row.Index, row.Scale = w, uint8(r)
			}
			VMOVUPS(row, lo)
			VMOVUPS(row.Offset(32), hi)
			even := YMM()
			VSHUFPS(U8(0x88), hi, lo, even)
			candidate(r*k+c, even)
			if c+1 < k {
				VSHUFPS(U8(0xDD), hi, lo, lo)
				candidate(r*k+c+1, lo)
			}
		}
	}
	VPERMPD(U8(0xD8), best, best)
	VPERMQ(U8(0xD8), off, off)
	VPADDD(base, off, off)
	VMOVUPS(best, Mem{Base: d})
	VMOVDQU(off, Mem{Base: a})
	VPADDD(step, base, base)
	ADDQ(U8(64), s)
	ADDQ(U8(32), d)
	ADDQ(U8(32), a)
	SUBQ(U8(8), cnt)
	JMP(LabelRef("block"))

	Label("nextrow")
	// The next window row starts two input rows down.
	LEAQ(Mem{Base: src, Index: w, Scale: 2}, src)
	ADDQ(twoW, at)
	ADDQ(ldd, dst)
	ADDQ(ldd, arg)
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}

// genMaxUnpool2 emits
//
//	func maxUnpool2(din, dout []float32, arg []int32, w, n, rows, ldd, at int)
//
// the AVX2 kernel of the backward pass of 2×2, stride-2 max pooling (see maxUnpool2Go):
// each of the four elements of a window gets the window's gradient where it is the one
// the forward pass chose, else zero, so din needs no clearing first. Each step handles 8
// windows: four compares of the argmax with the elements' indexes make the four masked
// gradients, which unpack and a 128-bit permutation interleave into 16 values of each
// of the two rows.
func genMaxUnpool2(relu bool) {
	name := "maxUnpool2"
	if relu {
		name += "Relu"
	}
	TEXT(name, NOSPLIT, "func(din, dout, out []float32, arg []int32, w, n, rows, ldd, at int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is maxUnpool2Go(…, %v, …) for n a multiple of 8.", name, relu))
	din := Load(Param("din").Base(), GP64())
	dout := Load(Param("dout").Base(), GP64())
	arg := Load(Param("arg").Base(), GP64())
	var out Register
	zero := YMM()
	if relu {
		out = Load(Param("out").Base(), GP64())
		VXORPS(zero, zero, zero)
	}
	w := Load(Param("w"), GP64())
	rows := Load(Param("rows"), GP64())
	ldd := Load(Param("ldd"), GP64())
	at := Load(Param("at"), GP64())
	broadcast := func(r Register, v VecVirtual) {
		x := XMM()
		VMOVQ(r, x) // VEX-encoded, see genMaxPoolS2
		VPBROADCASTD(x, v)
	}
	t := GP64()
	step, one, wv := YMM(), YMM(), YMM()
	MOVQ(U32(16), t)
	broadcast(t, step)
	MOVQ(U32(1), t)
	broadcast(t, one)
	broadcast(w, wv)
	twoW := GP64()
	LEAQ(Mem{Base: w, Index: w, Scale: 1}, twoW)
	SHLQ(U8(2), w)
	SHLQ(U8(2), ldd)
	base := YMM()
	d, o, a, cnt := GP64(), GP64(), GP64(), GP64()

	Label("row")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	broadcast(at, base)
	VPADDD(poolLanes, base, base)
	MOVQ(din, d)
	MOVQ(dout, o)
	MOVQ(arg, a)
	var y Register
	if relu {
		y = GP64()
		MOVQ(out, y)
	}
	Load(Param("n"), cnt)

	Label("block")
	TESTQ(cnt, cnt)
	JZ(LabelRef("nextrow"))
	g, idx := YMM(), YMM()
	VMOVUPS(Mem{Base: o}, g)
	VMOVDQU(Mem{Base: a}, idx)
	if relu {
		// The ReLU before the pooling: no gradient where its output (the maximum) is <= 0.
		drop := YMM()
		VCMPPS(U8(0x0D), Mem{Base: y}, zero, drop) // 0 >= out (false for a NaN, as in ReluBackward)
		VANDNPS(g, drop, g)
	}
	// The masked gradients of the upper left, upper right, lower left and lower right elements.
	masked := make([]VecVirtual, 4)
	at4 := YMM()
	for e := range masked {
		switch e {
		case 0:
			VMOVDQA(base, at4)
		case 1, 3:
			VPADDD(one, at4, at4)
		case 2:
			VPADDD(wv, base, at4)
		}
		masked[e] = YMM()
		VPCMPEQD(idx, at4, masked[e])
		VANDPS(g, masked[e], masked[e])
	}
	for y := 0; y < 2; y++ {
		lo, hi := YMM(), YMM()
		VUNPCKLPS(masked[2*y+1], masked[2*y], lo) // windows 0 1 | 4 5, left and right
		VUNPCKHPS(masked[2*y+1], masked[2*y], hi) // windows 2 3 | 6 7
		row := Mem{Base: d}
		if y == 1 {
			row.Index, row.Scale = w, 1
		}
		first := YMM()
		VPERM2F128(U8(0x20), hi, lo, first)
		VMOVUPS(first, row)
		VPERM2F128(U8(0x31), hi, lo, lo)
		VMOVUPS(lo, row.Offset(32))
	}
	VPADDD(step, base, base)
	ADDQ(U8(64), d)
	ADDQ(U8(32), o)
	ADDQ(U8(32), a)
	if relu {
		ADDQ(U8(32), y)
	}
	SUBQ(U8(8), cnt)
	JMP(LabelRef("block"))

	Label("nextrow")
	LEAQ(Mem{Base: din, Index: w, Scale: 2}, din)
	ADDQ(twoW, at)
	ADDQ(ldd, dout)
	ADDQ(ldd, arg)
	if relu {
		ADDQ(ldd, out)
	}
	DECQ(rows)
	JMP(LabelRef("row"))

	Label("done")
	VZEROUPPER()
	RET()
}

// poolLanes holds the lane offsets of genMaxPoolS2: 0, 2, …, 14.
var poolLanes Mem

func genPoolLanes() {
	poolLanes = GLOBL("poollanes", RODATA|NOPTR)
	for l := 0; l < 8; l++ {
		DATA(4*l, U32(2*l))
	}
}

// ---------------------------------------------------------------------------
// GEMM packing

// genPackCopy emits
//
//	func packCopy<w>(dst, src []float32, ld, kb, panels int)
//
// which packs panels full w-wide column panels of a row-major block:
// dst[q*w*kb + p*w + j] = src[p*ld + q*w + j] for p < kb, q < panels, j < w.
func genPackCopy(w int) {
	name := fmt.Sprintf("packCopy%d", w)
	TEXT(name, NOSPLIT, "func(dst, src []float32, ld, kb, panels int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[q*%d*kb + p*%d + j] = src[p*ld + q*%d + j] for p < kb, q < panels, j < %d.", name, w, w, w, w))
	dst := Load(Param("dst").Base(), GP64())
	src := Load(Param("src").Base(), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	kb := Load(Param("kb"), GP64())
	panels := Load(Param("panels"), GP64())
	pstride := GP64() // bytes between panels in dst
	IMUL3Q(U32(w*4), kb, pstride)
	// 16-byte SSE moves (baseline amd64), then one 8-byte move for w%4 == 2.
	tmp := []VecVirtual{XMM(), XMM(), XMM(), XMM()}
	var t64 Register
	if w%4 != 0 {
		t64 = GP64()
	}

	Label("rows")
	TESTQ(kb, kb)
	JZ(LabelRef("done"))
	d, sp, q := GP64(), GP64(), GP64()
	MOVQ(dst, d)
	MOVQ(src, sp)
	MOVQ(panels, q)
	Label("panel")
	TESTQ(q, q)
	JZ(LabelRef("nextrow"))
	for j := 0; j < w/4; j += len(tmp) {
		n := min(len(tmp), w/4-j)
		for t := 0; t < n; t++ {
			MOVUPS(Mem{Base: sp, Disp: (j + t) * 16}, tmp[t])
		}
		for t := 0; t < n; t++ {
			MOVUPS(tmp[t], Mem{Base: d, Disp: (j + t) * 16})
		}
	}
	if w%4 != 0 {
		MOVQ(Mem{Base: sp, Disp: w / 4 * 16}, t64)
		MOVQ(t64, Mem{Base: d, Disp: w / 4 * 16})
	}
	ADDQ(U32(w*4), sp)
	ADDQ(pstride, d)
	DECQ(q)
	JMP(LabelRef("panel"))
	Label("nextrow")
	ADDQ(ld, src)
	ADDQ(U32(w*4), dst)
	DECQ(kb)
	JMP(LabelRef("rows"))
	Label("done")
	RET()
}

// genPackInterleave emits
//
//	func packInterleave<w>(dst, src []float32, ld, kb int)
//
// which packs one full w-wide panel whose w lines are rows of src:
// dst[p*w + i] = src[i*ld + p] for p < kb, i < w (a transpose of a w×kb block).
func genPackInterleave(w int) {
	name := fmt.Sprintf("packInterleave%d", w)
	TEXT(name, NOSPLIT, "func(dst, src []float32, ld, kb int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets dst[p*%d + i] = src[i*ld + p] for p < kb, i < %d.", name, w, w))
	dst := Load(Param("dst").Base(), GP64())
	ld := Load(Param("ld"), GP64())
	SHLQ(U8(2), ld)
	kb := Load(Param("kb"), GP64())
	// Row i is at bases[i/8] + (i%8)*ld, addressed with index registers ld, 3ld, 5ld, 7ld.
	l3, l5, l7 := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: ld, Index: ld, Scale: 2}, l3)
	LEAQ(Mem{Base: ld, Index: ld, Scale: 4}, l5)
	LEAQ(Mem{Base: l3, Index: ld, Scale: 4}, l7)
	bases := make([]Register, (w+7)/8)
	bases[0] = Load(Param("src").Base(), GP64())
	for j := 1; j < len(bases); j++ {
		bases[j] = GP64()
		LEAQ(Mem{Base: bases[j-1], Index: ld, Scale: 8}, bases[j])
	}
	row := func(i int) Mem {
		m := Mem{Base: bases[i/8]}
		switch i % 8 {
		case 1:
			m.Index, m.Scale = ld, 1
		case 2:
			m.Index, m.Scale = ld, 2
		case 3:
			m.Index, m.Scale = l3, 1
		case 4:
			m.Index, m.Scale = ld, 4
		case 5:
			m.Index, m.Scale = l5, 1
		case 6:
			m.Index, m.Scale = l3, 2
		case 7:
			m.Index, m.Scale = l7, 1
		}
		return m
	}
	tmp := []Register{GP32(), GP32()}
	Label("loop")
	TESTQ(kb, kb)
	JZ(LabelRef("done"))
	for i := 0; i < w; i++ {
		MOVL(row(i), tmp[i%2])
		MOVL(tmp[i%2], Mem{Base: dst, Disp: i * 4})
	}
	for _, b := range bases {
		ADDQ(U8(4), b)
	}
	ADDQ(U32(w*4), dst)
	DECQ(kb)
	JMP(LabelRef("loop"))
	Label("done")
	RET()
}

// ---------------------------------------------------------------------------
// Streaming vector operations

// stream emits a loop over n float32 elements addressed by the pointers ptrs: unroll
// vectors per iteration, then one vector per iteration, then one element per iteration.
// vec(off) handles one vector at byte offset off and index u of the unrolled iteration;
// scalar() one element at offset 0 (XMM registers, scalar loads and stores only).
func stream(s isa, n Register, ptrs []Register, unroll int, vec func(off, u int), scalar func()) {
	advance := func(bytes int) {
		for _, p := range ptrs {
			ADDQ(U32(bytes), p)
		}
	}
	Label("loopU")
	CMPQ(n, U32(unroll*s.lanes))
	JL(LabelRef("loop1"))
	for u := 0; u < unroll; u++ {
		vec(u*s.vb, u)
	}
	advance(unroll * s.vb)
	SUBQ(U32(unroll*s.lanes), n)
	JMP(LabelRef("loopU"))

	Label("loop1")
	CMPQ(n, U32(s.lanes))
	JL(LabelRef("tail"))
	vec(0, 0)
	advance(s.vb)
	SUBQ(U32(s.lanes), n)
	JMP(LabelRef("loop1"))

	Label("tail")
	TESTQ(n, n)
	JZ(LabelRef("done"))
	scalar()
	advance(4)
	DECQ(n)
	JMP(LabelRef("tail"))
	Label("done")
}

func scalarParam(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func genAxpy(s isa) {
	TEXT("axpy"+s.name, NOSPLIT, "func(alpha float32, x, y []float32)")
	Pragma("noescape")
	Doc("axpy" + s.name + " computes y[i] += alpha*x[i] for i < len(x); len(y) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	al := s.vec()
	VBROADCASTSS(scalarParam("alpha"), al)
	t := make([]VecVirtual, 4)
	for i := range t {
		t[i] = s.vec()
	}
	stream(s, n, []Register{x, y}, 4, func(off, u int) {
		VMOVUPS(Mem{Base: y, Disp: off}, t[u])
		VFMADD231PS(Mem{Base: x, Disp: off}, al, t[u])
		VMOVUPS(t[u], Mem{Base: y, Disp: off})
	}, func() {
		xs, ys := XMM(), XMM()
		VMOVSS(Mem{Base: x}, xs)
		VMOVSS(Mem{Base: y}, ys)
		VFMADD231SS(xs, al.AsX(), ys)
		VMOVSS(ys, Mem{Base: y})
	})
	VZEROUPPER()
	RET()
}

func genScale(s isa) {
	TEXT("scale"+s.name, NOSPLIT, "func(alpha float32, x []float32)")
	Pragma("noescape")
	Doc("scale" + s.name + " computes x[i] *= alpha.")
	al := s.vec()
	VBROADCASTSS(scalarParam("alpha"), al)
	mapInPlace(s, func(m Mem, t VecVirtual) { VMULPS(m, al, t) }, func(xs VecVirtual) { VMULSS(xs, al.AsX(), xs) })
}

func genAdd(s isa) {
	TEXT("add"+s.name, NOSPLIT, "func(x, y []float32)")
	Pragma("noescape")
	Doc("add" + s.name + " computes y[i] += x[i] for i < len(x); len(y) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	t := make([]VecVirtual, 4)
	for i := range t {
		t[i] = s.vec()
	}
	stream(s, n, []Register{x, y}, 4, func(off, u int) {
		VMOVUPS(Mem{Base: y, Disp: off}, t[u])
		VADDPS(Mem{Base: x, Disp: off}, t[u], t[u])
		VMOVUPS(t[u], Mem{Base: y, Disp: off})
	}, func() {
		xs, ys := XMM(), XMM()
		VMOVSS(Mem{Base: x}, xs)
		VMOVSS(Mem{Base: y}, ys)
		VADDSS(xs, ys, ys)
		VMOVSS(ys, Mem{Base: y})
	})
	VZEROUPPER()
	RET()
}

func genDot(s isa) {
	TEXT("dot"+s.name, NOSPLIT, "func(x, y []float32) float32")
	Pragma("noescape")
	Doc("dot" + s.name + " returns Σ x[i]*y[i] for i < len(x); len(y) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := make([]VecVirtual, 4)
	t := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = s.vec()
		s.zero(acc[i])
		t[i] = s.vec()
	}
	tailAcc := XMM()
	VXORPS(tailAcc, tailAcc, tailAcc)
	stream(s, n, []Register{x, y}, 4, func(off, u int) {
		VMOVUPS(Mem{Base: x, Disp: off}, t[u])
		VFMADD231PS(Mem{Base: y, Disp: off}, t[u], acc[u])
	}, func() {
		xs, ys := XMM(), XMM()
		VMOVSS(Mem{Base: x}, xs)
		VMOVSS(Mem{Base: y}, ys)
		VFMADD231SS(xs, ys, tailAcc)
	})
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	r := s.toX(acc[0], func(a, b, dst Op) { VADDPS(a, b, dst) })
	h := XMM()
	VMOVHLPS(r, r, h)
	VADDPS(h, r, r)
	VMOVSHDUP(r, h)
	VADDSS(h, r, r)
	VADDSS(tailAcc, r, r)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}

// genAddScalar emits addScalar<ISA> (x[i] += b) or addScalarRelu<ISA> (x[i] = max(0, x[i]+b)).
func genAddScalar(s isa, relu bool) {
	name := "addScalar"
	doc := " computes x[i] += b."
	if relu {
		name = "addScalarRelu"
		doc = " computes x[i] = max(0, x[i]+b) (NaN stays NaN)."
	}
	TEXT(name+s.name, NOSPLIT, "func(b float32, x []float32)")
	Pragma("noescape")
	Doc(name + s.name + doc)
	bv := s.vec()
	VBROADCASTSS(scalarParam("b"), bv)
	z := s.vec()
	s.zero(z)
	mapInPlace(s, func(m Mem, t VecVirtual) {
		VADDPS(m, bv, t)
		if relu {
			VMAXPS(t, z, t) // Intel max(0, t): returns t when t is NaN
		}
	}, func(xs VecVirtual) {
		VADDSS(bv.AsX(), xs, xs)
		if relu {
			VMAXSS(xs, z.AsX(), xs)
		}
	})
}

// mapInPlace emits the rest of a kernel that sets x[i] = f(x[i]) over its slice parameter
// x, four vectors at a time and then element by element: vec(m, t) computes f of the
// vector at m into t, scalar(xs) f of the value in xs, in place.
func mapInPlace(s isa, vec func(m Mem, t VecVirtual), scalar func(xs VecVirtual)) {
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	t := make([]VecVirtual, 4)
	for i := range t {
		t[i] = s.vec()
	}
	stream(s, n, []Register{x}, 4, func(off, u int) {
		vec(Mem{Base: x, Disp: off}, t[u])
		VMOVUPS(t[u], Mem{Base: x, Disp: off})
	}, func() {
		xs := XMM()
		VMOVSS(Mem{Base: x}, xs)
		scalar(xs)
		VMOVSS(xs, Mem{Base: x})
	})
	VZEROUPPER()
	RET()
}

func genRelu(s isa) {
	TEXT("relu"+s.name, NOSPLIT, "func(x []float32)")
	Pragma("noescape")
	Doc("relu" + s.name + " computes x[i] = max(0, x[i]) (NaN and -0 are kept, like the Go loop).")
	z := s.vec()
	s.zero(z)
	mapInPlace(s, func(m Mem, t VecVirtual) { VMAXPS(m, z, t) }, func(xs VecVirtual) { VMAXSS(xs, z.AsX(), xs) })
}

func genReluBackward(s isa) {
	TEXT("reluBackward"+s.name, NOSPLIT, "func(y, dy []float32)")
	Pragma("noescape")
	Doc("reluBackward" + s.name + " sets dy[i] = 0 where y[i] <= 0, for i < len(y); len(dy) >= len(y).")
	y := Load(Param("y").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	n := Load(Param("y").Len(), GP64())
	z := s.vec()
	s.zero(z)
	stream(s, n, []Register{y, dy}, 4, func(off, u int) {
		yv := s.vec()
		VMOVUPS(Mem{Base: y, Disp: off}, yv)
		r := s.keepWhere(yv, z, Mem{Base: dy, Disp: off})
		VMOVUPS(r, Mem{Base: dy, Disp: off})
	}, func() {
		ys, ds, m := XMM(), XMM(), XMM()
		VMOVSS(Mem{Base: y}, ys)
		VMOVSS(Mem{Base: dy}, ds)
		VCMPSS(U8(6), z.AsX(), ys, m)
		VANDPS(ds, m, m)
		VMOVSS(m, Mem{Base: dy})
	})
	VZEROUPPER()
	RET()
}

// Kernels of local response normalization.

func genAddSquares(s isa) {
	TEXT("addSquares"+s.name, NOSPLIT, "func(alpha float32, x, y []float32)")
	Pragma("noescape")
	Doc("addSquares" + s.name + " computes y[i] += alpha*x[i]*x[i] for i < len(x); len(y) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	al := s.vec()
	VBROADCASTSS(scalarParam("alpha"), al)
	stream(s, n, []Register{x, y}, 4, func(off, u int) {
		xv, t := s.vec(), s.vec()
		VMOVUPS(Mem{Base: x, Disp: off}, xv)
		VMULPS(xv, al, t)
		VFMADD213PS(Mem{Base: y, Disp: off}, xv, t)
		VMOVUPS(t, Mem{Base: y, Disp: off})
	}, func() {
		xs, t := XMM(), XMM()
		VMOVSS(Mem{Base: x}, xs)
		VMULSS(xs, al.AsX(), t)
		VFMADD213SS(Mem{Base: y}, xs, t)
		VMOVSS(t, Mem{Base: y})
	})
	VZEROUPPER()
	RET()
}

func genAddProduct(s isa) {
	TEXT("addProduct"+s.name, NOSPLIT, "func(alpha float32, x, z, y []float32)")
	Pragma("noescape")
	Doc("addProduct" + s.name + " computes y[i] += alpha*x[i]*z[i] for i < len(x); len(y), len(z) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	z := Load(Param("z").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	al := s.vec()
	VBROADCASTSS(scalarParam("alpha"), al)
	stream(s, n, []Register{x, z, y}, 4, func(off, u int) {
		t := s.vec()
		VMULPS(Mem{Base: x, Disp: off}, al, t)
		VMULPS(Mem{Base: z, Disp: off}, t, t)
		VADDPS(Mem{Base: y, Disp: off}, t, t)
		VMOVUPS(t, Mem{Base: y, Disp: off})
	}, func() {
		t := XMM()
		VMULSS(Mem{Base: x}, al.AsX(), t)
		VMULSS(Mem{Base: z}, t, t)
		VADDSS(Mem{Base: y}, t, t)
		VMOVSS(t, Mem{Base: y})
	})
	VZEROUPPER()
	RET()
}

func genMomentum(s isa) {
	TEXT("momentum"+s.name, NOSPLIT, "func(eta, mu, wd float32, w, g, v []float32)")
	Pragma("noescape")
	Doc("momentum" + s.name + " computes v[i] = mu*v[i] + g[i] + wd*w[i], then w[i] -= eta*v[i], for i < len(w); len(g), len(v) >= len(w).")
	w := Load(Param("w").Base(), GP64())
	g := Load(Param("g").Base(), GP64())
	v := Load(Param("v").Base(), GP64())
	n := Load(Param("w").Len(), GP64())
	eta, mu, wd := s.vec(), s.vec(), s.vec()
	VBROADCASTSS(scalarParam("eta"), eta)
	VBROADCASTSS(scalarParam("mu"), mu)
	VBROADCASTSS(scalarParam("wd"), wd)
	stream(s, n, []Register{w, g, v}, 4, func(off, u int) {
		tw, tv := s.vec(), s.vec()
		VMOVUPS(Mem{Base: w, Disp: off}, tw)
		VMOVUPS(Mem{Base: g, Disp: off}, tv)
		VFMADD231PS(tw, wd, tv)
		VFMADD231PS(Mem{Base: v, Disp: off}, mu, tv)
		VMOVUPS(tv, Mem{Base: v, Disp: off})
		VFNMADD231PS(tv, eta, tw)
		VMOVUPS(tw, Mem{Base: w, Disp: off})
	}, func() {
		tw, tv := XMM(), XMM()
		VMOVSS(Mem{Base: w}, tw)
		VMOVSS(Mem{Base: g}, tv)
		VFMADD231SS(tw, wd.AsX(), tv)
		VFMADD231SS(Mem{Base: v}, mu.AsX(), tv)
		VMOVSS(tv, Mem{Base: v})
		VFNMADD231SS(tv, eta.AsX(), tw)
		VMOVSS(tw, Mem{Base: w})
	})
	VZEROUPPER()
	RET()
}

func genDivPow34(s isa) {
	TEXT("divPow34"+s.name, NOSPLIT, "func(x, sc, y []float32)")
	Pragma("noescape")
	Doc("divPow34" + s.name + " computes y[i] = x[i] / √(sc[i]·√sc[i]) for i < len(x); len(sc), len(y) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	sc := Load(Param("sc").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	stream(s, n, []Register{x, sc, y}, 2, func(off, u int) {
		v, r := s.vec(), s.vec()
		VMOVUPS(Mem{Base: sc, Disp: off}, v)
		VSQRTPS(v, r)
		VMULPS(v, r, r)
		VSQRTPS(r, r)
		VMOVUPS(Mem{Base: x, Disp: off}, v)
		VDIVPS(r, v, v)
		VMOVUPS(v, Mem{Base: y, Disp: off})
	}, func() {
		v, r := XMM(), XMM()
		VMOVSS(Mem{Base: sc}, v)
		VSQRTSS(v, v, r)
		VMULSS(v, r, r)
		VSQRTSS(r, r, r)
		VMOVSS(Mem{Base: x}, v)
		VDIVSS(r, v, v)
		VMOVSS(v, Mem{Base: y})
	})
	VZEROUPPER()
	RET()
}

// Kernels of batch normalization.

// reduceAdd adds acc[1:] into acc[0] and returns its lanes summed into the low lane of an
// XMM register, with tail added.
func reduceAdd(s isa, acc []VecVirtual, tail VecVirtual) VecVirtual {
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	r := s.toX(acc[0], func(a, b, dst Op) { VADDPS(a, b, dst) })
	h := XMM()
	VMOVHLPS(r, r, h)
	VADDPS(h, r, r)
	VMOVSHDUP(r, h)
	VADDSS(h, r, r)
	VADDSS(tail, r, r)
	return r
}

// zeroVecs returns n zeroed vector registers.
func zeroVecs(s isa, n int) []VecVirtual {
	v := make([]VecVirtual, n)
	for i := range v {
		v[i] = s.vec()
		s.zero(v[i])
	}
	return v
}

func genSumDev(s isa) {
	TEXT("sumDev"+s.name, NOSPLIT, "func(c float32, x []float32) (sum, sq float32)")
	Pragma("noescape")
	Doc("sumDev" + s.name + " returns Σ (x[i]-c) and Σ (x[i]-c)².")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	cv := s.vec()
	VBROADCASTSS(scalarParam("c"), cv)
	sum, sq := zeroVecs(s, 4), zeroVecs(s, 4)
	tSum, tSq := XMM(), XMM()
	VXORPS(tSum, tSum, tSum)
	VXORPS(tSq, tSq, tSq)
	stream(s, n, []Register{x}, 4, func(off, u int) {
		d := s.vec()
		VMOVUPS(Mem{Base: x, Disp: off}, d)
		VSUBPS(cv, d, d)
		VADDPS(d, sum[u], sum[u])
		VFMADD231PS(d, d, sq[u])
	}, func() {
		d := XMM()
		VMOVSS(Mem{Base: x}, d)
		VSUBSS(cv.AsX(), d, d)
		VADDSS(d, tSum, tSum)
		VFMADD231SS(d, d, tSq)
	})
	rs := reduceAdd(s, sum, tSum)
	Store(rs, ReturnIndex(0))
	rq := reduceAdd(s, sq, tSq)
	Store(rq, ReturnIndex(1))
	VZEROUPPER()
	RET()
}

func genDotDev(s isa) {
	TEXT("dotDev"+s.name, NOSPLIT, "func(c float32, x, dy []float32) (sum, dot float32)")
	Pragma("noescape")
	Doc("dotDev" + s.name + " returns Σ dy[i] and Σ dy[i]·(x[i]-c) for i < len(x); len(dy) >= len(x).")
	x := Load(Param("x").Base(), GP64())
	dy := Load(Param("dy").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	cv := s.vec()
	VBROADCASTSS(scalarParam("c"), cv)
	sum, dot := zeroVecs(s, 4), zeroVecs(s, 4)
	tSum, tDot := XMM(), XMM()
	VXORPS(tSum, tSum, tSum)
	VXORPS(tDot, tDot, tDot)
	stream(s, n, []Register{x, dy}, 4, func(off, u int) {
		d, g := s.vec(), s.vec()
		VMOVUPS(Mem{Base: x, Disp: off}, d)
		VSUBPS(cv, d, d)
		VMOVUPS(Mem{Base: dy, Disp: off}, g)
		VADDPS(g, sum[u], sum[u])
		VFMADD231PS(d, g, dot[u])
	}, func() {
		d, g := XMM(), XMM()
		VMOVSS(Mem{Base: x}, d)
		VSUBSS(cv.AsX(), d, d)
		VMOVSS(Mem{Base: dy}, g)
		VADDSS(g, tSum, tSum)
		VFMADD231SS(d, g, tDot)
	})
	rs := reduceAdd(s, sum, tSum)
	Store(rs, ReturnIndex(0))
	rd := reduceAdd(s, dot, tDot)
	Store(rd, ReturnIndex(1))
	VZEROUPPER()
	RET()
}

// genScaleShift emits scaleShift<ISA> (y[i] = a·(x[i] − m) + b) or scaleShiftRelu<ISA>
// (y[i] = max(0, a·(x[i] − m) + b)).
func genScaleShift(s isa, relu bool) {
	name, doc := "scaleShift", " computes y[i] = a*(x[i]-m) + b for i < len(x); len(y) >= len(x)."
	if relu {
		name, doc = "scaleShiftRelu", " computes y[i] = max(0, a*(x[i]-m) + b) for i < len(x); len(y) >= len(x)."
	}
	TEXT(name+s.name, NOSPLIT, "func(a, m, b float32, x, y []float32)")
	Pragma("noescape")
	Doc(name + s.name + doc)
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	av, mv, bv, z := s.vec(), s.vec(), s.vec(), s.vec()
	VBROADCASTSS(scalarParam("a"), av)
	VBROADCASTSS(scalarParam("m"), mv)
	VBROADCASTSS(scalarParam("b"), bv)
	s.zero(z)
	stream(s, n, []Register{x, y}, 4, func(off, u int) {
		t := s.vec()
		VMOVUPS(Mem{Base: x, Disp: off}, t)
		VSUBPS(mv, t, t)
		VFMADD213PS(bv, av, t)
		if relu {
			VMAXPS(t, z, t)
		}
		VMOVUPS(t, Mem{Base: y, Disp: off})
	}, func() {
		t := XMM()
		VMOVSS(Mem{Base: x}, t)
		VSUBSS(mv.AsX(), t, t)
		VFMADD213SS(bv.AsX(), av.AsX(), t)
		if relu {
			VMAXSS(t, z.AsX(), t)
		}
		VMOVSS(t, Mem{Base: y})
	})
	VZEROUPPER()
	RET()
}

func genBNGrad(s isa) {
	TEXT("bnGrad"+s.name, NOSPLIT, "func(a, b, c, mean, lo float32, dy, x, dx []float32)")
	Pragma("noescape")
	Doc("bnGrad" + s.name + " computes dx[i] = a*((dy[i]+c) + b*((x[i]-mean)-lo)) for i < len(dy); len(x), len(dx) >= len(dy).")
	dy := Load(Param("dy").Base(), GP64())
	x := Load(Param("x").Base(), GP64())
	dx := Load(Param("dx").Base(), GP64())
	n := Load(Param("dy").Len(), GP64())
	av, bv, cv, mv, lv := s.vec(), s.vec(), s.vec(), s.vec(), s.vec()
	VBROADCASTSS(scalarParam("a"), av)
	VBROADCASTSS(scalarParam("b"), bv)
	VBROADCASTSS(scalarParam("c"), cv)
	VBROADCASTSS(scalarParam("mean"), mv)
	VBROADCASTSS(scalarParam("lo"), lv)
	// dy + c first: that difference is where the cancellation is when dy is near its mean;
	// mean + lo is the mean in more precision than a float32 holds.
	stream(s, n, []Register{dy, x, dx}, 4, func(off, u int) {
		t, g := s.vec(), s.vec()
		VADDPS(Mem{Base: dy, Disp: off}, cv, g)
		VMOVUPS(Mem{Base: x, Disp: off}, t)
		VSUBPS(mv, t, t)
		VSUBPS(lv, t, t)
		VFMADD213PS(g, bv, t)
		VMULPS(av, t, t)
		VMOVUPS(t, Mem{Base: dx, Disp: off})
	}, func() {
		t, g := XMM(), XMM()
		VMOVSS(Mem{Base: dy}, g)
		VADDSS(cv.AsX(), g, g)
		VMOVSS(Mem{Base: x}, t)
		VSUBSS(mv.AsX(), t, t)
		VSUBSS(lv.AsX(), t, t)
		VFMADD213SS(g, bv.AsX(), t)
		VMULSS(av.AsX(), t, t)
		VMOVSS(t, Mem{Base: dx})
	})
	VZEROUPPER()
	RET()
}

func genMax(s isa) {
	TEXT("max"+s.name, NOSPLIT, "func(x []float32) float32")
	Pragma("noescape")
	Doc("max" + s.name + " returns the largest x[i]; len(x) >= 1.")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = s.vec()
		VBROADCASTSS(Mem{Base: x}, acc[i])
	}
	tailAcc := XMM()
	VMOVSS(Mem{Base: x}, tailAcc)
	stream(s, n, []Register{x}, 4, func(off, u int) {
		VMAXPS(Mem{Base: x, Disp: off}, acc[u], acc[u])
	}, func() {
		VMAXSS(Mem{Base: x}, tailAcc, tailAcc)
	})
	VMAXPS(acc[1], acc[0], acc[0])
	VMAXPS(acc[3], acc[2], acc[2])
	VMAXPS(acc[2], acc[0], acc[0])
	r := s.toX(acc[0], func(a, b, dst Op) { VMAXPS(a, b, dst) })
	h := XMM()
	VMOVHLPS(r, r, h)
	VMAXPS(h, r, r)
	VMOVSHDUP(r, h)
	VMAXSS(h, r, r)
	VMAXSS(tailAcc, r, r)
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}

// ---------------------------------------------------------------------------
// exp

// Constants of exp, each replicated 16 times (64 bytes) so that any vector width can use
// them as a memory operand.
const (
	cLo = iota
	cHi
	cLog2e
	cMagic
	cLn2Hi
	cLn2Lo
	cP0
	cP1
	cP2
	cP3
	cP4
	cP5
	cOne
	cMagicBits // int32: bits of cMagic
	c127       // int32: 127
	nConst
)

var expTable Mem

func genConsts() {
	vals := [nConst]float32{
		cLo:    -104,
		cHi:    89,
		cLog2e: 1.44269504088896341,
		cMagic: 12582912, // 1.5 * 2^23
		cLn2Hi: 0.693145751953125,
		cLn2Lo: 1.428606765330187045e-06,
		// Cephes expf polynomial: e^r ≈ 1 + r + r²(P0 r⁵ + ... + P5), |r| <= ln2/2.
		cP0:  1.9875691500e-4,
		cP1:  1.3981999507e-3,
		cP2:  8.3334519073e-3,
		cP3:  4.1665795894e-2,
		cP4:  1.6666665459e-1,
		cP5:  5.0000001201e-1,
		cOne: 1,
	}
	expTable = GLOBL("expconst", RODATA|NOPTR)
	for i := 0; i < nConst; i++ {
		bits := math.Float32bits(vals[i])
		switch i {
		case cMagicBits:
			bits = math.Float32bits(12582912)
		case c127:
			bits = 127
		}
		for l := 0; l < 16; l++ {
			DATA(i*64+l*4, U32(bits))
		}
	}
}

// expBody computes e^v in place on v, a vector register of any width (its constants are
// memory operands of the same width). Method: clamp x to [-104, 89]; n = round(x/ln2) via
// the 1.5·2^23 trick; r = x - n·ln2 (two-step Cody–Waite with FMA); e^r by the Cephes
// polynomial; scale by 2^n as two factors 2^(n>>1)·2^(n-(n>>1)) so that results in the
// subnormal range and overflow to +Inf come out right. NaN propagates.
func expBody(v VecVirtual, newReg func() VecVirtual) {
	k := func(i int) Mem { return expTable.Offset(i * 64) }
	// Clamp with the constant as Intel's first source so that a NaN x passes through.
	lo := newReg()
	VMOVUPS(k(cLo), lo)
	VMAXPS(v, lo, v) // max(lo, x)
	VMOVUPS(k(cHi), lo)
	VMINPS(v, lo, v) // min(hi, x)
	t := newReg()
	VMOVUPS(k(cMagic), t)
	VFMADD231PS(k(cLog2e), v, t) // t = x*log2e + magic: low mantissa bits hold n
	nf := newReg()
	VSUBPS(k(cMagic), t, nf) // nf = n = round(x*log2e)
	r := newReg()
	VMOVUPS(v, r)
	VFNMADD231PS(k(cLn2Hi), nf, r) // r = x - n*ln2hi
	VFNMADD231PS(k(cLn2Lo), nf, r) // r -= n*ln2lo
	p := newReg()
	VMOVUPS(k(cP0), p)
	for _, c := range []int{cP1, cP2, cP3, cP4, cP5, cOne, cOne} {
		VFMADD213PS(k(c), r, p) // p = p*r + c
	}
	// p = (P(r)·r + 1)·r + 1 = 1 + r + r²·P(r) ≈ e^r
	VPSUBD(k(cMagicBits), t, t) // t = n as int32, in [-150, 128]
	VSUBPS(v, v, v)             // v = x - x: 0, or NaN when x is NaN
	half := newReg()
	VPSRAD(U8(1), t, half) // half = n>>1
	VPSUBD(half, t, t)     // t = n - half
	VPADDD(k(c127), t, t)
	VPADDD(k(c127), half, half)
	VPSLLD(U8(23), t, t)       // 2^(n-half)
	VPSLLD(U8(23), half, half) // 2^half
	VMULPS(t, p, p)
	VMULPS(half, p, p) // one rounding into the subnormal range, overflow to +Inf
	VADDPS(v, p, v)
}

func genExp(s isa) {
	TEXT("exp"+s.name, NOSPLIT, "func(x []float32)")
	Pragma("noescape")
	Doc("exp" + s.name + " computes x[i] = e^x[i] (relative error < 2e-7 for normal results).")
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	stream(s, n, []Register{x}, 2, func(off, u int) {
		v := s.vec()
		VMOVUPS(Mem{Base: x, Disp: off}, v)
		expBody(v, s.vec)
		VMOVUPS(v, Mem{Base: x, Disp: off})
	}, func() {
		v := XMM()
		VMOVSS(Mem{Base: x}, v)
		expBody(v, XMM)
		VMOVSS(v, Mem{Base: x})
	})
	VZEROUPPER()
	RET()
}

// ---------------------------------------------------------------------------
// Depthwise 3×3 convolution (AVX2 only: AVX-512 machines run it too)

// dwRows loads the row pointers r[ky] = src + 4·rowOff[ky] and column byte offsets
// c[kx] = 4·colOff[kx] of a 3×3 depthwise kernel: tap (ky, kx) of the output at byte j of
// a row reads r[ky] + c[kx] + j.
func dwRows() (r, c [3]Register) {
	src := Load(Param("src").Base(), GP64())
	ro := Load(Param("rowOff").Base(), GP64())
	co := Load(Param("colOff").Base(), GP64())
	for k := range 3 {
		r[k] = GP64()
		MOVQ(Mem{Base: ro, Disp: 8 * k}, r[k])
		SHLQ(U8(2), r[k])
		ADDQ(src, r[k])
		c[k] = GP64()
		MOVQ(Mem{Base: co, Disp: 8 * k}, c[k])
		SHLQ(U8(2), c[k])
	}
	return r, c
}

// dwLoops emits the loops over rows and 8-wide chunks of a 3×3 depthwise kernel: chunk(d)
// handles the chunk at the row pointers r (advanced by 32 bytes after it) and d, the
// other operand's pointer (ldd apart row to row).
func dwLoops(d Register, r [3]Register, chunk func()) {
	rows := Load(Param("rows"), GP64())
	cols := Load(Param("cols"), GP64())
	adjD := Load(Param("ldd"), GP64())
	adjS := Load(Param("lds"), GP64())
	SUBQ(cols, adjD)
	SUBQ(cols, adjS)
	SHLQ(U8(2), adjD)
	SHLQ(U8(2), adjS)
	SHRQ(U8(3), cols) // chunks per row
	n := GP64()
	Label("row")
	MOVQ(cols, n)
	Label("chunk")
	chunk()
	ADDQ(U32(32), d)
	for _, p := range r {
		ADDQ(U32(32), p)
	}
	DECQ(n)
	JNZ(LabelRef("chunk"))
	ADDQ(adjD, d)
	for _, p := range r {
		ADDQ(adjS, p)
	}
	DECQ(rows)
	JNZ(LabelRef("row"))
}

// genDepthwise3x3 emits
//
//	func dw3x3AVX2(dst, src []float32, rowOff, colOff []int, w []float32, rows, cols, ldd, lds int)
//
// (see dw3x3Go): the nine weights broadcast in registers, nine FMAs per 8 outputs.
func genDepthwise3x3() {
	TEXT("dw3x3AVX2", NOSPLIT, "func(dst, src []float32, rowOff, colOff []int, w []float32, rows, cols, ldd, lds int)")
	Pragma("noescape")
	Doc("dw3x3AVX2 is dw3x3Go for cols a positive multiple of 8 and rows > 0.")
	wp := Load(Param("w").Base(), GP64())
	var wv [9]VecVirtual
	for t := range wv {
		wv[t] = YMM()
		VBROADCASTSS(Mem{Base: wp, Disp: 4 * t}, wv[t])
	}
	r, c := dwRows()
	d := Load(Param("dst").Base(), GP64())
	dwLoops(d, r, func() {
		acc := YMM()
		VMULPS(Mem{Base: r[0], Index: c[0], Scale: 1}, wv[0], acc)
		for t := 1; t < 9; t++ {
			VFMADD231PS(Mem{Base: r[t/3], Index: c[t%3], Scale: 1}, wv[t], acc)
		}
		VMOVUPS(acc, Mem{Base: d})
	})
	VZEROUPPER()
	RET()
}

// genDepthwise3x3Grad emits
//
//	func dw3x3GradAVX2(dw, dout, src []float32, rowOff, colOff []int, rows, cols, ldd, lds int)
//
// (see dw3x3GradGo): nine accumulators, nine FMAs per 8 values of dout, summed across
// lanes at the end.
func genDepthwise3x3Grad() {
	TEXT("dw3x3GradAVX2", NOSPLIT, "func(dw, dout, src []float32, rowOff, colOff []int, rows, cols, ldd, lds int)")
	Pragma("noescape")
	Doc("dw3x3GradAVX2 is dw3x3GradGo for cols a positive multiple of 8 and rows > 0.")
	var acc [9]VecVirtual
	for t := range acc {
		acc[t] = YMM()
		VXORPS(acc[t], acc[t], acc[t])
	}
	r, c := dwRows()
	d := Load(Param("dout").Base(), GP64())
	dwLoops(d, r, func() {
		dv := YMM()
		VMOVUPS(Mem{Base: d}, dv)
		for t := range acc {
			VFMADD231PS(Mem{Base: r[t/3], Index: c[t%3], Scale: 1}, dv, acc[t])
		}
	})
	dw := Load(Param("dw").Base(), GP64())
	for t := range acc {
		x := avx2.toX(acc[t], func(a, b, dst Op) { VADDPS(a, b, dst) })
		h := XMM()
		VMOVHLPS(x, x, h)
		VADDPS(h, x, x)
		VMOVSHDUP(x, h)
		VADDSS(h, x, x)
		VADDSS(Mem{Base: dw, Disp: 4 * t}, x, x)
		VMOVSS(x, Mem{Base: dw, Disp: 4 * t})
	}
	VZEROUPPER()
	RET()
}
