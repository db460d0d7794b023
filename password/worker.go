package password

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// A hashing worker is a child process that computes argon2 keys for a
// Hasher, so that the kernel can run hashing at a lower priority than
// request handling. Inside one Go process this cannot be arranged:
// golang.org/x/crypto/argon2 computes each lane and slice of a hash on a
// goroutine of its own, and the Go scheduler runs goroutines on any thread,
// so a nice value set on one thread does not follow the computation. A
// whole process can be niced, and every thread it ever starts inherits the
// value.
//
// Parent and worker speak over the worker's standard input and output. A
// request frame is a 4-byte big-endian body length and a body of:
//
//	id       8 bytes, echoed in the answer
//	variant  1 byte: 1 for argon2id, 0 for argon2i
//	time     4 bytes
//	memory   4 bytes, KiB
//	threads  1 byte
//	keyLen   4 bytes
//	saltLen  2 bytes, then the salt
//	the password, already normalised: the rest of the body
//
// An answer frame is a 4-byte body length and a body of the 8-byte id, a
// status byte (0: the key follows; 1: the request was refused) and the key.
// Requests are answered in any order, as their computations finish.

// maxFrame bounds a frame's body. A password is at most MaxPasswordBytes
// before NFKC normalisation, which can lengthen text at most eighteenfold.
const maxFrame = 64 << 10

// idleRelease is how often an idle worker checks whether to give its
// memory back to the system.
const idleRelease = time.Second

// errWorkerGone is given to the callers whose computation was in flight
// when the worker exited; the Hasher then computes the key itself.
var errWorkerGone = errors.New("password: hashing worker exited")

// keyRequest is one argon2 computation.
type keyRequest struct {
	id       uint64
	argon2id bool // argon2id; argon2i otherwise.
	time     uint32
	memory   uint32
	threads  uint8
	keyLen   uint32
	salt     []byte
	password []byte
}

const requestHeader = 8 + 1 + 4 + 4 + 1 + 4 + 2

func (r *keyRequest) appendFrame(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(requestHeader+len(r.salt)+len(r.password)))
	b = binary.BigEndian.AppendUint64(b, r.id)
	v := byte(0)
	if r.argon2id {
		v = 1
	}
	b = append(b, v)
	b = binary.BigEndian.AppendUint32(b, r.time)
	b = binary.BigEndian.AppendUint32(b, r.memory)
	b = append(b, r.threads)
	b = binary.BigEndian.AppendUint32(b, r.keyLen)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.salt)))
	b = append(b, r.salt...)
	return append(b, r.password...)
}

// readFrame reads one frame's body.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxFrame {
		return nil, fmt.Errorf("password: worker frame of %d bytes, over %d", size, maxFrame)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	return body, nil
}

// parseRequest decodes a request body. Its id is returned even when the
// rest is refused, so that the refusal can be answered.
func parseRequest(body []byte) (keyRequest, error) {
	var r keyRequest
	if len(body) < 8 {
		return r, errors.New("password: worker request too short for its id")
	}
	r.id = binary.BigEndian.Uint64(body)
	if len(body) < requestHeader {
		return r, errors.New("password: worker request too short")
	}
	switch body[8] {
	case 0:
	case 1:
		r.argon2id = true
	default:
		return r, fmt.Errorf("password: worker request for argon2 variant %d", body[8])
	}
	r.time = binary.BigEndian.Uint32(body[9:])
	r.memory = binary.BigEndian.Uint32(body[13:])
	r.threads = body[17]
	r.keyLen = binary.BigEndian.Uint32(body[18:])
	saltLen := int(binary.BigEndian.Uint16(body[22:]))
	rest := body[requestHeader:]
	if saltLen > len(rest) {
		return r, errors.New("password: worker request salt runs past the frame")
	}
	r.salt, r.password = rest[:saltLen], rest[saltLen:]
	// The worker holds the same limits as verification, so a request can
	// never make it allocate or compute more than a stored hash could.
	if problem, _ := argon2Problem(r.memory, r.time, uint64(r.threads), uint64(saltLen), uint64(r.keyLen), &defaultLimits); problem != "" {
		return r, errors.New("password: worker request refused: " + problem)
	}
	return r, nil
}

// key computes the request's argon2 key in this process.
func (r *keyRequest) key() []byte {
	if r.argon2id {
		return argon2.IDKey(r.password, r.salt, r.time, r.memory, r.threads, r.keyLen)
	}
	return argon2.Key(r.password, r.salt, r.time, r.memory, r.threads, r.keyLen)
}

func appendAnswer(b []byte, id uint64, key []byte) []byte {
	status := byte(0)
	if key == nil {
		status = 1
	}
	b = binary.BigEndian.AppendUint32(b, uint32(8+1+len(key)))
	b = binary.BigEndian.AppendUint64(b, id)
	b = append(b, status)
	return append(b, key...)
}

func parseAnswer(body []byte) (id uint64, key []byte, err error) {
	if len(body) < 9 {
		return 0, nil, errors.New("password: worker answer too short")
	}
	id = binary.BigEndian.Uint64(body)
	switch body[8] {
	case 0:
		return id, body[9:], nil
	case 1:
		return id, nil, nil
	}
	return 0, nil, fmt.Errorf("password: worker answer with status %d", body[8])
}

// ServeWorker is the hashing worker's side: it reads requests from r,
// computes each on a goroutine of its own, and writes the answers to w,
// until r ends. It then waits for the computations in flight, answers
// them, and returns nil; a malformed frame ends it with an error. The
// parent bounds how many requests are in flight at once.
//
// Call it from a process made for it (restauth runs it as the hidden
// "hash-worker" command), after SetProcessNice when hashing is to yield to
// request handling.
func ServeWorker(r io.Reader, w io.Writer) error {
	if f, ok := r.(*os.File); ok {
		r = pollable(f)
	}
	if f, ok := w.(*os.File); ok {
		w = pollable(f)
	}
	br := bufio.NewReader(r)
	var (
		mu sync.Mutex // Serialises answers.
		wg sync.WaitGroup
		we error // The first write error; later answers are dropped.
	)
	answer := func(id uint64, key []byte) {
		frame := appendAnswer(make([]byte, 0, 13+len(key)), id, key)
		mu.Lock()
		defer mu.Unlock()
		if we == nil {
			_, we = w.Write(frame)
		}
	}
	// An idle worker gives its memory back: each computation allocates
	// the memory parameter afresh (19 MiB by default), and Go's own
	// scavenger would take minutes to return it.
	// It waits for a whole quiet tick, so that a busy worker never does.
	var inflight atomic.Int64
	var active atomic.Bool // A computation ended since the last tick.
	stop := make(chan struct{})
	wg.Go(func() {
		t := time.NewTicker(idleRelease)
		defer t.Stop()
		held := false // Memory used since it was last given back.
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if active.Swap(false) {
					held = true
				} else if held && inflight.Load() == 0 {
					debug.FreeOSMemory()
					held = false
				}
			}
		}
	})
	var err error
	for {
		var body []byte
		body, err = readFrame(br)
		if err != nil {
			break
		}
		req, perr := parseRequest(body)
		if perr != nil {
			if len(body) < 8 {
				err = perr
				break
			}
			answer(req.id, nil)
			continue
		}
		inflight.Add(1)
		wg.Go(func() {
			key := req.key()
			active.Store(true)
			inflight.Add(-1)
			answer(req.id, key)
		})
	}
	close(stop)
	wg.Wait()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// workerPool spreads computations over several worker processes, one per
// computation that runs at once (up to the scheduler's processor count),
// sending each to the worker with the fewest in flight.
//
// One process per hash is what keeps a niced worker from idling a CPU.
// Every argon2 computation allocates its memory parameter afresh, so a
// busy worker collects garbage every hash or two, and each collection
// stops all of its process's threads. In one process computing two hashes,
// the thread that starts a collection waits, with its CPU idle, for the
// other to stop; when request handling has preempted that other thread (at
// nice 19 it yields to everything), the wait lasts until the kernel runs it
// again. Measured on 2 CPUs during a login load, those stops took 0.3 ms at
// the median and over 2 ms at the 99th percentile, about one per two
// hashes, and cost about 5% of the hashing throughput. A process that
// computes one hash at a time on one scheduler processor (GOMAXPROCS=1)
// stops only itself.
type workerPool struct {
	workers []*worker
	starts  startGate // Shared by the workers.

	mu       sync.Mutex
	inflight []int // Per worker, guarded by mu.
}

// startGate serialises the workers' process starts and, after one fails,
// holds every start back for the restart delay: a command that cannot run
// then costs one fork and one report a second, however many workers there
// are.
type startGate struct {
	mu        sync.Mutex
	notBefore time.Time
}

// newWorkerPool returns a pool of up to min(concurrent,
// runtime.GOMAXPROCS(0)) workers for at most concurrent computations at
// once, each of lanes argon2 lanes. The scheduler's processor count, not
// the machine's CPU count, follows a container's CPU quota and an
// operator's GOMAXPROCS. Each worker's process is started on its first
// computation with GOMAXPROCS set to the lanes of the computations it may
// run at once, at most that count.
func newWorkerPool(concurrent int, lanes uint8, command func() *exec.Cmd, onError func(error)) *workerPool {
	n, procs := poolShape(concurrent, int(lanes), runtime.GOMAXPROCS(0))
	withProcs := func() *exec.Cmd {
		cmd := command()
		// Environ gives the environment the command would run with; a
		// later duplicate replaces an earlier value.
		cmd.Env = append(cmd.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
		return cmd
	}
	p := &workerPool{inflight: make([]int, n)}
	for range n {
		p.workers = append(p.workers, newWorker(withProcs, onError, &p.starts))
	}
	return p
}

// poolShape returns how many worker processes share concurrent
// computations of lanes lanes each on cpus CPUs, and the GOMAXPROCS of
// each: the lanes of the computations one process may be sent at once, at
// most the CPUs.
func poolShape(concurrent, lanes, cpus int) (workers, gomaxprocs int) {
	workers = max(1, min(concurrent, cpus))
	perWorker := (max(1, concurrent) + workers - 1) / workers
	return workers, max(1, min(perWorker*lanes, cpus))
}

// acquire returns the index of the worker with the fewest computations in
// flight, the first of them on a tie, so that one hash at a time always
// goes to the same process. A worker waiting out its restart delay (its
// computations would run in this process, at normal priority) is passed
// over while another is not.
func (p *workerPool) acquire() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	best, bestDown := -1, false
	for i, n := range p.inflight {
		down := p.workers[i].down(now)
		if best < 0 || (bestDown && !down) || (down == bestDown && n < p.inflight[best]) {
			best, bestDown = i, down
		}
	}
	p.inflight[best]++
	return best
}

func (p *workerPool) release(i int) {
	p.mu.Lock()
	p.inflight[i]--
	p.mu.Unlock()
}

// key has a worker compute req's key, as worker.key does.
func (p *workerPool) key(req keyRequest) ([]byte, error) {
	i := p.acquire()
	defer p.release(i)
	return p.workers[i].key(req)
}

// close ends every worker, as worker.close does, all at once.
func (p *workerPool) close() {
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Go(w.close)
	}
	wg.Wait()
}

// worker is the parent's side: it starts the worker process when a key is
// first needed, sends it requests, and hands each answer to its caller. A
// worker that exits is started again on a later request, at most once a
// second; meanwhile, and for the calls in flight when it exited, the
// Hasher computes in its own process.
type worker struct {
	command      func() *exec.Cmd
	onError      func(error)
	restartDelay time.Duration

	starts *startGate // Shared with the pool's other workers.

	mu      sync.Mutex
	proc    *workerProc // Nil when no worker runs.
	nextID  uint64
	retryAt time.Time // No start before this, after a failure.
	closed  bool
	readers sync.WaitGroup // One reader per worker process started.
}

// workerProc is one started worker process.
type workerProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	pending map[uint64]chan []byte // Guarded by worker.mu.
	buf     []byte                 // Frame buffer, guarded by worker.mu.
}

// restartDelay is the least time between a worker's failure and the next
// start, so that a worker that cannot run does not cost a fork per hash.
const restartDelay = time.Second

// newWorker returns a worker whose process starts go through starts, the
// gate it shares with its pool's other workers.
func newWorker(command func() *exec.Cmd, onError func(error), starts *startGate) *worker {
	if onError == nil {
		onError = func(error) {}
	}
	return &worker{command: command, onError: onError, restartDelay: restartDelay, starts: starts}
}

// down reports whether w's computations would now run in the caller's
// process: no worker runs and none may start yet.
func (w *worker) down(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.proc != nil {
		return false
	}
	if w.closed || now.Before(w.retryAt) {
		return true
	}
	w.starts.mu.Lock()
	defer w.starts.mu.Unlock()
	return now.Before(w.starts.notBefore)
}

// key has the worker compute req's key. It returns an error, and the
// caller computes the key itself, when no worker runs or the worker exits
// before answering. A refused request gives a nil key and no error; the
// Hasher never sends one, since it checks the same limits first.
func (w *worker) key(req keyRequest) ([]byte, error) {
	ch := make(chan []byte, 1)
	w.mu.Lock()
	p, err := w.running()
	if err != nil {
		w.mu.Unlock()
		return nil, err
	}
	w.nextID++
	req.id = w.nextID
	p.pending[req.id] = ch
	p.buf = req.appendFrame(p.buf[:0])
	// A frame of a few hundred bytes fits the pipe's buffer, and the
	// worker reads without waiting for its computations, so the write
	// does not hold the lock for long.
	if _, err := p.stdin.Write(p.buf); err != nil {
		delete(p.pending, req.id)
		w.mu.Unlock()
		return nil, err
	}
	w.mu.Unlock()
	key, ok := <-ch
	if !ok {
		return nil, errWorkerGone
	}
	return key, nil
}

// running returns the worker process, starting it if none runs. It is
// called with w.mu held.
func (w *worker) running() (*workerProc, error) {
	if w.closed {
		return nil, errors.New("password: hasher closed")
	}
	if w.proc != nil {
		return w.proc, nil
	}
	if time.Now().Before(w.retryAt) {
		return nil, errWorkerGone
	}
	w.starts.mu.Lock()
	defer w.starts.mu.Unlock()
	if time.Now().Before(w.starts.notBefore) {
		return nil, errWorkerGone
	}
	cmd := w.command()
	stdin, err := cmd.StdinPipe()
	if err == nil {
		var stdout io.ReadCloser
		if stdout, err = cmd.StdoutPipe(); err == nil {
			if err = cmd.Start(); err == nil {
				p := &workerProc{cmd: cmd, stdin: stdin, pending: make(map[uint64]chan []byte)}
				w.proc = p
				w.readers.Go(func() { w.read(p, stdout) })
				return p, nil
			}
		}
	}
	w.retryAt = time.Now().Add(w.restartDelay)
	w.starts.notBefore = w.retryAt
	err = fmt.Errorf("password: starting the hashing worker: %w", err)
	w.onError(err)
	return nil, err
}

// read hands the answers of p to their callers until p's output ends, then
// releases the callers still waiting and reaps the process.
func (w *worker) read(p *workerProc, stdout io.Reader) {
	br := bufio.NewReader(stdout)
	var err error
	for {
		var body []byte
		if body, err = readFrame(br); err != nil {
			break
		}
		var id uint64
		var key []byte
		if id, key, err = parseAnswer(body); err != nil {
			break
		}
		w.mu.Lock()
		ch := p.pending[id]
		delete(p.pending, id)
		w.mu.Unlock()
		if ch != nil {
			ch <- key
		}
	}
	w.mu.Lock()
	closing := w.closed
	if w.proc == p {
		w.proc = nil
		if !closing {
			w.retryAt = time.Now().Add(w.restartDelay)
		}
	}
	for id, ch := range p.pending {
		close(ch)
		delete(p.pending, id)
	}
	w.mu.Unlock()
	p.stdin.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		// The answers are garbled: stop the process rather than read on.
		p.cmd.Process.Kill()
	}
	werr := p.cmd.Wait()
	if !closing {
		w.onError(fmt.Errorf("password: hashing worker exited (%v); hashing in process until it restarts", errors.Join(err, werr)))
	}
}

// close ends the worker: it closes the worker's input, so that the worker
// answers the requests in flight and exits, and waits for that.
func (w *worker) close() {
	w.mu.Lock()
	w.closed = true
	p := w.proc
	w.mu.Unlock()
	if p != nil {
		p.stdin.Close()
	}
	w.readers.Wait()
}
