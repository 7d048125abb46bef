package nn

import "testing"

func TestOnes(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1024} {
		v := Ones(n)
		if len(v) != n {
			t.Errorf("Ones(%d) has %d values", n, len(v))
		}
		for i, x := range v {
			if x != 1 {
				t.Errorf("Ones(%d)[%d] = %v", n, i, x)
			}
		}
	}
}
