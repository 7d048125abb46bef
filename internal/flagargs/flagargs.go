// Package flagargs parses command lines whose flags may follow positional arguments.
package flagargs

import "flag"

// Parse parses args with fs, allowing flags after positional arguments as well as before
// them ("netc compile spec.net -o dir"), and returns the positional arguments.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
