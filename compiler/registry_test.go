package compiler

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// TestRegistryComplete checks that every kind of layer defines every part its role needs,
// so that a new kind missing its emitter, reference, ONNX node or PyTorch module fails here, not in a
// user's hands.
func TestRegistryComplete(t *testing.T) {
	if len(Kinds()) != len(registry) {
		t.Fatalf("Kinds lists %d kinds, the registry holds %d", len(Kinds()), len(registry))
	}
	for _, lt := range Kinds() {
		name := string(lt.Kind)
		if lt.Doc == "" {
			t.Errorf("%s: no Doc", name)
		}
		switch lt.Role {
		case RoleInput:
		case RoleLoss:
			if lt.EmitLoss == nil || lt.Loss64 == nil || lt.PyTorchLoss == nil {
				t.Errorf("%s: a loss needs EmitLoss, Loss64 and PyTorchLoss", name)
			}
		default:
			if lt.Emit == nil || lt.Forward64 == nil || (lt.Backward64 == nil) == (lt.MergeBackward64 == nil) {
				t.Errorf("%s: needs Emit, Forward64 and Backward64 (or, a merge, MergeBackward64)", name)
			}
			if (lt.Syntax.Names != "") != (lt.MergeBackward64 != nil) {
				t.Errorf("%s: a merge takes names and has MergeBackward64, other layers neither", name)
			}
			if (lt.ONNX == nil) != lt.InferenceIdentity {
				t.Errorf("%s: needs an ONNX function, or InferenceIdentity if it is the identity at inference", name)
			}
			if lt.PyTorch == nil {
				t.Errorf("%s: needs a PyTorch function (netc export --format pytorch)", name)
			}
		}
		if (lt.Syntax.Number != "" || lt.Syntax.Dims != "" || len(lt.Syntax.Options) > 0) && lt.Syntax.Example == "" {
			t.Errorf("%s: takes arguments but has no Example", name)
		}
	}
}

// TestKindExamples compiles every kind's example in a small network: the examples the
// errors and the README show must be valid.
func TestKindExamples(t *testing.T) {
	for _, lt := range Kinds() {
		example := lt.Syntax.Example
		if example == "" {
			example = string(lt.Kind)
		}
		var spec string
		switch {
		case lt.Role == RoleInput:
			spec = example + " | full 2 | softmax"
		case lt.Role == RoleLoss:
			spec = "input 3x32x32 | full 4 | " + example
		case lt.Syntax.Names != "": // a merge of conv1's output with itself
			spec = "input 3x32x32 | conv 3 1x1 | " + example + " | full 2 | softmax"
		default:
			spec = "input 3x32x32 | " + example + " | full 2 | softmax"
		}
		if _, err := Compile("example.net", []byte(spec)); err != nil {
			t.Errorf("%s's example %q: %v", lt.Kind, example, err)
		}
	}
}

var updateREADME = flag.Bool("update", false, "rewrite the README's layer table from the registry")

// TestREADMELayerTable checks that the README's table of layers is LayerTable's; with
// -update it rewrites it.
func TestREADMELayerTable(t *testing.T) {
	src, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(src)
	start := strings.Index(readme, "<!-- layers:")
	end := strings.Index(readme, "<!-- /layers -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no <!-- layers: … --> … <!-- /layers --> section")
	}
	body := strings.Index(readme[start:], "\n") + start + 1
	got := readme[body:end]
	if *updateREADME {
		if err := os.WriteFile("../README.md", []byte(readme[:body]+LayerTable()+readme[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := LayerTable(); got != want {
		t.Errorf("README's layer table differs from the registry; it should read:\n%s", want)
	}
}
