package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runNetc runs the command line args in-process and returns its exit status and output.
func runNetc(args ...string) (status int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	status = run(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestCheckSpecs(t *testing.T) {
	specs, err := filepath.Glob("../../specs/*.net")
	if err != nil || len(specs) != 8 {
		t.Fatalf("specs %v, %v", specs, err)
	}
	status, out, errOut := runNetc(append([]string{"check"}, specs...)...)
	if status != 0 {
		t.Fatalf("netc check specs/*.net: status %d\n%s", status, errOut)
	}
	for _, total := range []string{
		`total\s+60,965,224\s+724,406,816`,
		`total\s+22,466\s+3,920,000`,
		`total\s+6,440\s+1,775,680`,
		`total\s+5,994\s+786,560`,
		`total\s+136,778\s+16,525,824`, // mobile-cifar, as its PyTorch twin
		`total\s+272,474\s+40,813,184`, // resnet20, as its PyTorch twin
	} {
		if !regexp.MustCompile(total).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", total, out)
		}
	}
	for _, line := range []string{
		`(?m)^\.\./\.\./specs/alexnet\.net: input 3x227x227$`,
		`(?m)^\s+layer\s+kind\s+options\s+output\s+params\s+mult-adds$`,
		`(?m)^\s+conv2\s+conv\s+256 5x5 s1 p2 g2\s+256x27x27\s+307,456\s+223,948,800$`,
		`(?m)^\s+full1\s+full\s+4096\s+4096x1x1\s+37,752,832\s+37,748,736$`,
		`(?m)^\s+dropout2\s+dropout\s+0\.5\s+4096x1x1\s+0\s+0$`,
		`(?m)^\s+pool2\s+pool\s+max 3x3 s3\s+16x4x4\s+0\s+0$`,
	} {
		if !regexp.MustCompile(line).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", line, out)
		}
	}
	// The reference networks check without warnings.
	if errOut != "" {
		t.Errorf("stderr:\n%s\nwant nothing", errOut)
	}
}

// TestCheckGraph checks that a graph's table says what each layer reads, and that -json
// carries it.
func TestCheckGraph(t *testing.T) {
	path := "../../testdata/layers/graph.net"
	status, out, errOut := runNetc("check", path)
	if status != 0 || errOut != "" {
		t.Fatalf("status %d, stderr:\n%s", status, errOut)
	}
	for _, line := range []string{
		`(?m)^\s+layer\s+kind\s+reads\s+options\s+output\s+params\s+mult-adds$`,
		`(?m)^\s+add1\s+add\s+bn3 b0\s+4x8x8\s+0\s+0$`,
		`(?m)^\s+conv6\s+conv\s+b1\s+8 1x1 s2 p0 nobias\s+8x4x4\s+32\s+512$`,
		`(?m)^\s+total\s+1,511\s+41,014$`,
	} {
		if !regexp.MustCompile(line).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", line, out)
		}
	}
	status, out, _ = runNetc("check", "-json", path)
	var got struct {
		Layers []struct {
			Name   string
			Inputs []string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); status != 0 || err != nil {
		t.Fatalf("check -json: status %d, %v:\n%s", status, err, out)
	}
	reads := map[string]string{}
	for _, l := range got.Layers {
		reads[l.Name] = strings.Join(l.Inputs, " ")
	}
	if reads["add3"] != "conv8 a a" || reads["conv1"] != "input" {
		t.Errorf("check -json: add3 reads %q, conv1 %q; want conv8 a a, input", reads["add3"], reads["conv1"])
	}
}

func TestCheckBadSpec(t *testing.T) {
	path := "../../testdata/bad/many-mistakes.net"
	status, out, errOut := runNetc("check", path)
	if status != 1 {
		t.Errorf("status %d, want 1", status)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	want := path + `:3:21: repeated option stride (first given at column 13)
conv 16 5x5 stride1 s2 pad2 | relu      # repeated option
                    ^
` + path + `:4:13: group 3 does not divide the 20 filters
conv 20 5x5 group3 | relu | pool max 2x2  # group does not divide the filters
            ^
` + path + `:5:1: unknown layer "poool" (known: input, add, bn, concat, conv, dropout, full, meansub, norm, pool, leaky, relu, sigmoid, tanh, euclidean, softmax, svm)
poool 2x2                                 # unknown layer
^
` + path + `:6:11: the loss softmax must be the last layer
full 10 | softmax | dropout 1.5           # loss not last, dropout out of range
          ^
` + path + `:6:29: dropout probability must be between 0 and 1 (exclusive), not 1.5
full 10 | softmax | dropout 1.5           # loss not last, dropout out of range
                            ^
` + path + `:7:1: the network has no loss: end it with euclidean, softmax or svm
relu                                      # no loss at the end
^
` + path + `:11:1: repeated training setting lr (first at line 10)
lr 0.02
^
` + path + `:12:1: unknown training setting "momentum" (known: batch, epochs, lr, optimizer, l2, l1, maxnorm, labelsmooth, decay, schedule, warmup, augment, init, seed, val, preprocess, threads)
momentum 0.9
^
`
	if errOut != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
}

// TestCheckTrainValues checks that netc check and netc compile refuse every value of a
// [train] section that netc train would refuse, all in one run, each at its word: the
// file's "# want" lines, in order, each followed by its line and a caret.
func TestCheckTrainValues(t *testing.T) {
	path := "../../testdata/bad/train-values.net"
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	var want strings.Builder
	for _, line := range lines {
		w, ok := strings.CutPrefix(line, "# want ")
		if !ok {
			continue
		}
		var row, col int
		if _, err := fmt.Sscanf(w, "%d:%d:", &row, &col); err != nil {
			t.Fatalf("want line %q: %v", w, err)
		}
		fmt.Fprintf(&want, "%s:%s\n%s\n%s^\n", path, w, lines[row-1], strings.Repeat(" ", col-1))
	}
	if strings.Count(want.String(), "^") < 15 {
		t.Fatalf("%s declares too few errors:\n%s", path, want.String())
	}
	for _, cmd := range []string{"check", "compile"} {
		args := []string{cmd, path}
		if cmd == "compile" {
			args = []string{cmd, "-o", t.TempDir(), path}
		}
		status, out, errOut := runNetc(args...)
		if status != 1 || out != "" || errOut != want.String() {
			t.Errorf("netc %s: status %d, stdout %q, stderr:\n%s\nwant status 1 and:\n%s", cmd, status, out, errOut, want.String())
		}
	}
}

func TestCheckSyntaxError(t *testing.T) {
	path := "../../testdata/bad/syntax-train-unterminated.net"
	status, _, errOut := runNetc("check", path)
	want := path + `:5:7: unexpected end of line: expected "]" to close [train
[train
      ^
`
	if status != 1 || errOut != want {
		t.Errorf("status %d, stderr:\n%s\nwant 1 and:\n%s", status, errOut, want)
	}
}

// TestCheckEveryBadSpec checks that netc check fails with status 1 on every bad spec and
// prints a positioned error with a caret for each.
func TestCheckEveryBadSpec(t *testing.T) {
	paths, _ := filepath.Glob("../../testdata/bad/*.net")
	if len(paths) == 0 {
		t.Fatal("no bad specs")
	}
	for _, path := range paths {
		status, out, errOut := runNetc("check", path)
		if status != 1 || out != "" || !strings.HasPrefix(errOut, path+":") || !strings.Contains(errOut, "^\n") {
			t.Errorf("netc check %s: status %d, stdout %q, stderr:\n%s", path, status, out, errOut)
		}
	}
}

func TestCheckMixed(t *testing.T) {
	// A bad spec does not stop the others from being checked; the status says one failed.
	status, out, errOut := runNetc("check", "../../testdata/bad/dropout-0.net", "../../specs/lenet-mnist.net", "no-such-file.net")
	if status != 1 {
		t.Errorf("status %d, want 1", status)
	}
	if !regexp.MustCompile(`total\s+5,994\s+786,560`).MatchString(out) {
		t.Errorf("stdout lacks lenet's table:\n%s", out)
	}
	for _, s := range []string{"dropout-0.net:3:19: dropout probability", "netc: open no-such-file.net: no such file or directory"} {
		if !strings.Contains(errOut, s) {
			t.Errorf("stderr lacks %q:\n%s", s, errOut)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	status, out, errOut := runNetc("check", "-json", "../../specs/cifar-small.net")
	if status != 0 {
		t.Fatalf("status %d:\n%s", status, errOut)
	}
	// {"layers":[...],"params":N,"macs":M}, and the spec's path and input shape.
	var got struct {
		Spec   string
		Input  [3]int
		Layers []struct {
			Name, Kind, Options string
			Inputs              []string
			Output              [3]int
			Params              int
			MACs                int64
		}
		Params int
		MACs   int64
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decoding %s: %v", out, err)
	}
	if err := dec.Decode(new(any)); err != io.EOF {
		t.Errorf("more than one JSON value: %v", err)
	}
	if got.Spec != "../../specs/cifar-small.net" || got.Input != [3]int{3, 32, 32} {
		t.Errorf("spec %q, input %v", got.Spec, got.Input)
	}
	if got.Params != 22466 || got.MACs != 3920000 {
		t.Errorf("params %d, macs %d; want 22466, 3920000", got.Params, got.MACs)
	}
	if len(got.Layers) != 11 {
		t.Fatalf("%d layers, want 11", len(got.Layers))
	}
	sum, macs := 0, int64(0)
	for _, l := range got.Layers {
		sum += l.Params
		macs += l.MACs
	}
	if sum != got.Params || macs != got.MACs {
		t.Errorf("layers add up to %d, %d", sum, macs)
	}
	first := got.Layers[0]
	if first.Name != "conv1" || first.Kind != "conv" || first.Options != "16 5x5 s1 p2" || first.Output != [3]int{16, 32, 32} || first.Params != 1216 || first.MACs != 1228800 {
		t.Errorf("first layer %+v", first)
	}
	if last := got.Layers[10]; last.Kind != "softmax" || last.Output != [3]int{10, 1, 1} {
		t.Errorf("last layer %+v", last)
	}
	// The raw keys are the documented ones.
	for _, key := range []string{`"layers": [`, `"params": 22466`, `"macs": 3920000`, `"spec": "../../specs/cifar-small.net"`, `"output": [`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestCheckJSONEverySpec(t *testing.T) {
	totals := map[string]int{"alexnet": 60965224, "cifar-small": 22466, "vgg-style": 6440, "lenet-mnist": 5994}
	for name, params := range totals {
		status, out, errOut := runNetc("check", "-json", "../../specs/"+name+".net")
		var got struct{ Params int }
		if err := json.Unmarshal([]byte(out), &got); status != 0 || err != nil || got.Params != params {
			t.Errorf("%s: status %d, params %d (%v), want %d\n%s", name, status, got.Params, err, params, errOut)
		}
	}
}

func TestCheckJSONAfterPath(t *testing.T) {
	status, out, errOut := runNetc("check", "../../specs/lenet-mnist.net", "-json")
	var got struct{ Params int }
	if err := json.Unmarshal([]byte(out), &got); status != 0 || err != nil || got.Params != 5994 {
		t.Errorf("status %d, params %d (%v)\n%s", status, got.Params, err, errOut)
	}
}

func TestCheckJSONBadSpec(t *testing.T) {
	status, out, errOut := runNetc("check", "-json", "../../testdata/bad/missing-loss.net")
	if status != 1 || out != "" || !strings.Contains(errOut, "missing-loss.net:4:1: the network has no loss") {
		t.Errorf("status %d, stdout %q, stderr:\n%s", status, out, errOut)
	}
}

func TestCheckUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: netc <command>"},
		{[]string{"help"}, "usage: netc <command>"},
		{[]string{"-h"}, "usage: netc <command>"},
		{[]string{"frobnicate"}, `netc: unknown command "frobnicate"`},
		{[]string{"check"}, "usage: netc check [-json] FILE..."},
		{[]string{"check", "-json"}, "usage: netc check [-json] FILE..."},
		{[]string{"check", "-yaml", "x.net"}, "flag provided but not defined: -yaml"},
		{[]string{"check", "-h"}, "usage: netc check [-json] FILE..."},
	}
	for _, tt := range tests {
		status, out, errOut := runNetc(tt.args...)
		if status != 2 || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("netc %v: status %d, stdout %q, stderr:\n%s\nwant status 2 and %q", tt.args, status, out, errOut, tt.want)
		}
	}
	// The command list names check.
	_, _, errOut := runNetc()
	if !strings.Contains(errOut, "check ") {
		t.Errorf("usage does not list check:\n%s", errOut)
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 22466: "22,466",
		123456: "123,456", 1234567: "1,234,567", 60965224: "60,965,224", 724406816: "724,406,816"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}
