//go:build !linux

package password

import (
	"errors"
	"os"
)

// SetProcessNice is supported on Linux only; elsewhere the hashing worker
// runs at normal priority.
func SetProcessNice(int) error {
	return errors.New("password: setting the hashing worker's priority is supported on Linux only")
}

// pollable returns f: the worker's pipes stay as they are.
func pollable(f *os.File) *os.File { return f }
