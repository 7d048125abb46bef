// Package dsl parses netc's network specification language into an abstract syntax tree.
//
// A spec is a chain of layers, joined by "|" or by line breaks, optionally followed by a
// training section:
//
//	# cifar-small.net
//	input 3x32x32
//	conv 16 5x5 stride1 pad2 | relu | pool 2x2 s2
//	conv 20 5x5 s1 p2 | relu | pool max 2x2 s2
//	top: full 10 | softmax
//
//	[train]
//	batch 64
//	optimizer momentum 0.9
//	lr 0.01
//
// Every layer is an optional name followed by a colon, a kind and its arguments: numbers
// (16, 0.5, 1e-4), dimensions (5x5, 3x32x32) and words (stride1, s1, max). The grammar is
// deliberately generic: which kinds and options exist, and what they mean, is decided by
// package compiler, so that every mistake in a file is reported at once with its position.
// Every node records where it starts in the source.
package dsl

import "github.com/alecthomas/participle/v2/lexer"

// File is a parsed spec.
type File struct {
	Pos lexer.Position

	Layers []*Layer `parser:"EOL? ( @@ ( ( '|' EOL? | EOL ) @@ )* EOL? )?"`
	Train  *Train   `parser:"@@?"`
}

// Layer is one element of the layer chain, e.g. "c1: conv 16 5x5 s1 p2".
type Layer struct {
	Pos lexer.Position

	Name *Ident `parser:"( @@ ':' )?"`
	Kind Ident  `parser:"@@"`
	Args []*Arg `parser:"@@*"`
}

// Ident is a word with its position.
type Ident struct {
	Pos lexer.Position

	Text string `parser:"@Word"`
}

// Arg is one argument of a layer or setting: exactly one of its fields is set.
type Arg struct {
	Pos lexer.Position

	Dims   string `parser:"@Dims"`
	Number string `parser:"| @Number"`
	Word   string `parser:"| @Word"`
	// Bad holds a character that is not part of the language; the compiler reports it.
	Bad string `parser:"| @(Bad | ':' | '[' | ']')"`
}

// Text returns the argument as it was written.
func (a *Arg) Text() string { return a.Dims + a.Number + a.Word + a.Bad }

// Train is the optional training section: "[train]" and one setting per line.
type Train struct {
	Pos lexer.Position

	Settings []*Setting `parser:"'[' 'train' ']' EOL? ( @@ ( EOL @@ )* )? EOL?"`
}

// Setting is one line of the training section, e.g. "schedule step 0.1 every 10 epochs".
type Setting struct {
	Pos lexer.Position

	Key  Ident  `parser:"@@"`
	Args []*Arg `parser:"@@*"`
}
