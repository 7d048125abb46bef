# netc: build, test, benchmark and regenerate.
GO ?= go
SPECS := $(wildcard specs/*.net)

.PHONY: all build test test-kernels vet golden generate check-generate bench fuzz demo clean

all: build test

build:
	$(GO) build ./...

# The whole suite: vet (the generated packages under testdata too), the tests on the
# default kernel path (and examples/mnist's, a module of its own), again with the pure-Go
# kernels (-short: the float64 reference and PyTorch's side of the large networks, which do
# not depend on the kernels, run in the first pass only), and each SIMD path the CPU has.
test: vet
	$(GO) test -count=1 ./... ./testdata/golden/...
	cd examples/mnist && $(GO) test -count=1 ./...
	$(GO) test -count=1 -short -tags purego ./runtime/... ./gen
	$(MAKE) test-kernels

test-kernels:
	NETC_KERNELS=go $(GO) test -count=1 ./runtime/kernels
	NETC_KERNELS=avx2 $(GO) test -count=1 ./runtime/kernels
	NETC_KERNELS=avx512 $(GO) test -count=1 ./runtime/kernels

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./... ./testdata/golden/...
	cd examples/mnist && $(GO) vet ./...

# Rewrite the golden generated packages (with gen/goldennets_test.go, the list of them the
# tests import), the golden PyTorch exports and the example's generated code.
golden:
	$(GO) test ./gen -run 'TestGolden$$' -update
	$(GO) test ./pytorch -run 'TestGolden$$' -update
	cd examples/mnist && $(GO) generate ./...

# Regenerate everything generated: assembly (with avo, from the module in runtime/kernels/asm)
# and code.
generate: golden
	$(GO) generate ./runtime/kernels

# Where generate writes.
GENERATED := runtime/kernels testdata/golden testdata/golden-pytorch gen/goldennets_test.go examples

# Regenerate everything, then fail if that changed or added a file under GENERATED: the
# checked-in assembly, golden packages or example are stale. Run it on a committed tree (CI
# does): uncommitted edits there count as differences.
check-generate: generate
	git diff --exit-code -- $(GENERATED)
	@new="$$(git ls-files --others --exclude-standard -- $(GENERATED))"; \
	test -z "$$new" || { echo "generate wrote files that are not committed:"; echo "$$new"; exit 1; }

bench:
	./scripts/bench.sh

# Fuzz the compiler for a minute: every input must compile or fail with positioned errors,
# and the first accepted network of each shape class is generated, built and run (plain
# go test does this for the seed corpus only).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime 60s ./compiler

# The README's first command: train lenet-mnist on MNIST.
demo:
	$(GO) run ./cmd/netc train specs/lenet-mnist.net --data mnist --epochs 3

clean:
	rm -rf tmp .netc runs
