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

// pollable returns a File for f's descriptor that Go's network poller
// serves. A pipe a process inherits is in blocking mode, and each blocking
// read or write holds a thread in a system call; for the worker, whose
// requests and answers are small and frequent, that cost about a fifth of
// its hashing throughput in the hand-offs between threads (measured: 78 to
// 88 hashes a second against 104 to 107 with polling, on 2 CPUs). On
// failure it returns f.
func pollable(f *os.File) *os.File {
	fd := f.Fd() // Fd leaves the descriptor in blocking mode; it is changed next.
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		return f
	}
	// NewFile sees the non-blocking mode and registers the descriptor with
	// the poller. f is not closed: the two share the descriptor, and f is
	// not used again.
	return os.NewFile(fd, f.Name())
}
