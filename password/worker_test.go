package password

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/procstat"
)

// The test binary doubles as the hashing worker: TestMain serves as one
// when testWorkerEnv names a mode.
const testWorkerEnv = "RESTAUTH_PASSWORD_TEST_WORKER"

func TestMain(m *testing.M) {
	switch mode := os.Getenv(testWorkerEnv); {
	case mode == "":
		os.Exit(m.Run())
	case strings.HasPrefix(mode, "nice="):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "nice="))
		if err := SetProcessNice(n); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		fallthrough
	case mode == "serve":
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case mode == "die":
		// Read one request, then exit without answering it.
		readFrame(bufio.NewReader(os.Stdin))
		os.Exit(3)
	}
	os.Exit(2)
}

// testWorker returns a worker command running the test binary in mode.
func testWorker(t *testing.T, mode string) func() *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe)
		// A race-enabled worker would otherwise wait a second at exit.
		cmd.Env = []string{testWorkerEnv + "=" + mode, "GORACE=atexit_sleep_ms=0"}
		cmd.Stderr = os.Stderr
		return cmd
	}
}

// errorLog collects what a Hasher reports through WorkerError.
type errorLog struct {
	mu    sync.Mutex
	errs  []error
	first chan struct{} // Closed at the first report.
}

func newErrorLog() *errorLog { return &errorLog{first: make(chan struct{})} }

func (l *errorLog) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
	if len(l.errs) == 1 {
		close(l.first)
	}
}

func (l *errorLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.errs)
}

var workerParams = Params{Memory: 64, Time: 1, Threads: 1}

// workerPID returns the pid of h's first worker, the one that computes
// hashes asked for one at a time, or 0 when it does not run.
func workerPID(h *Hasher) int {
	return h.worker.workers[0].pid()
}

// pid returns the pid of w's running process, or 0.
func (w *worker) pid() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc == nil {
		return 0
	}
	return w.proc.cmd.Process.Pid
}

// setRestartDelay sets the restart delay of every worker of h.
func setRestartDelay(h *Hasher, d time.Duration) {
	for _, w := range h.worker.workers {
		w.restartDelay = d
	}
}

func TestWorkerComputesAsInProcess(t *testing.T) {
	errs := newErrorLog()
	h := New(Options{Params: workerParams, MaxConcurrent: 4, Worker: testWorker(t, "serve"), WorkerError: errs.add})
	defer h.Close()
	ctx := context.Background()
	const pw = "ｃｏｒｒｅｃｔ horse" // Full-width: normalised before it is sent.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			enc, err := h.Hash(ctx, pw+strconv.Itoa(i))
			if err != nil {
				t.Errorf("Hash: %v", err)
				return
			}
			// Check computes in this process: the worker's key must be
			// the same.
			if ok, err := Check("correct horse"+strconv.Itoa(i), enc); !ok || err != nil {
				t.Errorf("Check of a worker's hash = %v, %v; want true, nil", ok, err)
			}
			ok, _, err := h.Verify(ctx, pw+strconv.Itoa(i), enc)
			if !ok || err != nil {
				t.Errorf("Verify through the worker = %v, %v; want true, nil", ok, err)
			}
			ok, _, err = h.Verify(ctx, "wrong", enc)
			if ok || err != nil {
				t.Errorf("Verify of a wrong password = %v, %v; want false, nil", ok, err)
			}
		})
	}
	wg.Wait()
	// argon2i, a legacy format, goes through the worker too.
	local := New(Options{Params: workerParams})
	enc, _ := local.Hash(ctx, "x")
	argon2i := strings.Replace(enc, "$argon2id$", "$argon2i$", 1)
	want, _ := Check("x", argon2i)
	if got, _, err := h.Verify(ctx, "x", argon2i); got != want || err != nil {
		t.Errorf("argon2i Verify through the worker = %v, %v; want %v, nil (as in process)", got, err, want)
	}
	if workerPID(h) == 0 {
		t.Error("no worker process is running after the hashes")
	}
	if n := errs.count(); n != 0 {
		t.Errorf("WorkerError called %d times (%v); want none", n, errs.errs)
	}
}

func TestWorkerNice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("nice values are set on Linux only")
	}
	h := New(Options{Params: workerParams, Worker: testWorker(t, "nice=7")})
	defer h.Close()
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	pid := workerPID(h)
	nices, err := procstat.ThreadNices(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, nice := range nices {
		if nice != 7 {
			t.Errorf("worker thread nice = %d, want 7", nice)
		}
	}
	if own := ownNice(t); own != 0 {
		t.Errorf("test process nice = %d, want 0: the worker's value leaked", own)
	}
}

// ownNice returns the calling thread's nice value.
func ownNice(t *testing.T) int {
	st, ok := procstat.Read("/proc/thread-self/stat")
	if !ok {
		t.Fatal("cannot read /proc/thread-self/stat")
	}
	return st.Nice
}

func TestWorkerExitFallsBackAndRestarts(t *testing.T) {
	errs := newErrorLog()
	h := New(Options{Params: workerParams, Worker: testWorker(t, "serve"), WorkerError: errs.add})
	defer h.Close()
	setRestartDelay(h, 50*time.Millisecond)
	ctx := context.Background()
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	first := workerPID(h)
	p, _ := os.FindProcess(first)
	p.Kill()
	// Until the reader sees the exit, a request may still go to the dead
	// worker; either way the answer is right.
	for range 3 {
		enc, err := h.Hash(ctx, "pw")
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := Check("pw", enc); !ok {
			t.Fatal("a hash made while the worker was gone does not verify")
		}
	}
	// The reader reports the exit after it has set the restart time, so
	// once the report is in, the restart delay counts from before now.
	<-errs.first
	time.Sleep(50 * time.Millisecond)
	if _, err := h.Hash(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	if second := workerPID(h); second == 0 || second == first {
		t.Errorf("worker pid after restart = %d, want a new process (first was %d)", second, first)
	}
}

func TestWorkerDyingMidRequest(t *testing.T) {
	errs := newErrorLog()
	h := New(Options{Params: workerParams, Worker: testWorker(t, "die"), WorkerError: errs.add})
	defer h.Close()
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Check("pw", enc); !ok {
		t.Error("the hash computed after the worker died does not verify")
	}
	h.Close() // Waits for the reader, which reports the exit first.
	if errs.count() != 1 || !strings.Contains(errs.errs[0].Error(), "exited") {
		t.Errorf("WorkerError got %v; want one report of the exit", errs.errs)
	}
}

func TestWorkerCannotStart(t *testing.T) {
	errs := newErrorLog()
	missing := func() *exec.Cmd { return exec.Command(t.TempDir() + "/no-such-worker") }
	h := New(Options{Params: workerParams, MaxConcurrent: 4, Worker: missing, WorkerError: errs.add})
	defer h.Close()
	// However slow the hashes below, none falls after the restart delay.
	setRestartDelay(h, time.Hour)
	// Hashes at once, so that every worker of the pool is asked to start.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			enc, err := h.Hash(context.Background(), "pw")
			if err != nil {
				t.Error(err)
				return
			}
			if ok, _ := Check("pw", enc); !ok {
				t.Error("a hash made without a worker does not verify")
			}
		})
	}
	wg.Wait()
	// One failed start, then no new attempt by any worker within the
	// restart delay.
	if n := errs.count(); n != 1 {
		t.Errorf("WorkerError called %d times with %d workers, want 1 (%v)", n, len(h.worker.workers), errs.errs)
	}
}

func TestWorkerClose(t *testing.T) {
	h := New(Options{Params: workerParams, Worker: testWorker(t, "serve")})
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	w := h.worker.workers[0]
	w.mu.Lock()
	cmd := w.proc.cmd
	w.mu.Unlock()
	h.Close()
	if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		t.Errorf("worker state after Close = %v, want exited with status 0", cmd.ProcessState)
	}
	// A Hasher still hashes after Close, in this process.
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := Check("pw", enc); !ok {
		t.Error("a hash made after Close does not verify")
	}
}

func TestServeWorker(t *testing.T) {
	good := keyRequest{id: 7, argon2id: true, time: 1, memory: 64, threads: 1, keyLen: 16, salt: []byte("saltsalt"), password: []byte("pw")}
	costly := good
	costly.id, costly.memory = 8, 1<<30
	var in []byte
	in = good.appendFrame(in)
	in = costly.appendFrame(in)
	var out bytes.Buffer
	if err := ServeWorker(bytes.NewReader(in), &out); err != nil {
		t.Fatalf("ServeWorker = %v, want nil at the end of its input", err)
	}
	got := map[uint64][]byte{}
	br := bufio.NewReader(&out)
	for {
		body, err := readFrame(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		id, key, err := parseAnswer(body)
		if err != nil {
			t.Fatal(err)
		}
		got[id] = key
	}
	if want := good.key(); !bytes.Equal(got[7], want) {
		t.Errorf("key for request 7 = %x, want %x", got[7], want)
	}
	if key, ok := got[8]; !ok || key != nil {
		t.Errorf("answer to the over-limit request = %x (present %v), want a refusal", key, ok)
	}

	// A frame too short to carry an id ends the worker with an error.
	if err := ServeWorker(bytes.NewReader([]byte{0, 0, 0, 2, 1, 2}), io.Discard); err == nil {
		t.Error("ServeWorker of a 2-byte request = nil, want an error")
	}
	// So does a frame longer than any request.
	if err := ServeWorker(bytes.NewReader([]byte{0, 1, 0, 1}), io.Discard); err == nil {
		t.Error("ServeWorker of a 65537-byte frame = nil, want an error")
	}
}

func FuzzParseRequest(f *testing.F) {
	r := keyRequest{id: 1, argon2id: true, time: 2, memory: 19456, threads: 1, keyLen: 32, salt: []byte("0123456789abcdef"), password: []byte("pw")}
	f.Add(r.appendFrame(nil)[4:])
	f.Add([]byte{})
	f.Add(make([]byte, requestHeader))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRequest(body)
		if err != nil {
			return
		}
		// Whatever is accepted is within the limits and encodes back to
		// the same body.
		if problem, _ := argon2Problem(req.memory, req.time, uint64(req.threads), uint64(len(req.salt)), uint64(req.keyLen), &defaultLimits); problem != "" {
			t.Fatalf("accepted a request over the limits: %s", problem)
		}
		if again := req.appendFrame(nil)[4:]; !bytes.Equal(again, body) {
			t.Fatalf("re-encoded request = %x, want %x", again, body)
		}
	})
}

func TestPoolShape(t *testing.T) {
	tests := []struct {
		concurrent, lanes, cpus int
		workers, gomaxprocs     int
	}{
		{2, 1, 2, 2, 1},    // The default on 2 CPUs: a process per hash.
		{8, 1, 8, 8, 1},    // The default on 8 CPUs.
		{1, 1, 4, 1, 1},    // Fewer hashes at once than CPUs.
		{4, 1, 2, 2, 2},    // More hashes than CPUs: two per process.
		{5, 1, 2, 2, 2},    // Rounded up.
		{2, 4, 2, 2, 2},    // Four lanes a hash, at most the CPUs.
		{2, 2, 8, 2, 2},    // Two lanes a hash.
		{4096, 1, 2, 2, 2}, // The largest --hash-concurrency.
		{0, 0, 1, 1, 1},    // Nothing below one.
	}
	for _, tt := range tests {
		w, p := poolShape(tt.concurrent, tt.lanes, tt.cpus)
		if w != tt.workers || p != tt.gomaxprocs {
			t.Errorf("poolShape(%d, %d, %d) = %d, %d; want %d, %d",
				tt.concurrent, tt.lanes, tt.cpus, w, p, tt.workers, tt.gomaxprocs)
		}
	}
}

// TestWorkerPoolSpread checks that computations at once go to different
// processes, the least busy first, one at a time always to the first, and
// none to a worker waiting to restart while another can take it.
func TestWorkerPoolSpread(t *testing.T) {
	p := &workerPool{inflight: make([]int, 3)}
	for range 3 {
		p.workers = append(p.workers, newWorker(nil, nil, &p.starts))
	}
	var got []int
	for range 3 {
		got = append(got, p.acquire())
	}
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("workers of 3 computations at once = %v; want [0 1 2]", got)
	}
	p.release(2)
	if w := p.acquire(); w != 2 {
		t.Errorf("after worker 2 is released, acquire = %d; want 2 (the only idle one)", w)
	}
	for i := range 3 {
		p.release(i)
	}
	for range 3 {
		w := p.acquire()
		p.release(w)
		if w != 0 {
			t.Errorf("one computation at a time went to worker %d; want 0", w)
		}
	}

	// Worker 0 waits out its restart delay: the least busy of the others
	// takes the work, even when both are busier.
	p.workers[0].retryAt = time.Now().Add(time.Hour)
	copy(p.inflight, []int{0, 2, 1})
	if w := p.acquire(); w != 2 {
		t.Errorf("with worker 0 down and in flight %v, acquire = %d; want 2", []int{0, 2, 1}, w)
	}
	// With every worker down, the least busy takes it (and computes in
	// this process).
	p.starts.notBefore = time.Now().Add(time.Hour)
	copy(p.inflight, []int{3, 1, 2})
	if w := p.acquire(); w != 1 {
		t.Errorf("with every worker down and in flight %v, acquire = %d; want 1", []int{3, 1, 2}, w)
	}
}

// TestWorkerProcessPerHash checks that two hashes at once run in two
// processes, each with one scheduler processor and the command's own
// environment.
func TestWorkerProcessPerHash(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("one CPU: one worker process")
	}
	if runtime.GOOS != "linux" {
		t.Skip("a process's environment is read from Linux's /proc")
	}
	h := New(Options{Params: workerParams, MaxConcurrent: 2, Worker: testWorker(t, "serve")})
	defer h.Close()
	// Hold the first worker as a computation in flight would, so that the
	// hash goes to the second; then hash on the first.
	first := h.worker.acquire()
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	h.worker.release(first)
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
	pids := []int{h.worker.workers[0].pid(), h.worker.workers[1].pid()}
	if pids[0] == 0 || pids[1] == 0 || pids[0] == pids[1] {
		t.Fatalf("worker pids = %v; want two running processes", pids)
	}
	for _, pid := range pids {
		vars, err := procstat.Environ(pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"GOMAXPROCS=1", testWorkerEnv + "=serve"} {
			if !slices.Contains(vars, want) {
				t.Errorf("worker %d environment = %q; want it to hold %s", pid, vars, want)
			}
		}
	}
}
