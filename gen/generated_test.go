package gen

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// generatedFiles are the golden packages' files and the example's generated file.
func generatedFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../testdata/golden/*/*_netc.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d golden files", len(files))
	}
	return append(files, "../examples/mnist/mnist_netc.go")
}

// maxColumns is the longest line generated code may have, a tab counting as tabColumns.
const (
	maxColumns = 120
	tabColumns = 4
)

// TestLineLength: no line of the golden packages, or of the example's generated code, is
// longer than maxColumns.
func TestLineLength(t *testing.T) {
	for _, path := range generatedFiles(t) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if c := columns(sc.Text()); c > maxColumns {
				t.Errorf("%s:%d: %d columns: %s", path, n, c, strings.TrimSpace(sc.Text()))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}

// columns is the width of line, each tab counting as tabColumns.
func columns(line string) int {
	tabs := strings.Count(line, "\t")
	return utf8.RuneCountInString(line) - tabs + tabs*tabColumns
}

func TestColumns(t *testing.T) {
	for _, c := range []struct {
		line string
		want int
	}{{"", 0}, {"abc", 3}, {"\tx", 5}, {"\t\t// → é", 14}} {
		if got := columns(c.line); got != c.want {
			t.Errorf("columns(%q) = %d, want %d", c.line, got, c.want)
		}
	}
}

// TestNoDeadFields: every field of a generated state is read somewhere, not only written
// (as the gemm field of networks without an im2col convolution once was).
func TestNoDeadFields(t *testing.T) {
	for _, path := range generatedFiles(t) {
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		fields := stateFields(file)
		if len(fields) == 0 {
			t.Fatalf("%s: no state type", path)
		}
		read := readSelectors(file)
		for _, name := range fields {
			if !read[name] {
				t.Errorf("%s: state field %s is never read", path, name)
			}
		}
	}
}

// stateFields returns the names of the fields of the type state.
func stateFields(file *ast.File) []string {
	var names []string
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "state" {
			for _, f := range ts.Type.(*ast.StructType).Fields.List {
				for _, name := range f.Names {
					names = append(names, name.Name)
				}
			}
		}
		return true
	})
	return names
}

// readSelectors returns the names selected (x.name) anywhere but on the left of an
// assignment.
func readSelectors(file *ast.File) map[string]bool {
	written := map[ast.Expr]bool{}
	read := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				written[lhs] = true
			}
		case *ast.SelectorExpr:
			if !written[n] {
				read[n.Sel.Name] = true
			}
		}
		return true
	})
	return read
}
