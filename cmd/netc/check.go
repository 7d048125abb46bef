package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/netc-dev/netc/compiler"
	"github.com/netc-dev/netc/dsl"
	"github.com/netc-dev/netc/internal/flagargs"
	"github.com/netc-dev/netc/internal/limits"
)

func init() {
	register(command{"check", "check specs and print their layers, shapes and costs", runCheck})
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the summary as JSON for tools")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: netc check [-json] FILE...")
		fs.PrintDefaults()
	}
	files, err := flagargs.Parse(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fs.Usage()
		return 2
	}
	status := 0
	for i, path := range files {
		net, ok := loadSpec(path, stderr)
		if !ok {
			status = 1
			continue
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(summarize(net)); err != nil {
				fmt.Fprintf(stderr, "netc: %v\n", err)
				return 1
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		printTable(stdout, net)
	}
	return status
}

// load reads and compiles a spec, printing its warnings and errors (with the source line
// and a caret) to stderr. It reports whether the spec is valid.
func load(path string, stderr io.Writer) (*compiler.Net, bool) {
	src, err := limits.ReadStream(path, limits.MaxSpecSize, "limits.MaxSpecSize")
	if err != nil {
		fmt.Fprintf(stderr, "netc: %v\n", err)
		return nil, false
	}
	return compileSource(path, src, stderr)
}

// compileSource compiles the spec src read from path, printing its warnings and errors.
func compileSource(path string, src []byte, stderr io.Writer) (*compiler.Net, bool) {
	net, err := compiler.Compile(path, src)
	if net != nil && len(net.Warnings) > 0 {
		fmt.Fprint(stderr, net.Warnings.Render(src))
	}
	if err != nil {
		var list dsl.ErrorList
		if errors.As(err, &list) {
			fmt.Fprint(stderr, list.Render(src))
		} else {
			fmt.Fprintf(stderr, "netc: %s: %v\n", path, err)
		}
		return nil, false
	}
	return net, true
}

// summary is the JSON form of netc check's table.
type summary struct {
	Spec   string         `json:"spec"`
	Input  [3]int         `json:"input"`
	Layers []layerSummary `json:"layers"`
	Params int            `json:"params"`
	MACs   int64          `json:"macs"`
}

type layerSummary struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Inputs  []string `json:"inputs"`
	Options string   `json:"options,omitempty"`
	Output  [3]int   `json:"output"`
	Params  int      `json:"params"`
	MACs    int64    `json:"macs"`
}

func summarize(net *compiler.Net) summary {
	s := summary{Spec: net.Path, Input: [3]int{net.Input.C, net.Input.H, net.Input.W}, Params: net.Params, MACs: net.MACs, Layers: []layerSummary{}}
	for _, l := range net.Layers {
		s.Layers = append(s.Layers, layerSummary{
			Name: l.Name, Kind: string(l.Kind), Inputs: l.InputNames, Options: l.Options(),
			Output: [3]int{l.Out.C, l.Out.H, l.Out.W}, Params: l.Params, MACs: l.MACs,
		})
	}
	return s
}

// printTable prints each layer's options, output, parameters and multiply-adds; for a
// graph (a layer reading other than the layer before it) also the layers each one reads.
func printTable(w io.Writer, net *compiler.Net) {
	fmt.Fprintf(w, "%s: input %s\n", net.Path, net.Input)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	graph := isGraph(net)
	reads, head := func(*compiler.Layer) string { return "" }, "layer\tkind\t"
	if graph {
		reads = func(l *compiler.Layer) string { return strings.Join(l.InputNames, " ") + "\t" }
		head += "reads\t"
	}
	fmt.Fprintln(tw, head+"options\toutput\tparams\tmult-adds\t")
	for _, l := range net.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%s%s\t%s\t%s\t%s\t\n", l.Name, l.Kind, reads(l), l.Options(), l.Out,
			commas(int64(l.Params)), commas(l.MACs))
	}
	total := "total\t\t\t\t"
	if graph {
		total += "\t"
	}
	fmt.Fprintf(tw, "%s%s\t%s\t\n", total, commas(int64(net.Params)), commas(net.MACs))
	tw.Flush()
}

// isGraph reports whether a layer of net reads other than the layer before it.
func isGraph(net *compiler.Net) bool {
	for i, l := range net.Layers {
		if len(l.Inputs) != 1 || l.Inputs[0] != i-1 {
			return true
		}
	}
	return false
}

// commas formats n with thousands separators: 60965224 → "60,965,224".
func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
