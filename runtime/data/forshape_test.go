package data

import "testing"

func TestForShape(t *testing.T) {
	for _, c := range []struct {
		c, h, w int
		want    string
	}{{1, 28, 28, MNIST}, {3, 32, 32, CIFAR10}, {3, 227, 227, ""}, {1, 32, 32, ""}} {
		got, err := ForShape(c.c, c.h, c.w)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("ForShape(%d, %d, %d) = %q, %v; want %q", c.c, c.h, c.w, got, err, c.want)
		}
	}
}
