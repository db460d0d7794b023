package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/restauth/restauth/internal/procstat"
)

// pprofOverlay is compiled into the restauth binary with go build -overlay
// when -profile is set, so that the server can be profiled under load
// without a profiling endpoint in the product: the file exists only in the
// harness's build. It serves net/http/pprof on a second loopback listener.
const pprofOverlay = `package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if os.Getenv("RESTAUTH_BENCH_PPROF") == "" {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(os.Stderr, "restauth-bench pprof=%s\n", ln.Addr())
	go http.Serve(ln, nil)
}
`

// buildRestauth builds ./cmd/restauth into dir and returns the binary's
// path. With profile set, the binary also serves pprof (see pprofOverlay).
func buildRestauth(ctx context.Context, dir string, profile bool) (string, error) {
	bin := filepath.Join(dir, "restauth")
	args := []string{"build", "-o", bin}
	if profile {
		pkgDir, err := filepath.Abs(filepath.Join("cmd", "restauth"))
		if err != nil {
			return "", err
		}
		src := filepath.Join(dir, "zz_bench_pprof.go")
		if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
			return "", err
		}
		overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(pkgDir, "zz_bench_pprof.go"): src}})
		ov := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ov, overlay, 0o644); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ov)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/restauth")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/restauth (run restauth-bench from the repository root): %w", err)
	}
	return bin, nil
}

// proc is a server process started by the harness, restauth or the
// baseline.
type proc struct {
	name    string
	cmd     *exec.Cmd
	addr    string
	pprof   string // Address of the pprof listener, when built with it.
	logPath string
	ready   time.Duration // From process start to the first 200 from the readiness probe.
	exited  chan struct{}
	waitErr error
}

var (
	listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)
	pprofRE  = regexp.MustCompile(`restauth-bench pprof=(\S+)`)
)

// startProc starts cmd with its output in logPath and polls probe until it
// answers 200. When the process was told to listen on port 0 (addr ends in
// ":0"), its address comes from its "msg=listening addr=..." log line.
// Polling a file every millisecond costs the harness nothing while load
// runs, unlike reading the server's log through a pipe.
func startProc(ctx context.Context, name string, cmd *exec.Cmd, logPath, probe, addr string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = cleanEnv(cmd.Env)
	p := &proc{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	if !strings.HasSuffix(addr, ":0") {
		p.addr = addr
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := start.Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited during startup (%v); log:\n%s", name, p.waitErr, p.logTail(2000))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		default:
		}
		if p.addr == "" || (cmd.Env != nil && p.pprof == "" && slices.Contains(cmd.Env, "RESTAUTH_BENCH_PPROF=1")) {
			if log, err := os.ReadFile(logPath); err == nil {
				if m := listenRE.FindSubmatch(log); m != nil && p.addr == "" {
					p.addr = string(m[1])
				}
				if m := pprofRE.FindSubmatch(log); m != nil {
					p.pprof = string(m[1])
				}
			}
		}
		if p.addr != "" {
			if res, err := client.Get("http://" + p.addr + probe); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					p.ready = time.Since(start)
					client.CloseIdleConnections()
					return p, nil
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s not ready after 30s; log:\n%s", name, p.logTail(2000))
}

// cleanEnv returns the harness's environment without RESTAUTH_ variables,
// so that a developer's settings cannot change what is measured, plus
// extra.
func cleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RESTAUTH_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// stop asks the process to shut down and kills it if it has not within
// 15 seconds.
func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// logTail returns the end of the process's log, for error messages.
func (p *proc) logTail(n int) string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// serverErrors counts ERROR lines in a restauth log.
func (p *proc) serverErrors() int {
	b, _ := os.ReadFile(p.logPath)
	return bytes.Count(b, []byte("level=ERROR"))
}

// memStatus reads the resident set size and its high-water mark, in bytes,
// from /proc.
func memStatus(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s: %w", name, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// treeMem is memStatus summed over a server and its direct children (the
// password-hashing workers restauth re-executes itself as): the RSS of the
// whole tree at this moment and the sum of each process's VmHWM. A child
// that cannot be read (it exited between the scan and the read) counts
// zero; only the server itself failing is an error.
//
// The sum of the high-water marks is an upper bound of the tree's peak:
// each process's peak may come at a different time. A child that exited
// before the reading takes its high-water mark with it.
func treeMem(pid int) (rss, hwm int64, err error) {
	rss, hwm, err = memStatus(pid)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range procstat.Children(pid) {
		if r, h, err := memStatus(c.PID); err == nil {
			rss += r
			hwm += h
		}
	}
	return rss, hwm, nil
}

// resetPeak resets the process's VmHWM to its current RSS (clear_refs 5),
// so that the next reading is the peak of one scenario.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// resetTreePeak resets the VmHWM of the server and of each of its direct
// children, and reports whether the kernel allowed it for all of them. A
// child that has exited meanwhile does not count against it. A child that
// starts later has a high-water mark only since its start, which is within
// the window.
func resetTreePeak(pid int) bool {
	if resetPeak(pid) != nil {
		return false
	}
	ok := true
	for _, c := range procstat.Children(pid) {
		if err := resetPeak(c.PID); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
			ok = false
		}
	}
	return ok
}

// rssSampler samples the RSS of a server and its direct children (see
// treeMem) every interval until stopped.
type rssSampler struct {
	stopc   chan struct{}
	done    chan struct{}
	samples []rssSample
}

type rssSample struct {
	at  time.Duration
	rss int64 // Summed over the server and its direct children.
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{}), done: make(chan struct{})}
	start := time.Now()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss, _, err := treeMem(pid); err == nil {
				s.samples = append(s.samples, rssSample{time.Since(start), rss})
			}
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() []rssSample {
	close(s.stopc)
	<-s.done
	return s.samples
}

// baselineBody returns a JSON body of exactly size bytes (at least 12),
// shaped like restauth's {"data":"Hello, name!"} answer, with the newline
// that json.Encoder writes.
func baselineBody(size int) []byte {
	return []byte(`{"data":"` + strings.Repeat("x", max(0, size-len(`{"data":""}`)-1)) + "\"}\n")
}

// baselineMain is the hidden "__baseline" subcommand: a bare net/http
// server answering every request with a JSON body of -size bytes. It runs
// as its own process, like restauth, so that both servers get the same
// treatment from the scheduler and neither shares a garbage collector with
// the load generator.
func baselineMain(args []string) error {
	size := 31
	if len(args) == 2 && args[0] == "-size" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 12 {
			return errors.New("-size must be a number of at least 12")
		}
		size = n
	}
	body := baselineBody(size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	logger.Info("listening", "addr", ln.Addr().String())
	// The same server settings as restauth's, so that only the handler
	// differs.
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cpuTicks are CPU times in clock ticks (USER_HZ, 100 per second on
// Linux), from /proc.
type cpuTicks struct {
	at          time.Time
	busy, total int64 // The whole machine: /proc/stat.
	// server holds utime+stime of the server and of each of its direct
	// children (its password-hashing workers), by process; nil when not read.
	server map[procKey]int64
	self   int64 // This process: the load generator.
}

// procKey names one process: a pid and its start time, so that a pid the
// kernel reuses for a new child within a window is not taken for the old
// one.
type procKey struct {
	pid   int
	start int64 // Clock ticks after boot.
}

// readCPU reads the machine's CPU times, those of server and its direct
// children, and those of self (utime+stime); a process that cannot be read
// counts zero (and, in the server's tree, is absent).
func readCPU(server, self int) cpuTicks {
	t := cpuTicks{at: time.Now(), server: map[procKey]int64{}}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			if i == 8 || i == 9 {
				continue // guest and guest_nice are already in user and nice.
			}
			t.total += n
			if i != 3 && i != 4 { // idle and iowait
				t.busy += n
			}
		}
	}
	if st, ok := procstat.Process(server); ok {
		t.server[procKey{st.PID, st.Start}] = st.Ticks
	}
	for _, c := range procstat.Children(server) {
		t.server[procKey{c.PID, c.Start}] = c.Ticks
	}
	if st, ok := procstat.Process(self); ok {
		t.self = st.Ticks
	}
	return t
}

// cpuShare is how many CPUs, on average over an interval, went to the
// server (with its hashing worker processes: its direct children), to the
// load generator (this process), and to everything else on the machine
// (other processes, including the idle server of the other side), from two
// readings of readCPU(server, self).
type cpuShare struct {
	Server  float64 `json:"server"`
	LoadGen float64 `json:"loadgen"`
	Other   float64 `json:"other"`
}

func shareOf(a, b cpuTicks) cpuShare {
	const hz = 100.0
	seconds := b.at.Sub(a.at).Seconds()
	if seconds <= 0 || a.server == nil || b.server == nil {
		return cpuShare{}
	}
	// Per process of the server's tree: one absent from the first reading
	// started inside the window, so all its time is the window's. One
	// present in the first reading but gone by the second (a hashing
	// worker that died or was restarted) is left out: its ticks since the
	// first reading are lost with it, and the share is that much low.
	var ticks int64
	for k, end := range b.server {
		ticks += end - a.server[k]
	}
	server := float64(ticks) / hz / seconds
	loadgen := float64(b.self-a.self) / hz / seconds
	busy := float64(b.busy-a.busy) / hz / seconds
	return cpuShare{Server: server, LoadGen: loadgen, Other: max(0, busy-server-loadgen)}
}
