package onnx

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultNodeModules are where RuntimeNodeModules looks for onnxruntime-node after
// $NETC_ORT_NODE_PATH: the folder .ci/run and the README install it in, then the one the
// ONNX anchors of ../shared use.
var DefaultNodeModules = []string{"/tmp/netc-ort/node_modules", "/tmp/ortwork/node_modules"}

// InstallHint says how to install onnxruntime-node where RuntimeNodeModules finds it.
const InstallHint = "install with: mkdir -p /tmp/netc-ort && cd /tmp/netc-ort && npm init -y && " +
	"ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0 (or set NETC_ORT_NODE_PATH to its node_modules)"

// RuntimeNodeModules returns a node_modules folder holding onnxruntime-node, for running
// exported models with ort_run.js: $NETC_ORT_NODE_PATH, else one of DefaultNodeModules. It
// fails when node or the package is missing.
func RuntimeNodeModules() (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node not found")
	}
	dirs := DefaultNodeModules
	if d := os.Getenv("NETC_ORT_NODE_PATH"); d != "" {
		dirs = append([]string{d}, dirs...)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "onnxruntime-node", "package.json")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("onnxruntime-node not found in %s", strings.Join(dirs, " or "))
}
