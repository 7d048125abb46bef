package compiler

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/netc-dev/netc/dsl"
)

// maxDim bounds every size in a spec, so that products of sizes cannot overflow.
const maxDim = 1 << 24

// MaxLayers bounds the layers of a spec: the generated code grows with them (10,000 layers
// made 11.7 MB of Go that did not build in five minutes), and a ResNet-110 has under 400.
const MaxLayers = 1000

// valueKind is the type of an option's value.
type valueKind int

const (
	intValue   valueKind = iota // a whole number ≥ 0
	floatValue                  // any number
	pairValue                   // a whole number or HxW
)

// optionDef declares one option of a layer: its long and short names and value type.
type optionDef struct {
	long, short string
	kind        valueKind
}

// lrOption is the learning-rate multiplier of a layer's parameters ("lr 0" freezes them).
var lrOption = optionDef{"lr", "", floatValue}

// value is a parsed option or positional argument.
type value struct {
	pos  lexer.Position
	text string
}

// layerArgs are the arguments of one layer sorted out by role.
type layerArgs struct {
	number, dims *value
	flag         *value
	options      map[string]value
	// words are the Syntax.Words the layer says.
	words map[string]bool
	// names are the layers a merge names; from is the layer "from NAME" names as the
	// layer's input.
	names []value
	from  *value
}

// sortArgs assigns each argument of a layer to its role, reporting unknown, repeated and
// misplaced arguments to errs.
func sortArgs(kind Kind, def Syntax, args []*dsl.Arg, errs *dsl.ErrorList) layerArgs {
	la := layerArgs{options: map[string]value{}, words: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		v := value{pos: a.Pos, text: a.Text()}
		switch {
		case a.Bad != "":
			*errs = append(*errs, dsl.Errorf(a.Pos, "unexpected %q", a.Bad))
		case a.Number != "" && def.Number != "" && la.number == nil:
			la.number = &v
		case a.Dims != "" && def.Dims != "" && la.dims == nil:
			la.dims = &v
		case a.Word == fromWord:
			i = sortFrom(args, i, &la, errs)
		case a.Word != "" && def.Names != "":
			la.names = append(la.names, v)
		case a.Number != "" || a.Dims != "":
			*errs = append(*errs, dsl.Errorf(a.Pos, "unexpected %s %s: %s", argKind(a), a.Text(), takes(kind, def, a)))
		default:
			i = sortWord(kind, def, args, i, &la, errs)
		}
	}
	return la
}

// fromWord names the layer whose output a layer reads, instead of the one before it.
const fromWord = "from"

// sortFrom reads the name after "from" at args[i] and returns the index of the last
// argument used.
func sortFrom(args []*dsl.Arg, i int, la *layerArgs, errs *dsl.ErrorList) int {
	a := args[i]
	if i+1 >= len(args) || args[i+1].Word == "" {
		*errs = append(*errs, dsl.Errorf(a.Pos, "from needs the name of a layer before this one, e.g. from conv1"))
		return i
	}
	if la.from != nil {
		*errs = append(*errs, dsl.Errorf(a.Pos, "repeated from: the layer already reads %s", la.from.text))
		return i + 1
	}
	la.from = &value{pos: args[i+1].Pos, text: args[i+1].Word}
	return i + 1
}

// sortWord handles the word at args[i]: a flag, or an option whose value is attached
// ("stride2") or follows ("stride 2"). It returns the index of the last argument used.
func sortWord(kind Kind, def Syntax, args []*dsl.Arg, i int, la *layerArgs, errs *dsl.ErrorList) int {
	a := args[i]
	if slices.Contains(def.Words, a.Word) {
		if la.words[a.Word] {
			*errs = append(*errs, dsl.Errorf(a.Pos, "repeated option %s", a.Word))
		}
		la.words[a.Word] = true
		return i
	}
	for _, f := range def.Flags {
		if a.Word == f {
			if la.flag != nil {
				*errs = append(*errs, dsl.Errorf(a.Pos, "repeated option: %s already says %s", kind, la.flag.text))
			} else {
				la.flag = &value{pos: a.Pos, text: a.Word}
			}
			return i
		}
	}
	key, attached := splitWord(a.Word)
	opt, ok := findOption(def, key)
	if !ok {
		*errs = append(*errs, dsl.Errorf(a.Pos, "unknown option %q for %s%s", a.Word, kind, optionHint(def)))
		return i
	}
	v := value{pos: a.Pos, text: attached}
	if attached == "" {
		if i+1 >= len(args) || (args[i+1].Number == "" && args[i+1].Dims == "") {
			*errs = append(*errs, dsl.Errorf(a.Pos, "option %s needs a value, e.g. %s2", opt.long, opt.long))
			return i
		}
		i++
		v = value{pos: args[i].Pos, text: args[i].Text()}
	}
	if prev, dup := la.options[opt.long]; dup {
		*errs = append(*errs, dsl.Errorf(a.Pos, "repeated option %s (first given at column %d)", opt.long, prev.pos.Column))
		return i
	}
	la.options[opt.long] = v
	return i
}

// takes says how many positional arguments like a the kind takes: "relu takes no
// numbers", "conv takes one, its kernel size".
func takes(kind Kind, def Syntax, a *dsl.Arg) string {
	what := def.Number
	if a.Dims != "" {
		what = def.Dims
	}
	if what == "" {
		return fmt.Sprintf("%s takes no %ss", kind, argKind(a))
	}
	return fmt.Sprintf("%s takes one, its %s", kind, what)
}

func argKind(a *dsl.Arg) string {
	if a.Dims != "" {
		return "size"
	}
	return "number"
}

// splitWord splits an option word into its key and an attached value: "stride2" → stride,
// 2; "alpha1e-4" → alpha, 1e-4; "max" → max, "".
func splitWord(w string) (key, val string) {
	i := strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' })
	if i < 0 {
		return w, ""
	}
	return w[:i], w[i:]
}

func findOption(def Syntax, key string) (optionDef, bool) {
	for _, o := range def.Options {
		if key == o.long || (o.short != "" && key == o.short) {
			return o, true
		}
	}
	return optionDef{}, false
}

func optionHint(def Syntax) string {
	var names []string
	for _, f := range def.Flags {
		names = append(names, f)
	}
	for _, o := range def.Options {
		names = append(names, o.long)
	}
	names = append(names, def.Words...)
	if len(names) == 0 {
		return " (it takes no options)"
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

// parseInt parses a whole number in [min, maxDim].
func parseInt(v value, what string, min int, errs *dsl.ErrorList) (int, bool) {
	n, err := strconv.ParseInt(v.text, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) || (err == nil && n > maxDim):
		*errs = append(*errs, dsl.Errorf(v.pos, "%s %s is too large (at most %d)", what, v.text, maxDim))
		return 0, false
	case err != nil:
		*errs = append(*errs, dsl.Errorf(v.pos, "%s must be a whole number, not %q", what, v.text))
		return 0, false
	case n < int64(min):
		*errs = append(*errs, dsl.Errorf(v.pos, "%s must be at least %d, not %s", what, min, v.text))
		return 0, false
	}
	return int(n), true
}

// parseFloat parses a finite number.
func parseFloat(v value, what string, errs *dsl.ErrorList) (float64, bool) {
	f, err := strconv.ParseFloat(v.text, 64)
	if err != nil {
		msg := "%s must be a number, not %q"
		if errors.Is(err, strconv.ErrRange) {
			msg = "%s %s is out of range"
		}
		*errs = append(*errs, dsl.Errorf(v.pos, msg, what, v.text))
		return 0, false
	}
	return f, true
}

// parseDims parses "AxBx..." with exactly n parts (or one part, repeated, if square is
// allowed), each in [min, maxDim].
func parseDims(v value, what string, n, min int, square bool, errs *dsl.ErrorList) ([]int, bool) {
	parts := strings.Split(v.text, "x")
	if len(parts) == 1 && square {
		parts = []string{parts[0], parts[0]}
	}
	if len(parts) != n {
		*errs = append(*errs, dsl.Errorf(v.pos, "%s must have %d dimensions, not %q", what, n, v.text))
		return nil, false
	}
	dims := make([]int, n)
	elem := strings.Replace(what, "shape", "size", 1) // "input size must be at least 1"
	for i, p := range parts {
		d, ok := parseInt(value{pos: v.pos, text: p}, elem, min, errs)
		if !ok {
			return nil, false
		}
		dims[i] = d
	}
	return dims, true
}
