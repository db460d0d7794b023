package password

import "runtime"

// lowPriority runs hash computations on dedicated OS threads whose
// scheduling priority is lowered (a higher nice value). Hashing is the one
// CPU-heavy thing restauth does; the aim is that the kernel gives the CPU
// to request handling first whenever both want it. The program must leave
// spare GOMAXPROCS slots for the threads (cmd/restauth adds one per hashing
// slot), or they would hold the scheduler's processors while the kernel
// holds them back.
//
// Measured, the aim is only partly met: golang.org/x/crypto/argon2 computes
// each lane and slice of a hash on a goroutine of its own (eight per hash
// with two passes), which runs on any thread at normal priority while the
// niced thread waits. What protects token requests under a login flood is
// mostly the extra scheduler processors (token p99 about 10 ms instead of
// about 45 ms with --hash-nice 0); the waits and wake-ups of the locked
// thread cost the password paths about a fifth of their throughput
// (docs/benchmarks.md, 2026-12-01).
type lowPriority struct {
	jobs chan func()
}

// newLowPriority starts n worker threads at the given nice value. The
// workers live as long as the program: a Hasher is made once.
func newLowPriority(n, nice int) *lowPriority {
	lp := &lowPriority{jobs: make(chan func())}
	for range n {
		go lp.worker(nice)
	}
	return lp
}

func (lp *lowPriority) worker(nice int) {
	// The goroutine never unlocks, so its thread keeps the nice value and
	// no other goroutine ever runs on it. Threads the runtime creates
	// while this one is locked are started from its template thread, so
	// they do not inherit the nice value.
	runtime.LockOSThread()
	setThreadNice(nice)
	for f := range lp.jobs {
		f()
	}
}

// run calls f on a worker thread and waits for it.
func (lp *lowPriority) run(f func()) {
	done := make(chan struct{})
	lp.jobs <- func() {
		defer close(done)
		f()
	}
	<-done
}
