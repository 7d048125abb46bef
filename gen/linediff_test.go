package gen

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// An edit is one line of a line diff: kept (' '), deleted from the old text ('-') or
// inserted from the new one ('+').
type edit struct {
	op   byte
	line string
}

// maxEditTrace bounds the memory of diffLines's search (ints kept for its backtrack);
// past it the differing middle is shown as deleted, then inserted.
const maxEditTrace = 1 << 24

// diffLines returns a shortest edit script from a to b (Myers' greedy algorithm, run on
// what lies between their common prefix and suffix).
func diffLines(a, b []string) []edit {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []edit
	for _, l := range a[:pre] {
		out = append(out, edit{' ', l})
	}
	out = append(out, myers(a[pre:len(a)-suf], b[pre:len(b)-suf])...)
	for _, l := range a[len(a)-suf:] {
		out = append(out, edit{' ', l})
	}
	return out
}

// myers returns a shortest edit script from a to b. It keeps the furthest-reaching x of
// every diagonal k = x − y after each number of edits d, then walks back from (n, m).
func myers(a, b []string) []edit {
	n, m := len(a), len(b)
	off := n + m + 1 // v[off+k] is diagonal k
	v := make([]int, 2*off+1)
	var trace [][]int
	for d := 0; d <= n+m; d++ {
		if (d+1)*len(v) > maxEditTrace {
			return replaceAll(a, b)
		}
		trace = append(trace, slices.Clone(v))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1] // down: insert b[y-1]
			} else {
				x = v[off+k-1] + 1 // right: delete a[x-1]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, off)
			}
		}
	}
	panic("unreachable: n+m edits always suffice")
}

// backtrack turns myers's trace (trace[d] is v before step d) into the edit script.
func backtrack(a, b []string, trace [][]int, off int) []edit {
	var rev []edit
	x, y := len(a), len(b)
	for d := len(trace) - 1; d >= 0; d-- {
		v, k := trace[d], x-y
		prevK := k - 1
		if k == -d || k != d && v[off+k-1] < v[off+k+1] {
			prevK = k + 1
		}
		prevX := v[off+prevK]
		prevY := prevX - prevK
		if d == 0 {
			prevX, prevY = 0, 0
		}
		for x > prevX && y > prevY {
			x, y = x-1, y-1
			rev = append(rev, edit{' ', a[x]})
		}
		if d == 0 {
			break
		}
		if x == prevX {
			rev = append(rev, edit{'+', b[y-1]})
		} else {
			rev = append(rev, edit{'-', a[x-1]})
		}
		x, y = prevX, prevY
	}
	slices.Reverse(rev)
	return rev
}

// replaceAll is the edit script that deletes all of a and inserts all of b.
func replaceAll(a, b []string) []edit {
	out := make([]edit, 0, len(a)+len(b))
	for _, l := range a {
		out = append(out, edit{'-', l})
	}
	for _, l := range b {
		out = append(out, edit{'+', l})
	}
	return out
}

// unifiedDiff returns the differences from want (named wantName) to got as a unified diff
// with three lines of context, or "" when they are equal.
func unifiedDiff(wantName, gotName string, want, got []byte) string {
	if string(want) == string(got) {
		return ""
	}
	edits := diffLines(splitLines(string(want)), splitLines(string(got)))
	const context = 3
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", wantName, gotName)
	// oldLine[i] and newLine[i] count the lines of each side before edits[i].
	oldLine, newLine := make([]int, len(edits)+1), make([]int, len(edits)+1)
	for i, e := range edits {
		oldLine[i+1], newLine[i+1] = oldLine[i], newLine[i]
		if e.op != '+' {
			oldLine[i+1]++
		}
		if e.op != '-' {
			newLine[i+1]++
		}
	}
	for i := 0; i < len(edits); {
		if edits[i].op == ' ' {
			i++
			continue
		}
		// A hunk: from context lines before this change to context lines after the last
		// change separated from the one before it by at most 2×context kept lines.
		start, end := max(0, i-context), i
		for j := i; j < len(edits) && j <= end+2*context+1; j++ {
			if edits[j].op != ' ' {
				end = j
			}
		}
		end = min(len(edits), end+1+context)
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(oldLine[start], oldLine[end]),
			hunkRange(newLine[start], newLine[end]))
		for _, e := range edits[start:end] {
			sb.WriteByte(e.op)
			sb.WriteString(e.line)
		}
		i = end
	}
	return sb.String()
}

// hunkRange formats lines [from, to) as a unified diff does: the first line counted from 1
// (the line before, for an empty range) and the count when it is not 1.
func hunkRange(from, to int) string {
	switch to - from {
	case 0:
		return fmt.Sprintf("%d,0", from)
	case 1:
		return fmt.Sprint(from + 1)
	}
	return fmt.Sprintf("%d,%d", from+1, to-from)
}

// truncateLines keeps the first n lines of s and says how many it left out.
func truncateLines(s string, n int) string {
	lines := strings.SplitAfterN(s, "\n", n+1)
	if len(lines) <= n || lines[n] == "" {
		return s
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("... %d more lines\n", strings.Count(lines[n], "\n"))
}

// splitLines splits s after each newline; a last line without one is marked as diff does.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}

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
