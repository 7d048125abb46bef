package main

import "io"

func runCompile(args []string, stdout, stderr io.Writer) int { return 2 }
