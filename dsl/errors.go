package dsl

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// Error is a problem at a position of a spec.
type Error struct {
	Pos lexer.Position
	Msg string
	// Warning marks a problem that does not stop compilation.
	Warning bool
}

// Error formats the problem as "path:line:col: message".
func (e *Error) Error() string {
	msg := e.Msg
	if e.Warning {
		msg = "warning: " + msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Pos.Filename, e.Pos.Line, e.Pos.Column, msg)
}

// Errorf returns an Error at pos.
func Errorf(pos lexer.Position, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList is every problem found in a spec, in source order.
type ErrorList []*Error

// Error joins the problems, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Render formats each problem as "path:line:col: message", followed by the source line it
// points into and a caret under its column, the way compilers show them to a person.
func (l ErrorList) Render(src []byte) string {
	var b strings.Builder
	lines := bytes.Split(src, []byte("\n"))
	for _, e := range l {
		b.WriteString(e.Error())
		b.WriteByte('\n')
		line := sourceLine(lines, e.Pos.Line)
		if line == "" {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		b.WriteString(caretPad(line, e.Pos.Column))
		b.WriteString("^\n")
	}
	return b.String()
}

// sourceLine returns line n (1-based) of the source's lines without its line break.
func sourceLine(lines [][]byte, n int) string {
	if n < 1 || n > len(lines) {
		return ""
	}
	return strings.TrimRight(string(lines[n-1]), "\r")
}

// caretPad returns the blanks that put a caret under column col of line, copying tabs so
// the caret lines up however the terminal expands them.
func caretPad(line string, col int) string {
	var b strings.Builder
	for i, r := range []rune(line) {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}
