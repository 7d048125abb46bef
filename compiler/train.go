package compiler

import (
	"errors"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/netc-dev/netc/dsl"
	"github.com/netc-dev/netc/runtime/train/settings"
)

// checkTrain checks the training section against the schema of package settings: known
// keys, each once, and values that netc train will read, for the network's input shape
// and loss in (zero when not known), each alone and then together. It reports every bad
// line, at the word at fault, and returns the good ones.
func checkTrain(t *dsl.Train, in settings.Input, errs *dsl.ErrorList) []Setting {
	first := map[string]int{} // key → line of its first use
	where := map[string]*dsl.Setting{}
	recipe := settings.DefaultRecipe()
	ok := true
	var out []Setting
	for _, s := range t.Settings {
		key := s.Key.Text
		def, _ := settings.Lookup(key)
		_, repeated := first[key]
		switch {
		case def == nil:
			*errs = append(*errs, dsl.Errorf(s.Key.Pos, "unknown training setting %q (known: %s)", key, settings.Keys()))
			ok = false
			continue
		case repeated:
			*errs = append(*errs, dsl.Errorf(s.Key.Pos, "repeated training setting %s (first at line %d)", key, first[key]))
			ok = false
			continue
		}
		first[key], where[key] = s.Key.Pos.Line, s
		words, _ := settingWords(s)
		if err := def.Apply(&recipe, words, in); err != nil {
			*errs = append(*errs, dsl.Errorf(errorPos(err, s), "%v", err))
			ok = false
			continue
		}
		out = append(out, Setting{Pos: s.Pos, Key: key, Values: words})
	}
	if err := recipe.Coherent(); ok && err != nil {
		pos := t.Pos
		if bad := (*settings.Error)(nil); errors.As(err, &bad) && where[bad.Key] != nil {
			pos = errorPos(err, where[bad.Key])
		}
		*errs = append(*errs, dsl.Errorf(pos, "%v", err))
	}
	return out
}

// settingWords returns the words of a setting's values as netc train splits them, at
// blanks, with where each starts: tokens written without a blank between them, such as
// the three of "1/t", are one word.
func settingWords(s *dsl.Setting) ([]string, []lexer.Position) {
	var words []string
	var pos []lexer.Position
	end := -1 // offset just past the previous token
	for _, a := range s.Args {
		text := a.Text()
		if a.Pos.Offset == end {
			words[len(words)-1] += text
		} else {
			words, pos = append(words, text), append(pos, a.Pos)
		}
		end = a.Pos.Offset + len(text)
	}
	return words, pos
}

// errorPos returns where the error err of the setting s is: at the word it names (or
// the last, for a missing one), else at the key.
func errorPos(err error, s *dsl.Setting) lexer.Position {
	_, words := settingWords(s)
	var bad *settings.Error
	if !errors.As(err, &bad) || bad.Word < 0 || len(words) == 0 {
		return s.Key.Pos
	}
	return words[min(bad.Word, len(words)-1)]
}
