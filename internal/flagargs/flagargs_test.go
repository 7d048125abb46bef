package flagargs

import (
	"flag"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	out := fs.String("o", "", "")
	v := fs.Bool("v", false, "")
	pos, err := Parse(fs, []string{"a.net", "-o", "dir", "b.net", "-v"})
	if err != nil || !slices.Equal(pos, []string{"a.net", "b.net"}) || *out != "dir" || !*v {
		t.Fatalf("Parse = %q, %v; -o %q -v %v", pos, err, *out, *v)
	}
	if _, err := Parse(fs, []string{"x", "-nope"}); err == nil {
		t.Error("unknown flag accepted")
	}
}
