package dsl

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/alecthomas/participle/v2/lexer"
)

// summary writes a parsed file back in one line: layers joined by " | ", each as
// "name: kind arg...", then " [train] key arg...; key arg...". Arguments are tagged with
// their kind when it matters: D for dims, N for numbers, W for words, B for bad characters.
func summary(f *File) string {
	var layers []string
	for _, l := range f.Layers {
		s := l.Kind.Text
		if l.Name != nil {
			s = l.Name.Text + ": " + s
		}
		layers = append(layers, s+args(l.Args))
	}
	s := strings.Join(layers, " | ")
	if f.Train != nil {
		var settings []string
		for _, st := range f.Train.Settings {
			settings = append(settings, st.Key.Text+args(st.Args))
		}
		s += " [train] " + strings.Join(settings, "; ")
	}
	return s
}

func args(as []*Arg) string {
	var b strings.Builder
	for _, a := range as {
		tag := ""
		switch {
		case a.Dims != "":
			tag = "D"
		case a.Number != "":
			tag = "N"
		case a.Word != "":
			tag = "W"
		case a.Bad != "":
			tag = "B"
		}
		fmt.Fprintf(&b, " %s:%s", tag, a.Text())
	}
	return b.String()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"only comments and blank lines", "# a comment\n\n   \n# another\n", ""},
		{"one layer", "input 3x32x32", "input D:3x32x32"},
		{"newlines chain", "input 3x8x8\nrelu\nsoftmax\n", "input D:3x8x8 | relu | softmax"},
		{"bars chain", "input 3x8x8 | relu | softmax", "input D:3x8x8 | relu | softmax"},
		{"bars without blanks", "input 3x8x8|relu|softmax", "input D:3x8x8 | relu | softmax"},
		{"bar at end of line", "input 3x8x8 |\nrelu |\nsoftmax", "input D:3x8x8 | relu | softmax"},
		{"bar then blank lines and comments", "input 3x8x8 |\n\n# why\n\nsoftmax", "input D:3x8x8 | softmax"},
		{"bars and newlines mixed", "input 3x8x8\nconv 4 3x3 | relu\npool 2x2 | softmax\n",
			"input D:3x8x8 | conv N:4 D:3x3 | relu | pool D:2x2 | softmax"},
		{"leading blank lines", "\n\n\ninput 3x8x8\nsoftmax", "input D:3x8x8 | softmax"},
		{"trailing blank lines", "input 3x8x8\nsoftmax\n\n\n\n", "input D:3x8x8 | softmax"},
		{"no final newline", "input 3x8x8\nsoftmax", "input D:3x8x8 | softmax"},
		{"comments anywhere", "# head\ninput 3x8x8 # the input\n# between\nrelu | # after a bar\nsoftmax# tight\n# tail",
			"input D:3x8x8 | relu | softmax"},
		{"comment without newline at end", "input 3x8x8\nsoftmax # done", "input D:3x8x8 | softmax"},
		{"blanks and tabs", "  input\t3x8x8  \n\t relu \t|   softmax   ", "input D:3x8x8 | relu | softmax"},
		{"CRLF", "input 3x8x8\r\nrelu |\r\n softmax\r\n\r\n[train]\r\nlr 0.1\r\n",
			"input D:3x8x8 | relu | softmax [train] lr N:0.1"},
		{"CRLF with comments", "# c\r\ninput 3x8x8 # c\r\nsoftmax\r\n", "input D:3x8x8 | softmax"},
		{"layer names", "input 3x8x8\nc1: conv 4 3x3 | r: relu\ntop:softmax", "input D:3x8x8 | c1: conv N:4 D:3x3 | r: relu | top: softmax"},
		{"name with blanks around the colon", "first : relu", "first: relu"},
		{"names with digits, dots, dashes", "conv_1.a-b: relu", "conv_1.a-b: relu"},
		{"dims", "input 3x224x224 | conv 1 11x11 | conv 1 3x2 | conv 1x1", "input D:3x224x224 | conv N:1 D:11x11 | conv N:1 D:3x2 | conv D:1x1"},
		{"numbers", "x 16 0.5 1e-4 .5 -1 +2 1. 2.5E+3 0", "x N:16 N:0.5 N:1e-4 N:.5 N:-1 N:+2 N:1. N:2.5E+3 N:0"},
		{"words", "conv stride1 s1 stride 1 pad2 p2 group2 g2 stride1x2 alpha1e-4 max avg",
			"conv W:stride1 W:s1 W:stride N:1 W:pad2 W:p2 W:group2 W:g2 W:stride1x2 W:alpha1e-4 W:max W:avg"},
		{"bad characters are arguments", "input 3x8x8 $ @ ; é", "input D:3x8x8 B:$ B:@ B:; B:é"},
		{"colon and brackets as arguments", "relu ] : [ 1:2", "relu B:] B:: B:[ N:1 B:: N:2"},
		{"number overflow is still a number", "full 99999999999999999999 1e999", "full N:99999999999999999999 N:1e999"},
		{"train section", "input 3x8x8\nsoftmax\n\n[train]\nbatch 64\noptimizer momentum 0.9\nlr 0.01\nschedule step 0.1 every 10 epochs\n",
			"input D:3x8x8 | softmax [train] batch N:64; optimizer W:momentum N:0.9; lr N:0.01; schedule W:step N:0.1 W:every N:10 W:epochs"},
		{"train section with blank lines and comments", "input 3x8x8\nsoftmax\n[train] # settings\n\nlr 1\n\n  # more\nbatch 2\n\n",
			"input D:3x8x8 | softmax [train] lr N:1; batch N:2"},
		{"empty train section", "input 3x8x8\nsoftmax\n[train]\n", "input D:3x8x8 | softmax [train] "},
		{"setting on the header's line", "input 3x8x8\nsoftmax\n[train] lr 1\nbatch 2", "input D:3x8x8 | softmax [train] lr N:1; batch N:2"},
		{"blanks inside the header", "softmax\n[ train ]\nlr 1", "softmax [train] lr N:1"},
		{"train section alone", "[train]\nlr 1", " [train] lr N:1"},
		{"odd settings are parsed, the compiler judges them", "softmax\n[train]\nlr x 3x3 $",
			"softmax [train] lr W:x D:3x3 B:$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("t.net", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.src, err)
			}
			if got := summary(f); got != tt.want {
				t.Errorf("Parse(%q)\n got %q\nwant %q", tt.src, got, tt.want)
			}
		})
	}
}

// at formats a position as "line:col".
func at(p lexer.Position) string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

func TestParsePositions(t *testing.T) {
	src := "# positions\n" + // line 1
		"input 3x8x8\n" + // line 2
		"  c1: conv 4 3x3 stride 2 | relu\n" + // line 3
		"\tpool max 2x2 |\n" + // line 4: a tab is one column
		"\n" + // line 5
		"top : softmax # end\r\n" + // line 6
		"[train]\n" + // line 7
		"lr 0.01\n" + // line 8
		"  schedule step 0.1 every 10 epochs\n" // line 9
	f, err := Parse("pos.net", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range f.Layers {
		key := l.Kind.Text
		got[key] = at(l.Pos)
		got[key+".kind"] = at(l.Kind.Pos)
		if l.Name != nil {
			got[key+".name"] = at(l.Name.Pos)
		}
		for i, a := range l.Args {
			got[fmt.Sprintf("%s.%d", key, i)] = at(a.Pos)
		}
	}
	got["train"] = at(f.Train.Pos)
	for _, s := range f.Train.Settings {
		got[s.Key.Text] = at(s.Pos)
		got[s.Key.Text+".key"] = at(s.Key.Pos)
		for i, a := range s.Args {
			got[fmt.Sprintf("%s.%d", s.Key.Text, i)] = at(a.Pos)
		}
	}
	want := map[string]string{
		"input": "2:1", "input.kind": "2:1", "input.0": "2:7",
		// A named layer starts at its name.
		"conv": "3:3", "conv.name": "3:3", "conv.kind": "3:7", "conv.0": "3:12", "conv.1": "3:14",
		"conv.2": "3:18", "conv.3": "3:25",
		"relu": "3:29", "relu.kind": "3:29",
		"pool": "4:2", "pool.kind": "4:2", "pool.0": "4:7", "pool.1": "4:11",
		"softmax": "6:1", "softmax.name": "6:1", "softmax.kind": "6:7",
		"train": "7:1",
		"lr":    "8:1", "lr.key": "8:1", "lr.0": "8:4",
		"schedule": "9:3", "schedule.key": "9:3", "schedule.0": "9:12", "schedule.1": "9:17",
		"schedule.2": "9:21", "schedule.3": "9:27", "schedule.4": "9:30",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s at %s, want %s", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected node %s at %s", k, got[k])
		}
	}
	if p := f.Layers[0].Pos; p.Filename != "pos.net" {
		t.Errorf("position's file is %q, want pos.net", p.Filename)
	}
}

func TestParseErrors(t *testing.T) {
	const layer = `: expected a layer, e.g. conv 16 5x5`
	tests := []struct {
		name, src, want string
	}{
		{"two bars", "input 3x8x8 | | relu", `1:15: unexpected "|"` + layer},
		{"two bars without blanks", "input 3x8x8 ||relu", `1:14: unexpected "|"` + layer},
		{"bar first", "| relu", `1:1: unexpected "|"` + layer},
		{"bar first after a comment", "# c\n  | relu", `2:3: unexpected "|"` + layer},
		{"bar at the start of the next line", "input 3x8x8 |\n| softmax", `2:1: unexpected "|"` + layer},
		{"bar after blank lines", "input 3x8x8\n  \t # hi\n\n| softmax", `4:1: unexpected "|"` + layer},
		{"bar at end of file", "input 3x8x8 | softmax |", `1:24: unexpected end of file` + layer},
		{"bar at end of file, then a line break", "input 3x8x8 | softmax |\n", `2:1: unexpected end of file` + layer},
		{"bar, comment and blank lines at end of file", "input 3x8x8 | softmax | # c\n\n",
			`3:1: unexpected end of file` + layer},
		{"bar before the training section", "input 3x8x8 | softmax |\n[train]\nlr 1\n", `2:1: unexpected "["` + layer},
		{"bar, then a name and its colon", "input 3x8x8 | c1:|relu",
			`1:18: unexpected "|": expected a layer kind after the layer's name, e.g. c1: conv 16 5x5`},
		{"dims first", "3x3 conv", `1:1: unexpected "3x3"` + layer},
		{"number first", "input 3x8x8\n16 conv", `2:1: unexpected "16"` + layer},
		{"colon first", "input 3x8x8\n: relu", `2:1: unexpected ":"` + layer},
		{"bad character first", "input 3x8x8\n$ relu", `2:1: unexpected "$"` + layer},
		{"name without a kind", "c1:\nrelu",
			`1:4: unexpected end of line: expected a layer kind after the layer's name, e.g. c1: conv 16 5x5`},
		{"name followed by a number", "c1: 16 relu",
			`1:5: unexpected "16": expected a layer kind after the layer's name, e.g. c1: conv 16 5x5`},
		{"name at end of file", "input 3x8x8 | c1:",
			`1:18: unexpected end of file: expected a layer kind after the layer's name, e.g. c1: conv 16 5x5`},
		{"unterminated header", "input 3x8x8\nsoftmax\n[train\nlr 0.1\n", `3:7: unexpected end of line: expected "]" to close [train`},
		{"unterminated header at end of file", "softmax\n[train", `2:7: unexpected end of file: expected "]" to close [train`},
		{"header with a setting inside", "softmax\n[train lr 1]", `2:8: unexpected "lr": expected "]" to close [train`},
		{"unknown section", "softmax\n[foo]\n", `2:2: unexpected "foo": the only section is [train]`},
		{"empty section", "softmax\n[]\n", `2:2: unexpected "]": the only section is [train]`},
		{"two train sections", "softmax\n[train]\nlr 1\n[train]\n",
			`4:1: unexpected "[" in the training section: write one setting per line, e.g. lr 0.01`},
		{"bar in the training section", "softmax\n[train]\nlr 0.1 | batch 3",
			`3:8: unexpected "|" in the training section: write one setting per line, e.g. lr 0.01`},
		{"setting starting with a number", "softmax\n[train]\n64 batch",
			`3:1: unexpected "64" in the training section: write one setting per line, e.g. lr 0.01`},
		{"layer after the training section", "softmax\n[train]\nlr 1\n| relu",
			`4:1: unexpected "|" in the training section: write one setting per line, e.g. lr 0.01`},
		{"CRLF", "input 3x8x8\r\nrelu | | softmax\r\n", `2:8: unexpected "|"` + layer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bad.net", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %s", tt.src, summary(f), tt.want)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("Parse(%q) error %#v, want an ErrorList of one", tt.src, err)
			}
			if got, want := list[0].Error(), "bad.net:"+tt.want; got != want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tt.src, got, want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	pos := func(line, col int) lexer.Position { return lexer.Position{Filename: "r.net", Line: line, Column: col} }
	src := []byte("input 3x8x8\n\tconv 4 3x3 $\r\nrelu")
	list := ErrorList{
		{Pos: pos(1, 7), Msg: "first"},
		{Pos: pos(2, 13), Msg: "after a tab"},
		{Pos: pos(3, 5), Msg: "past the end of the line", Warning: true},
		{Pos: pos(9, 1), Msg: "no such line"},
		{Pos: pos(0, 0), Msg: "no position"},
	}
	want := "r.net:1:7: first\n" +
		"input 3x8x8\n" +
		"      ^\n" +
		"r.net:2:13: after a tab\n" +
		"\tconv 4 3x3 $\n" +
		"\t           ^\n" +
		"r.net:3:5: warning: past the end of the line\n" +
		"relu\n" +
		"    ^\n" +
		"r.net:9:1: no such line\n" +
		"r.net:0:0: no position\n"
	if got := list.Render(src); got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
	wantErr := "r.net:1:7: first\nr.net:2:13: after a tab\nr.net:3:5: warning: past the end of the line\nr.net:9:1: no such line\nr.net:0:0: no position"
	if got := list.Error(); got != wantErr {
		t.Errorf("Error:\n%s\nwant:\n%s", got, wantErr)
	}
	if got := ErrorList(nil).Render(src); got != "" {
		t.Errorf("empty Render = %q", got)
	}
}

func TestRenderMultibyte(t *testing.T) {
	// Columns count characters, not bytes: the caret goes under the € (column 6).
	src := []byte("relu € | softmax")
	f, err := Parse("m.net", src)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Layers[0].Args[0]
	if a.Bad != "€" || a.Pos.Column != 6 {
		t.Fatalf("bad argument %q at column %d, want € at 6", a.Bad, a.Pos.Column)
	}
	got := ErrorList{Errorf(a.Pos, "unexpected %q", a.Bad)}.Render(src)
	want := "m.net:1:6: unexpected \"€\"\nrelu € | softmax\n     ^\n"
	if got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
}
