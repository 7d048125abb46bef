package goldenspecs

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestDiffLinesIsShortest(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		edits int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"abcabba", "cbabac", 5}, // Myers' example: the shortest script has 5 edits
		{"axbxc", "abc", 2},
		{"abc", "xaybzc", 3},
		{"abcdef", "fedcba", 10},
	} {
		a, b := strings.Split(c.a, ""), strings.Split(c.b, "")
		edits := diffLines(a, b)
		var old, new []string
		changes := 0
		for _, e := range edits {
			if e.op != '+' {
				old = append(old, e.line)
			}
			if e.op != '-' {
				new = append(new, e.line)
			}
			if e.op != ' ' {
				changes++
			}
		}
		if !slices.Equal(old, a) || !slices.Equal(new, b) {
			t.Errorf("%q → %q: script %v does not turn one into the other", c.a, c.b, edits)
		}
		if changes != c.edits {
			t.Errorf("%q → %q: %d edits, want %d", c.a, c.b, changes, c.edits)
		}
	}
}

func TestDiffLinesFallsBackPastItsBound(t *testing.T) {
	// Two unrelated texts of 3,000 lines need 6,000 edits: beyond the trace bound.
	var a, b []string
	for i := range 3000 {
		a, b = append(a, fmt.Sprint("a", i)), append(b, fmt.Sprint("b", i))
	}
	edits := diffLines(a, b)
	if len(edits) != 6000 || edits[0] != (edit{'-', "a0"}) || edits[3000] != (edit{'+', "b0"}) {
		t.Errorf("got %d edits starting %v, want 3,000 deletions then 3,000 insertions", len(edits), edits[:1])
	}
}

func TestUnifiedDiff(t *testing.T) {
	var lines []string
	for i := 1; i <= 20; i++ {
		lines = append(lines, fmt.Sprintf("line %d\n", i))
	}
	want := strings.Join(lines, "")
	edited := slices.Clone(lines)
	edited[1] = "line two\n"                           // line 2 changed
	edited = slices.Insert(edited, 5, "new after 5\n") // within 6 lines: same hunk
	edited = slices.Delete(edited, 18, 19)             // line 18 deleted: a hunk of its own
	got := strings.Join(edited, "") + "no newline"     // and a last line added
	for _, c := range []struct {
		name, want, got, diff string
	}{
		{"equal", want, want, ""},
		{"hunks", want, got, `--- want
+++ got
@@ -1,8 +1,9 @@
 line 1
-line 2
+line two
 line 3
 line 4
 line 5
+new after 5
 line 6
 line 7
 line 8
@@ -15,6 +16,6 @@
 line 15
 line 16
 line 17
-line 18
 line 19
 line 20
+no newline
\ No newline at end of file
`},
		{"from empty", "", "a\n", "--- want\n+++ got\n@@ -0,0 +1 @@\n+a\n"},
		{"to empty", "a\nb\n", "", "--- want\n+++ got\n@@ -1,2 +0,0 @@\n-a\n-b\n"},
	} {
		if d := unifiedDiff("want", "got", []byte(c.want), []byte(c.got)); d != c.diff {
			t.Errorf("%s: got\n%s\nwant\n%s", c.name, d, c.diff)
		}
	}
}

func TestUnifiedDiffJoinsCloseHunks(t *testing.T) {
	// Two changed lines with gap kept lines between them: one hunk while the context after
	// the first and before the second would touch (gap ≤ 6), two past that.
	for gap, hunks := range map[int]int{5: 1, 6: 1, 7: 2, 20: 2} {
		var want, got strings.Builder
		for i := range gap + 2 {
			fmt.Fprintf(&want, "%d\n", i)
			if i == 0 || i == gap+1 {
				fmt.Fprintf(&got, "changed %d\n", i)
			} else {
				fmt.Fprintf(&got, "%d\n", i)
			}
		}
		d := unifiedDiff("a", "b", []byte(want.String()), []byte(got.String()))
		if n := strings.Count(d, "\n@@ "); n != hunks {
			t.Errorf("gap %d: %d hunks, want %d:\n%s", gap, n, hunks, d)
		}
	}
}

func TestTruncateLines(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"a\nb\n", 2, "a\nb\n"},
		{"a\nb", 2, "a\nb"},
		{"a\nb\nc\nd\n", 2, "a\nb\n... 2 more lines\n"},
	} {
		if got := truncateLines(c.s, c.n); got != c.want {
			t.Errorf("truncateLines(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
