package password

import (
	"errors"
	"os"
	"strconv"
	"syscall"
)

// SetProcessNice gives every thread of the calling process the nice value
// nice. On Linux a nice value belongs to a thread, and a new thread takes
// the value of the thread that starts it, so once every thread has it,
// every thread the Go runtime starts later has it too. Raising the value
// needs no privilege. It is meant for the hashing worker.
func SetProcessNice(nice int) error {
	// Threads started while the list is read are found by the next pass;
	// it ends when a pass finds none it has not set.
	set := make(map[int]bool)
	for {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		found := false
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || set[tid] {
				continue
			}
			// With PRIO_PROCESS, Linux takes a thread id to mean that
			// thread alone.
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, syscall.ESRCH) {
				return err
			}
			set[tid], found = true, true
		}
		if !found {
			return nil
		}
	}
}
