package compiler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/netc-dev/netc/dsl"
)

// badSpecs returns the paths of the bad specs under testdata/bad.
func badSpecs(t testing.TB) []string {
	paths, err := filepath.Glob("../testdata/bad/*.net")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no bad specs under testdata/bad: %v", err)
	}
	return paths
}

// wants returns the diagnostics a bad spec declares, in order: the text after "# want " on
// each of its comment lines, "line:col: message" (with "warning: " before the message of a
// warning).
func wants(src []byte) []string {
	var ws []string
	for _, line := range strings.Split(string(src), "\n") {
		if w, ok := strings.CutPrefix(strings.TrimSpace(line), "# want "); ok {
			ws = append(ws, strings.TrimSpace(w))
		}
	}
	return ws
}

// diagnostic formats an error or warning as a "# want" line does.
func diagnostic(e *dsl.Error) string {
	s := fmt.Sprintf("%d:%d: ", e.Pos.Line, e.Pos.Column)
	if e.Warning {
		s += "warning: "
	}
	return s + e.Msg
}

// render formats one diagnostic the way dsl.ErrorList.Render should: the error, the source
// line it points into and a caret under its column.
func render(path string, lines []string, e *dsl.Error) string {
	s := path + ":" + diagnostic(e) + "\n"
	if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
		return s
	}
	line := strings.TrimSuffix(lines[e.Pos.Line-1], "\r")
	pad := []rune(line)
	if len(pad) > e.Pos.Column-1 {
		pad = pad[:e.Pos.Column-1]
	}
	for i, r := range pad {
		if r != '\t' {
			pad[i] = ' '
		}
	}
	return s + line + "\n" + string(pad) + "^\n"
}

// TestBadSpecs compiles every spec under testdata/bad and checks that it fails with exactly
// the diagnostics its "# want" lines declare, in order, each rendered with its source line
// and a caret under its column.
func TestBadSpecs(t *testing.T) {
	for _, path := range badSpecs(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := wants(src)
			if len(want) == 0 {
				t.Fatalf("%s declares no # want lines", path)
			}
			net, err := Compile(path, src)
			if err == nil {
				t.Fatalf("%s compiled without error; want\n%s", path, strings.Join(want, "\n"))
			}
			var list dsl.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error %T %v, want a dsl.ErrorList", err, err)
			}
			// The file's diagnostics: its errors, and its warnings if it got as far as
			// checking shapes, in source order.
			all := append(dsl.ErrorList{}, list...)
			if net != nil {
				all = append(all, net.Warnings...)
			}
			sort.SliceStable(all, func(i, j int) bool { return before(all[i].Pos, all[j].Pos) })
			var got []string
			for _, e := range all {
				got = append(got, diagnostic(e))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s:\n got:\n\t%s\nwant:\n\t%s", path, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
			}

			lines := strings.Split(string(src), "\n")
			var rendered strings.Builder
			for _, e := range list {
				if e.Pos.Filename != path {
					t.Errorf("error %q is in file %q, want %q", e.Msg, e.Pos.Filename, path)
				}
				if e.Warning {
					t.Errorf("warning %q among the errors", e.Msg)
				}
				rendered.WriteString(render(path, lines, e))
			}
			if got, want := list.Render(src), rendered.String(); got != want {
				t.Errorf("Render:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
