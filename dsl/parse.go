package dsl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// specLexer splits a spec into tokens. Line breaks are significant (they chain layers), so
// a run of line breaks, together with the blanks and comments between them, is one EOL
// token. Any character the language does not use becomes a Bad token, which the parser
// accepts as an argument so that the compiler can report it with every other mistake.
var specLexer = lexer.MustSimple([]lexer.SimpleRule{
	{Name: "EOL", Pattern: `(?:[ \t\r]*(?:#[^\n]*)?\n)+`},
	{Name: "Comment", Pattern: `#[^\n]*`},
	{Name: "Whitespace", Pattern: `[ \t\r]+`},
	{Name: "Dims", Pattern: `\d+(?:x\d+)+`},
	{Name: "Number", Pattern: `[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`},
	{Name: "Word", Pattern: `[A-Za-z_][A-Za-z0-9_.\-]*`},
	{Name: "Punct", Pattern: `[|:\[\]]`},
	{Name: "Bad", Pattern: `.`},
})

var parser = participle.MustBuild[File](
	participle.Lexer(specLexer),
	participle.Elide("Whitespace", "Comment"),
	participle.UseLookahead(4),
)

// Parse parses the spec src read from path. A syntax error is returned as an ErrorList
// holding one positioned Error. kinds, if given, are the layer kinds the language knows
// (package compiler's registry): an error where a layer was expected lists them.
func Parse(path string, src []byte, kinds ...string) (*File, error) {
	f, err := parser.ParseBytes(path, src)
	if err == nil {
		return f, nil
	}
	var uerr *participle.UnexpectedTokenError
	if errors.As(err, &uerr) {
		afterName := tokenBefore(src, uerr.Unexpected.Pos.Offset) == ":"
		msg := syntaxMessage(uerr, f != nil && f.Train != nil, afterName, kinds)
		return nil, ErrorList{{Pos: uerr.Position(), Msg: msg}}
	}
	var perr participle.Error
	if errors.As(err, &perr) {
		return nil, ErrorList{{Pos: perr.Position(), Msg: perr.Message()}}
	}
	return nil, ErrorList{{Pos: lexer.Position{Filename: path, Line: 1, Column: 1}, Msg: err.Error()}}
}

// syntaxMessage explains an unexpected token in the words of the spec language rather than
// the grammar's. inTrain tells whether the parser had reached the training section,
// afterName whether the token follows a layer's name and its colon.
func syntaxMessage(e *participle.UnexpectedTokenError, inTrain, afterName bool, kinds []string) string {
	what := fmt.Sprintf("%q", e.Unexpected.Value)
	switch {
	case e.Unexpected.EOF():
		what = "end of file"
	case strings.Contains(e.Unexpected.Value, "\n"):
		what = "end of line"
	}
	// The grammar's expectations, as participle words them, for the few places where the
	// parser commits to a construct before it fails.
	expect := e.Message()
	switch {
	case strings.Contains(expect, `(expected "train"`):
		return "unexpected " + what + ": the only section is [train]"
	case strings.Contains(expect, `(expected "]"`):
		return "unexpected " + what + `: expected "]" to close [train`
	case afterName && strings.Contains(expect, "(expected Ident"):
		return "unexpected " + what + ": expected a layer kind after the layer's name, e.g. c1: conv 16 5x5"
	case inTrain:
		return "unexpected " + what + " in the training section: write one setting per line, e.g. lr 0.01"
	}
	if len(kinds) > 0 {
		return "unexpected " + what + ": expected a layer (" + strings.Join(kinds, ", ") + "), e.g. conv 16 5x5"
	}
	return "unexpected " + what + ": expected a layer, e.g. conv 16 5x5"
}

// tokenBefore returns the last token of src before offset other than blanks, comments and
// line breaks, or "" if there is none.
func tokenBefore(src []byte, offset int) string {
	lex, err := specLexer.LexString("", string(src[:offset]))
	if err != nil {
		return ""
	}
	skip := map[lexer.TokenType]bool{}
	for _, name := range []string{"EOL", "Comment", "Whitespace"} {
		skip[specLexer.Symbols()[name]] = true
	}
	last := ""
	for {
		tok, err := lex.Next()
		if err != nil || tok.EOF() {
			return last
		}
		if !skip[tok.Type] {
			last = tok.Value
		}
	}
}
