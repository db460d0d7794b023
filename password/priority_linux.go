package password

import "syscall"

// setThreadNice sets the nice value of the calling thread only: on Linux,
// PRIO_PROCESS with a thread id names one thread. Lowering priority needs
// no privilege; a failure leaves the thread at normal priority, which is
// correct, only less protective.
func setThreadNice(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
