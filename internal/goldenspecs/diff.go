package goldenspecs

import (
	"fmt"
	"os"
	"path/filepath"
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

// Check compares got with the golden file at path (name is how messages call it), or,
// when update is set, writes got there; hint says which command rewrites the file.
func Check(t testing.TB, path, name string, got []byte, update bool, hint string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v (%s writes it)", err, hint)
		return
	}
	if d := unifiedDiff(name, "generated", want, got); d != "" {
		t.Errorf("generated output differs from %s (%s rewrites it):\n%s", name, hint, truncateLines(d, 400))
	}
}
