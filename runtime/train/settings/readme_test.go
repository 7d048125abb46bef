package settings

import (
	"os"
	"strings"
	"testing"
)

// readmeHeader starts the README's table of settings.
const readmeHeader = "| setting | values | default | example | does |"

// readmeTable writes Table as the README's table: one row per setting, in its order,
// with the default value of DefaultRecipe.
func readmeTable() string {
	code := func(s string) string { return "`" + strings.ReplaceAll(s, "|", `\|`) + "`" }
	def := DefaultRecipe()
	lines := []string{readmeHeader, "|---|---|---|---|---|"}
	for i := range Table {
		s := &Table[i]
		lines = append(lines, "| "+strings.Join([]string{code(s.Key), code(s.Args), code(s.Format(&def)),
			code(s.Example), s.Doc}, " | ")+" |")
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestReadmeTable checks that the README's table of [train] settings is Table's.
func TestReadmeTable(t *testing.T) {
	src, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(src), readmeHeader)
	if !found {
		t.Fatalf("README.md has no line %q; the table should be:\n%s", readmeHeader, readmeTable())
	}
	table, _, _ = strings.Cut(table, "\n\n")
	if got := readmeHeader + table + "\n"; got != readmeTable() {
		t.Errorf("README.md's table of settings differs from settings.Table:\n%s\nwant:\n%s", got, readmeTable())
	}
}
