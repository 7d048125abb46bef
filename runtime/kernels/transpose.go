package kernels

// AddTransposed adds the transpose of t (cols × rows, row-major) to m (rows × cols):
// m[i][j] += t[j][i]. Generated code uses it to accumulate weight gradients computed
// transposed.
func AddTransposed(m, t []float32, rows, cols int) {
	m, t = m[:rows*cols], t[:rows*cols]
	for j := 0; j < cols; j++ {
		tr := t[j*rows : j*rows+rows]
		for i, v := range tr {
			m[i*cols+j] += v
		}
	}
}
