//go:build !linux

package password

// setThreadNice is a no-op where a thread's priority cannot be set alone.
func setThreadNice(int) {}
