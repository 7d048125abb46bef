package kernels

// AddTransposed adds the transpose of t (cols × rows, row-major) to m (rows × cols):
// m[i][j] += t[j][i]. Generated code uses it to accumulate weight gradients computed
// transposed.
func AddTransposed(m, t []float32, rows, cols int) {
	addTransposed(m, t, rows, cols, rows)
}

// addTransposed is AddTransposed for a t whose rows are ldt apart (ldt ≥ rows). It goes
// through m by blocks of transposeBlock columns, so that a line of m is fetched once per
// block rather than once per column: weight gradients are megabytes, past L2.
func addTransposed(m, t []float32, rows, cols, ldt int) {
	m = m[:rows*cols]
	for j0 := 0; j0 < cols; j0 += transposeBlock {
		j1 := min(j0+transposeBlock, cols)
		for i := range rows {
			row := m[i*cols+j0 : i*cols+j1]
			for j := range row {
				row[j] += t[(j0+j)*ldt+i]
			}
		}
	}
}

// transposeBlock is how many columns of m addTransposed adds at a time: 16 floats, one
// cache line of each row of m, read from 16 rows of t.
const transposeBlock = 16
