package kernels

// AddTransposed adds the transpose of t (cols × rows, row-major) to m (rows × cols):
// m[i][j] += t[j][i]. Generated code uses it to accumulate weight gradients computed
// transposed.
func AddTransposed(m, t []float32, rows, cols int) {
	addTransposed(m, t, rows, cols, rows)
}

// addTransposed is AddTransposed for a t whose rows are ldt apart (ldt ≥ rows).
func addTransposed(m, t []float32, rows, cols, ldt int) {
	m = m[:rows*cols]
	for j := 0; j < cols; j++ {
		tr := t[j*ldt : j*ldt+rows]
		for i, v := range tr {
			m[i*cols+j] += v
		}
	}
}
