//go:build !linux

package password

import "errors"

// SetProcessNice is supported on Linux only; elsewhere the hashing worker
// runs at normal priority.
func SetProcessNice(int) error {
	return errors.New("password: setting the hashing worker's priority is supported on Linux only")
}
