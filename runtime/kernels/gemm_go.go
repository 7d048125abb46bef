package kernels

// sgemmKernelGo computes one 2×4 tile from packed panels (the pure-Go micro-kernel; the
// strides must be aRow = 1, aStep = 2, bStep = 4):
//
//	for i := 0; i < rows; i++ {
//		for j := 0; j < 4; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[i*aRow+p*aStep] * b[p*bStep+j]
//			}
//			if beta == 0 {
//				c[i*ldc+j] = alpha * s
//			} else {
//				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//			}
//		}
//	}
//
// The tile is small because Go keeps scalars in at most 15 XMM registers: 8 accumulators,
// the operands and the products fit, so nothing spills. The k loop is unrolled 4 times,
// which also makes the compiler interleave each product with its addition.
func sgemmKernelGo(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc, rows int, alpha, beta float32) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	a = a[:2*k]
	b = b[:4*k]
	p := 0
	for ; p+4 <= k; p += 4 {
		aa := a[2*p : 2*p+8 : 2*p+8]
		bb := b[4*p : 4*p+16 : 4*p+16]
		c00 += aa[0] * bb[0]
		c01 += aa[0] * bb[1]
		c02 += aa[0] * bb[2]
		c03 += aa[0] * bb[3]
		c10 += aa[1] * bb[0]
		c11 += aa[1] * bb[1]
		c12 += aa[1] * bb[2]
		c13 += aa[1] * bb[3]
		c00 += aa[2] * bb[4]
		c01 += aa[2] * bb[5]
		c02 += aa[2] * bb[6]
		c03 += aa[2] * bb[7]
		c10 += aa[3] * bb[4]
		c11 += aa[3] * bb[5]
		c12 += aa[3] * bb[6]
		c13 += aa[3] * bb[7]
		c00 += aa[4] * bb[8]
		c01 += aa[4] * bb[9]
		c02 += aa[4] * bb[10]
		c03 += aa[4] * bb[11]
		c10 += aa[5] * bb[8]
		c11 += aa[5] * bb[9]
		c12 += aa[5] * bb[10]
		c13 += aa[5] * bb[11]
		c00 += aa[6] * bb[12]
		c01 += aa[6] * bb[13]
		c02 += aa[6] * bb[14]
		c03 += aa[6] * bb[15]
		c10 += aa[7] * bb[12]
		c11 += aa[7] * bb[13]
		c12 += aa[7] * bb[14]
		c13 += aa[7] * bb[15]
	}
	for ; p < k; p++ {
		aa := a[2*p : 2*p+2 : 2*p+2]
		bb := b[4*p : 4*p+4 : 4*p+4]
		c00 += aa[0] * bb[0]
		c01 += aa[0] * bb[1]
		c02 += aa[0] * bb[2]
		c03 += aa[0] * bb[3]
		c10 += aa[1] * bb[0]
		c11 += aa[1] * bb[1]
		c12 += aa[1] * bb[2]
		c13 += aa[1] * bb[3]
	}
	r0 := c[0*ldc : 0*ldc+4 : 0*ldc+4]
	if rows < 2 {
		if beta == 0 {
			r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
		} else {
			r0[0], r0[1], r0[2], r0[3] = alpha*c00+beta*r0[0], alpha*c01+beta*r0[1], alpha*c02+beta*r0[2], alpha*c03+beta*r0[3]
		}
		return
	}
	r1 := c[1*ldc : 1*ldc+4 : 1*ldc+4]
	if beta == 0 {
		r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
		r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
		return
	}
	r0[0], r0[1], r0[2], r0[3] = alpha*c00+beta*r0[0], alpha*c01+beta*r0[1], alpha*c02+beta*r0[2], alpha*c03+beta*r0[3]
	r1[0], r1[1], r1[2], r1[3] = alpha*c10+beta*r1[0], alpha*c11+beta*r1[1], alpha*c12+beta*r1[2], alpha*c13+beta*r1[3]
}
