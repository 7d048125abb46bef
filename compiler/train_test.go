package compiler

import (
	"strings"
	"testing"
)

// TestTrainWords checks that a setting's values reach netc train as it splits them, at
// blanks (tokens written together, such as the three of "1/t", are one word), and that
// an error points at the word at fault counted that way.
func TestTrainWords(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string // the values joined by "," or, for a bad line, the error
	}{
		{"schedule 1/t 0.5 per epoch", "1/t,0.5,per,epoch"},
		{"schedule  inv 1e-4   0.75", "inv,1e-4,0.75"},
		{"augment flip crop 2", "flip,crop,2"},
		{"warmup 2 epochs from 0.1", "2,epochs,from,0.1"},
		{"schedule 1/t x", `t.net:7:14: schedule 1/t: gamma "x" is not a number (e.g. schedule step 0.1 every 10 epochs)`},
		{"schedule 1/t", `t.net:7:10: schedule 1/t: missing gamma (e.g. schedule step 0.1 every 10 epochs)`},
		{"lr 0.1/2", `t.net:7:4: lr: "0.1/2" is not a finite number (e.g. lr 0.01)`},
		{"epochs", `t.net:7:1: epochs takes one value (e.g. epochs 10)`},
		{"augment crop 8", `t.net:7:14: augment: crop padding 8 does not fit the 8x8 input: a crop could miss ` +
			`the image; it must be less than 8 (e.g. augment flip crop 2)`},
		{"labelsmooth 0.1", "0.1"},
		{"labelsmooth 1", `t.net:7:13: labelsmooth: 1 is not in [0, 1): 1 would make every target uniform (e.g. labelsmooth 0.1)`},
		{"labelsmooth 0.1 svm", `t.net:7:13: labelsmooth: label smoothing is for the softmax loss; this network's loss is svm (e.g. labelsmooth 0.1)`},
		{"labelsmooth 0 svm", "0"},
	} {
		line, loss := tc.line, "softmax"
		if l, ok := strings.CutSuffix(line, " svm"); ok {
			line, loss = l, "svm"
		}
		src := "# a network\ninput 1x8x8\nfull 2 | " + loss + "\n\n[train]\nbatch 4\n" + line + "\n"
		net, err := Compile("t.net", []byte(src))
		var got string
		if err != nil {
			got = err.Error()
		} else {
			got = strings.Join(net.Train[1].Values, ",")
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.line, got, tc.want)
		}
	}
}
