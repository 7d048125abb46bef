package data

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by the errors of [Load] when a data set's files cannot be found.
var ErrNotFound = errors.New("data set not found")

// FormatError reports a data file that is malformed or truncated.
type FormatError struct {
	// File is the path of the offending file.
	File string
	// Msg says what is wrong.
	Msg string
}

// Error returns "FILE: MSG".
func (e *FormatError) Error() string { return e.File + ": " + e.Msg }

// formatErr returns a *FormatError for file with a formatted message.
func formatErr(file, format string, args ...any) error {
	return &FormatError{File: file, Msg: fmt.Sprintf(format, args...)}
}
