package compiler

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/netc-dev/netc/runtime/train/settings"
)

// trainBase is the network under which examples of single settings are checked.
const trainBase = "input 3x32x32\nfull 10 | softmax\n\n[train]\n"

// TestDocExamples checks every spec and [train] example of the documentation against
// the compiler, so that the docs cannot drift from what netc check accepts: the spec
// blocks of the README and its table of settings, the reference specs, the example of
// dsl's package doc, the schedule examples of package settings and the schema's own.
func TestDocExamples(t *testing.T) {
	examples := map[string]string{} // where → spec
	readme := readFile(t, "../README.md")
	for i, block := range fencedBlocks(readme) {
		if strings.HasPrefix(block, "# specs/") || strings.HasPrefix(block, "input ") {
			examples["README.md spec block "+strconv.Itoa(i+1)] = block
		}
	}
	for _, line := range readmeSettingExamples(t, readme) {
		examples["README.md table: "+line] = trainBase + line + "\n"
	}
	specs, _ := filepath.Glob("../specs/*.net")
	more, _ := filepath.Glob("../examples/*/*.net")
	for _, path := range append(specs, more...) {
		examples[path] = readFile(t, path)
	}
	examples["dsl/ast.go package doc"] = docBlock(t, "../dsl/ast.go", "// A spec is a chain of layers")
	for _, line := range strings.Split(docBlock(t, "../runtime/train/settings/settings.go", "// Examples:"), "\n") {
		line, _, _ = strings.Cut(line, "  ") // the explanation after the example
		examples["settings doc: "+line] = trainBase + line + "\n"
	}
	for _, s := range settings.Table {
		examples["settings.Table: "+s.Example] = trainBase + s.Example + "\n"
	}
	if len(examples) < 40 {
		t.Fatalf("only %d examples found: the documents have moved", len(examples))
	}
	for where, src := range examples {
		if _, err := Compile("doc.net", []byte(src)); err != nil {
			t.Errorf("%s:\n%s\n%v", where, src, err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fencedBlocks returns the contents of the ``` blocks of markdown that name no language.
func fencedBlocks(md string) []string {
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```\n(.*?)^```$").FindAllStringSubmatch(md, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// readmeSettingExamples returns the example column of the README's table of settings.
func readmeSettingExamples(t *testing.T, readme string) []string {
	_, table, ok := strings.Cut(readme, "| setting | values | default | example | does |\n|---|---|---|---|---|\n")
	if !ok {
		t.Fatal("README.md has no table of settings")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var out []string
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(strings.ReplaceAll(row, `\|`, "\x00"), "|") // \| is a | inside a cell
		if len(cells) != 7 {
			t.Fatalf("README.md settings row %q: %d cells", row, len(cells)-2)
		}
		out = append(out, strings.ReplaceAll(strings.Trim(strings.TrimSpace(cells[4]), "`"), "\x00", "|"))
	}
	return out
}

// docBlock returns the first tab-indented code block of the Go comment in path that
// follows the comment line starting with after, without the comment markers.
func docBlock(t *testing.T, path, after string) string {
	t.Helper()
	var lines []string
	started := false
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !started:
			started = strings.HasPrefix(line, after)
		case strings.HasPrefix(line, "//\t"):
			lines = append(lines, strings.TrimPrefix(line, "//\t"))
		case len(lines) > 0 && line == "//":
			lines = append(lines, "")
		case len(lines) > 0:
			return strings.TrimSpace(strings.Join(lines, "\n")) + "\n"
		}
	}
	t.Fatalf("%s: no code block after %q", path, after)
	return ""
}
