package password

import (
	"syscall"
	"testing"
)

// threadNice returns the calling thread's nice value. The raw getpriority
// system call returns 20 minus the nice value.
func threadNice(t *testing.T) int {
	t.Helper()
	r, _, errno := syscall.Syscall(syscall.SYS_GETPRIORITY, syscall.PRIO_PROCESS, uintptr(syscall.Gettid()), 0)
	if errno != 0 {
		t.Fatalf("getpriority: %v", errno)
	}
	return 20 - int(r)
}
