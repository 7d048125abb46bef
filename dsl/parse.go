package dsl

import (
	"errors"

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
// holding one positioned Error.
func Parse(path string, src []byte) (*File, error) {
	f, err := parser.ParseBytes(path, src)
	if err == nil {
		return f, nil
	}
	var perr participle.Error
	if errors.As(err, &perr) {
		return nil, ErrorList{{Pos: perr.Position(), Msg: perr.Message()}}
	}
	return nil, ErrorList{{Pos: lexer.Position{Filename: path, Line: 1, Column: 1}, Msg: err.Error()}}
}
