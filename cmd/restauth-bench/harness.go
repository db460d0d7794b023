package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth/password"
)

// benchPassword is every seeded user's password. It is long enough for the
// policy and not on the common-password list.
const benchPassword = "restauth bench password 7Q"

// harness runs the scenarios and collects the report.
type harness struct {
	opts *options
	log  io.Writer

	dir      string
	bin      string // The restauth binary.
	hash     string // argon2id of benchPassword at the default parameters.
	bodySize int    // Bytes of GET /api/resource's answer.
	// credCache: the server has the verified-credential cache's flag.
	credCache bool
	baseline  *proc
	rep       *report
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "restauth-bench: "+format+"\n", args...)
}

// want reports whether the scenario was selected with -only.
func (h *harness) want(name string) bool {
	return h.opts.only == nil || h.opts.only.MatchString(name)
}

func (h *harness) run(ctx context.Context, args []string) (*report, error) {
	o := h.opts
	h.rep = newReport(commandLine(args), o)
	var err error
	if o.keep != "" {
		h.dir, err = filepath.Abs(o.keep)
		if err == nil {
			err = os.MkdirAll(h.dir, 0o700)
		}
	} else {
		h.dir, err = os.MkdirTemp("", "restauth-bench-")
		defer os.RemoveAll(h.dir)
	}
	if err != nil {
		return nil, err
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return nil, err
		}
	}

	if o.bin != "" {
		h.bin = o.bin
	} else {
		h.logf("building ./cmd/restauth")
		if h.bin, err = buildRestauth(ctx, h.dir, o.profile != ""); err != nil {
			return nil, err
		}
	}
	h.credCache = serverHas(ctx, h.bin, cacheFlag)
	if !h.credCache {
		h.logf("the server has no %s flag: basic-password runs without it and basic-password-cache is not run", cacheFlag)
	}
	if err := h.measureLimits(ctx); err != nil {
		return nil, err
	}

	stores := []seeder{sqliteSeeder{dir: h.dir}}
	if o.postgres != "" {
		pg := &pgSeeder{url: o.postgres, bin: h.bin, prefix: fmt.Sprintf("restauth_bench_%d_%d", os.Getpid(), time.Now().Unix())}
		defer pg.cleanup(context.WithoutCancel(ctx))
		stores = append(stores, pg)
	}
	defer func() {
		h.baseline.stop()
		h.rep.LoadAvgEnd = loadAvg()
		h.rep.finish()
	}()
	for _, s := range stores {
		if err := h.runStore(ctx, s); err != nil {
			return h.rep, err
		}
	}
	return h.rep, nil
}

// measureLimits times what bounds the password and write scenarios: one
// argon2id hash at the default parameters, measured in this process before
// any server runs, and one durable commit (write and fsync) in the work
// directory.
func (h *harness) measureLimits(ctx context.Context) error {
	hash, d, err := timeHash(ctx, 7)
	if err != nil {
		return err
	}
	h.hash = hash
	h.rep.HashMS = ms(d)
	h.rep.HashBoundRPS = hashBound(d)
	h.logf("argon2id hash at the default parameters: %.1f ms (median of 7); hash-bound limit %.1f/s on %d CPUs",
		h.rep.HashMS, h.rep.HashBoundRPS, runtime.NumCPU())

	f, err := os.CreateTemp(h.dir, "fsync-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	page := make([]byte, 4096)
	var samples []time.Duration
	for range 20 {
		start := time.Now()
		if _, err := f.WriteAt(page, 0); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		samples = append(samples, time.Since(start))
	}
	h.rep.CommitMS = ms(median(samples))
	h.logf("4 KiB write+fsync in %s: %.2f ms (median of %d)", h.dir, h.rep.CommitMS, len(samples))
	return nil
}

// timeHash hashes benchPassword at the default parameters n+1 times in this
// process, one at a time, and returns a hash and the median time of the
// last n (the first call warms up).
func timeHash(ctx context.Context, n int) (string, time.Duration, error) {
	hasher := password.New(password.Options{MaxConcurrent: 1})
	var hash string
	var samples []time.Duration
	for i := range n + 1 {
		start := time.Now()
		h, err := hasher.Hash(ctx, benchPassword)
		if err != nil {
			return "", 0, err
		}
		if i == 0 {
			hash = h
			continue
		}
		samples = append(samples, time.Since(start))
	}
	return hash, median(samples), nil
}

// hashBound is the most password requests per second the CPUs can serve
// when each costs one hash of duration d.
func hashBound(d time.Duration) float64 {
	return float64(runtime.NumCPU()) / d.Seconds()
}

// runStore runs every scenario on one kind of store.
func (h *harness) runStore(ctx context.Context, s seeder) error {
	o := h.opts
	db, err := h.seed(ctx, s, fmt.Sprintf("users-%d", o.users), o.users)
	if err != nil {
		return err
	}
	if err := h.startup(ctx, db); err != nil {
		return err
	}
	if h.baseline == nil {
		if err := h.startBaseline(ctx, db); err != nil {
			return err
		}
	}
	tokenScenarios := []struct {
		name  string
		basic bool
	}{{"token-bearer", false}, {"token-basic", true}}
	for _, sc := range tokenScenarios {
		if h.want(sc.name) {
			if err := h.tokenScenario(ctx, sc.name, db, sc.basic); err != nil {
				return err
			}
		}
	}
	if h.want("token-ratio") {
		if err := h.tokenRatioScenario(ctx, db, "token-ratio"); err != nil {
			return err
		}
	}
	if h.want("token-ratio-metrics") {
		maddr, err := freeAddr()
		if err != nil {
			return err
		}
		if err := h.tokenRatioScenario(ctx, db, "token-ratio-metrics", "--metrics-addr", maddr); err != nil {
			return err
		}
	}
	if h.want("api-key") {
		if err := h.apiKeyScenario(ctx, db); err != nil {
			return err
		}
	}
	if h.want("users-") {
		if err := h.usersScenario(ctx, s, db); err != nil {
			return err
		}
	}
	if h.want("basic-password-cache") {
		if err := h.basicCacheScenario(ctx, db); err != nil {
			return err
		}
	}
	if h.want("flood") {
		if err := h.floodScenario(ctx, db); err != nil {
			return err
		}
	}
	if h.want("basic-password") {
		if err := h.passwordScenario(ctx, "basic-password", db); err != nil {
			return err
		}
	}
	if h.want("login") {
		if err := h.passwordScenario(ctx, "login", db); err != nil {
			return err
		}
	}
	if h.want("login-timing") {
		if err := h.loginTimingScenario(ctx, db); err != nil {
			return err
		}
	}
	if h.want("refresh") {
		if err := h.refreshScenario(ctx, db); err != nil {
			return err
		}
	}
	// Registration runs last: it adds users to the main database.
	if h.want("register") {
		if err := h.passwordScenario(ctx, "register", db); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) seed(ctx context.Context, s seeder, name string, n int) (*database, error) {
	h.logf("seeding %d users (%s)", n, name)
	db, err := s.create(ctx, name, n, h.hash)
	if err != nil {
		return nil, err
	}
	h.rep.Seeds = append(h.rep.Seeds, seedResult{Store: db.kind, Users: n, Seconds: db.seed.Seconds()})
	h.logf("seeded %d users into %s in %.2fs", n, db.kind, db.seed.Seconds())
	return db, nil
}

// startRestauth starts restauth on db with the per-IP limits disabled: the
// load generator is one IP, which the default limits would throttle after
// 50 registrations. Everything else keeps its default.
func (h *harness) startRestauth(ctx context.Context, db *database, tag string, extra ...string) (*proc, error) {
	addr := "127.0.0.1:0"
	if slices.ContainsFunc(h.opts.serverFlags, func(f string) bool { return strings.Contains(f, "log-level") }) {
		// The listening line may be filtered out: choose the port here.
		var err error
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	args := []string{"serve", "--addr", addr, "--db", db.dsn, "--login-ip-limit", "0", "--register-ip-limit", "0"}
	// -server-flags come last, so that they win over the scenario's own.
	args = append(append(args, extra...), h.opts.serverFlags...)
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.opts.serverEnv
	if h.opts.profile != "" {
		cmd.Env = append(cmd.Env, "RESTAUTH_BENCH_PPROF=1")
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	p, err := startProc(ctx, "restauth", cmd, filepath.Join(h.dir, fmt.Sprintf("restauth-%s-%s.log", db.kind, tag)), "/readyz", addr)
	return p, err
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startup times restauth from process start until /readyz answers 200, on
// the existing database, and reads its RSS once idle (with its hashing
// worker process's, if one is running: see treeMem).
func (h *harness) startup(ctx context.Context, db *database) error {
	var times []time.Duration
	st := startupResult{Store: db.kind}
	for i := range h.opts.startupRuns {
		p, err := h.startRestauth(ctx, db, "startup")
		if err != nil {
			return err
		}
		times = append(times, p.ready)
		st.RunsMS = append(st.RunsMS, ms(p.ready))
		if i == h.opts.startupRuns-1 {
			// Idle: the periodic revocation sync and key reload still run.
			sleep(ctx, 2*time.Second)
			rss, _, err := treeMem(p.pid())
			if err != nil {
				p.stop()
				return err
			}
			st.IdleRSSMiB = mib(rss)
		}
		p.stop()
	}
	st.MedianMS = ms(median(times))
	h.rep.Startup = append(h.rep.Startup, st)
	h.logf("%s startup: median %.0f ms over %d starts; idle RSS %.1f MiB", db.kind, st.MedianMS, len(times), st.IdleRSSMiB)
	return nil
}

// startBaseline measures GET /api/resource's answer once, then starts the
// baseline with a body of that size: this program itself, as a separate
// process.
func (h *harness) startBaseline(ctx context.Context, db *database) error {
	p, err := h.startRestauth(ctx, db, "probe")
	if err != nil {
		return err
	}
	defer p.stop()
	toks, err := h.login(ctx, p.addr, []int{1})
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr+"/api/resource", nil)
	req.Header.Set("Authorization", "Bearer "+toks[0].access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("GET /api/resource: status %d, want 200", res.StatusCode)
	}
	h.bodySize = len(body)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "__baseline", "-size", strconv.Itoa(h.bodySize))
	h.baseline, err = startProc(ctx, "baseline", cmd, filepath.Join(h.dir, "baseline.log"), "/", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.logf("baseline: bare net/http on %s answering %d bytes, as GET /api/resource does", h.baseline.addr, h.bodySize)
	return nil
}

// pair is the tokens of one login.
type pair struct{ access, refresh string }

// login logs the given seeded users in (POST /api/tokens) and returns
// their tokens. It runs before measuring, at the hash rate.
func (h *harness) login(ctx context.Context, addr string, users []int) ([]pair, error) {
	out := make([]pair, len(users))
	client := &http.Client{Timeout: h.opts.timeout}
	defer client.CloseIdleConnections()
	for i, u := range users {
		for attempt := 0; ; attempt++ {
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/tokens", nil)
			req.SetBasicAuth(username(u), benchPassword)
			res, err := client.Do(req)
			if err != nil {
				return nil, err
			}
			var body struct {
				Access  string `json:"access_token"`
				Refresh string `json:"refresh_token"`
			}
			err = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable && attempt < 5 {
				sleep(ctx, time.Second)
				continue
			}
			if res.StatusCode != 200 || err != nil || body.Access == "" {
				return nil, fmt.Errorf("login %s: status %d (%v)", username(u), res.StatusCode, err)
			}
			out[i] = pair{body.Access, body.Refresh}
			break
		}
	}
	return out, nil
}

// startLoggedIn starts restauth for a scenario and logs in one user per
// connection, spread over the database; the caller stops the server.
func (h *harness) startLoggedIn(ctx context.Context, db *database, name string, extra ...string) (*proc, []pair, error) {
	p, err := h.startRestauth(ctx, db, name, extra...)
	if err != nil {
		return nil, nil, err
	}
	toks, err := h.login(ctx, p.addr, spread(h.opts.conns, db.users))
	if err != nil {
		p.stop()
		return nil, nil, err
	}
	return p, toks, nil
}

// vsBaseline drives the baseline with jobs and then p with the same jobs,
// and records p's result compared with the baseline's.
func (h *harness) vsBaseline(ctx context.Context, p *proc, db *database, name string, jobs []job) {
	base := h.runBaseline(ctx, name, jobs)
	g := h.newGroup(name, p.addr, jobs)
	m := h.measure(ctx, p, db.kind+"-"+name, h.opts.warmup, h.opts.duration, g)
	r := newResult(name, db.kind, db.users, g, m, h.opts.warmup)
	r.compare(base)
	r.ServerErrorLogs = p.serverErrors()
	h.add(r)
}

// spread picks n users evenly over 1..total, so that a large database is
// read across its whole range.
func spread(n, total int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1 + i*total/n
	}
	return out
}

// tokenJobs makes one GET /api/resource job per connection, each with its
// own user's token.
func tokenJobs(addr string, toks []pair, basic bool) []job {
	jobs := make([]job, len(toks))
	for i, t := range toks {
		auth := "Bearer " + t.access
		if basic {
			// REST-auth style: the token as the username, any password.
			auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(t.access+":unused"))
		}
		jobs[i] = &statusJob{req: getRequest(addr, "/api/resource", auth), want: 200}
	}
	return jobs
}

// measurement is what one drive of a server records besides the groups.
type measurement struct {
	peak    int64
	samples []rssSample
	cpu     cpuShare
}

// measure drives groups against p, recording the peak RSS over the
// scenario and the RSS every 200ms of p with its direct children (restauth's
// password-hashing worker processes), and, with -profile, a CPU profile of the
// measured window.
func (h *harness) measure(ctx context.Context, p *proc, name string, warmup, duration time.Duration, groups ...*group) measurement {
	return h.measureProfiled(ctx, p, name, warmup, duration, h.opts.profile != "", groups...)
}

// measureProfiled is measure with the profile asked for or not.
func (h *harness) measureProfiled(ctx context.Context, p *proc, name string, warmup, duration time.Duration, profile bool, groups ...*group) measurement {
	reset := resetTreePeak(p.pid())
	sampler := sampleRSS(p.pid(), 200*time.Millisecond)
	var profDone chan struct{}
	if profile && p.pprof != "" {
		profDone = make(chan struct{})
		go func() {
			defer close(profDone)
			sleep(ctx, warmup)
			h.profile(ctx, p, name, duration)
		}()
	}
	// CPU use is read over the measured window only.
	cpuStart := make(chan cpuTicks, 1)
	cpuTimer := time.AfterFunc(warmup, func() { cpuStart <- readCPU(p.pid(), os.Getpid()) })
	// The end reading comes when the window closes, not when the last
	// slow request returns.
	cpuEnd := make(chan cpuTicks, 1)
	endTimer := time.AfterFunc(warmup+duration, func() { cpuEnd <- readCPU(p.pid(), os.Getpid()) })
	drive(ctx, warmup, duration, groups...)
	if profDone != nil {
		<-profDone
	}
	m := measurement{samples: sampler.stop()}
	// Both readings are due by now, though a timer may not have run yet:
	// wait for them rather than stop them.
	var a, b cpuTicks
	select {
	case a = <-cpuStart:
		select {
		case b = <-cpuEnd:
			m.cpu = shareOf(a, b)
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
	cpuTimer.Stop()
	endTimer.Stop()
	// The peak is the larger of the largest sampled sum and the sum of
	// each process's VmHWM (reset above). The latter is an upper bound:
	// the server's and the worker's peaks may come at different times. It
	// misses a worker that exited before this reading; the samples do not.
	for _, s := range m.samples {
		m.peak = max(m.peak, s.rss)
	}
	if _, hwm, err := treeMem(p.pid()); err == nil && reset {
		m.peak = max(m.peak, hwm)
	}
	return m
}

// profile saves a CPU profile of the server.
func (h *harness) profile(ctx context.Context, p *proc, name string, d time.Duration) {
	secs := max(1, int(d.Seconds()))
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, secs)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		h.logf("profile %s: %v", name, err)
		return
	}
	defer res.Body.Close()
	path := filepath.Join(h.opts.profile, name+".pprof")
	f, err := os.Create(path)
	if err == nil {
		_, err = io.Copy(f, res.Body)
		err = errorsJoin(err, f.Close())
	}
	if err != nil {
		h.logf("profile %s: %v", name, err)
		return
	}
	h.logf("wrote %s", path)
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// newGroup makes a group of jobs against addr.
func (h *harness) newGroup(name, addr string, jobs []job) *group {
	return &group{name: name, addr: addr, jobs: jobs, timeout: h.opts.timeout}
}

// runBaseline drives the baseline with the same requests, right before the
// scenario it is compared with, so that both see the same machine load.
func (h *harness) runBaseline(ctx context.Context, name string, jobs []job) *result {
	g := h.newGroup("baseline", h.baseline.addr, jobs)
	m := h.measure(ctx, h.baseline, "baseline-"+name, h.opts.warmup, h.opts.duration, g)
	r := newResult("baseline ("+name+")", "-", 0, g, m, h.opts.warmup)
	h.add(r)
	return r
}

// notRun records a scenario that could not run, with why.
func (h *harness) notRun(name, why string) {
	h.rep.NotRun = append(h.rep.NotRun, name+": "+why)
	h.logf("%s not run: %s", name, why)
}

// add records a result and logs it.
func (h *harness) add(r *result) {
	h.rep.Results = append(h.rep.Results, r)
	h.logf("%-28s %-8s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d  peak RSS %.1f MiB",
		r.Scenario, r.Store, r.RPS, r.P50MS, r.P99MS, r.Errors, r.PeakRSSMiB)
	if r.FirstError != "" {
		h.logf("  first error: %s", r.FirstError)
	}
}

func (h *harness) tokenScenario(ctx context.Context, name string, db *database, basic bool) error {
	p, toks, err := h.startLoggedIn(ctx, db, name)
	if err != nil {
		return err
	}
	defer p.stop()
	jobs := tokenJobs(p.addr, toks, basic)
	h.vsBaseline(ctx, p, db, name, jobs)
	return nil
}

// usersScenario runs token traffic on the main database and on one with
// -big-users users, back to back, each beside its own baseline run.
func (h *harness) usersScenario(ctx context.Context, s seeder, small *database) error {
	dbs := []*database{small}
	if h.opts.bigUsers > 0 {
		big, err := h.seed(ctx, s, fmt.Sprintf("users-%d", h.opts.bigUsers), h.opts.bigUsers)
		if err != nil {
			return err
		}
		if big.kind == "sqlite" {
			defer os.Remove(big.dsn)
			defer os.Remove(big.dsn + "-wal")
			defer os.Remove(big.dsn + "-shm")
		}
		dbs = append(dbs, big)
	}
	for _, db := range dbs {
		name := "users-" + countName(db.users)
		if err := h.tokenScenario(ctx, name, db, false); err != nil {
			return err
		}
	}
	return nil
}

// floodScenario measures token traffic alone, then the same traffic while
// -flood connections send logins as fast as they are answered (a 503
// "overloaded" answer from the hashing gate is expected, counted as shed,
// and immediately followed by the next login).
func (h *harness) floodScenario(ctx context.Context, db *database) error {
	limit := h.physicalLimit(ctx, "before flood")
	p, toks, err := h.startLoggedIn(ctx, db, "flood")
	if err != nil {
		return err
	}
	defer p.stop()
	quiet := h.newGroup("flood-quiet", p.addr, tokenJobs(p.addr, toks, false))
	m := h.measure(ctx, p, db.kind+"-flood-quiet", h.opts.warmup, h.opts.duration, quiet)
	rq := newResult("flood: tokens, no flood", db.kind, db.users, quiet, m, h.opts.warmup)
	h.add(rq)

	tokens := h.newGroup("flood-tokens", p.addr, tokenJobs(p.addr, toks, false))
	logins := make([]job, h.opts.flood)
	for i := range logins {
		u := username(1 + i%db.users)
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+benchPassword))
		logins[i] = &statusJob{req: loginRequest(p.addr, auth), want: 200, allowShed: true}
	}
	flood := h.newGroup("flood-logins", p.addr, logins)
	m = h.measure(ctx, p, db.kind+"-flood", h.opts.warmup, h.opts.duration, tokens, flood)
	rt := newResult("flood: tokens, during flood", db.kind, db.users, tokens, m, h.opts.warmup)
	rt.compare(rq)
	rt.FloodP99Ratio = rt.P99MS / rq.P99MS
	rt.ServerErrorLogs = p.serverErrors()
	h.add(rt)
	rl := newResult(fmt.Sprintf("flood: %d logins", h.opts.flood), db.kind, db.users, flood, m, h.opts.warmup)
	rl.setLimit(limit, h.physicalLimit(ctx, "after flood"))
	h.add(rl)
	return nil
}

// passwordScenario runs one of the scenarios that hash a password per
// request: Basic username:password on GET /api/resource (with the
// credential cache off), login, or registration. They are bound by the
// argon2id cost, so they are compared with the physical limit measured
// right before: the server's number of hashing goroutines computing
// argon2id and nothing else. A 503
// "overloaded" answer is the hashing gate shedding load past its queue
// deadline: counted as shed, not as an error, except in -smoke runs.
func (h *harness) passwordScenario(ctx context.Context, name string, db *database) error {
	limit := h.physicalLimit(ctx, "before "+name)
	var extra []string
	if h.credCache {
		// The hash path: every request verifies its password.
		extra = []string{cacheFlag, "0"}
	}
	p, err := h.startRestauth(ctx, db, name, extra...)
	if err != nil {
		return err
	}
	defer p.stop()
	jobs := make([]job, h.opts.conns)
	prefix := fmt.Sprintf("reg%s-", strconv.FormatUint(rand.Uint64()%(36*36*36*36), 36))
	for i, u := range spread(h.opts.conns, db.users) {
		auth := basicAuth(u)
		switch name {
		case "basic-password":
			jobs[i] = &statusJob{req: getRequest(p.addr, "/api/resource", auth), want: 200, allowShed: true}
		case "login":
			jobs[i] = &statusJob{req: loginRequest(p.addr, auth), want: 200, allowShed: true}
		case "register":
			jobs[i] = &registerJob{host: p.addr, prefix: fmt.Sprintf("%s%d-", prefix, i), password: benchPassword}
		}
	}
	g := h.newGroup(name, p.addr, jobs)
	m := h.measure(ctx, p, db.kind+"-"+name, h.opts.warmup, h.opts.passwordDuration, g)
	r := newResult(name, db.kind, db.users, g, m, h.opts.warmup)
	r.setLimit(limit, h.physicalLimit(ctx, "after "+name))
	h.pairedLimitRounds(ctx, r, p, name, jobs)
	r.ServerErrorLogs = p.serverErrors()
	h.add(r)
	return nil
}

// refreshScenario rotates refresh tokens: each connection chains its own
// session's tokens. Every rotation is one durable write through the
// store's single writer, so no hash bounds it; docs/benchmarks.md compares
// it with the commit time measured at the start.
func (h *harness) refreshScenario(ctx context.Context, db *database) error {
	p, toks, err := h.startLoggedIn(ctx, db, "refresh")
	if err != nil {
		return err
	}
	defer p.stop()
	jobs := make([]job, len(toks))
	for i, t := range toks {
		jobs[i] = &refreshJob{host: p.addr, token: t.refresh}
	}
	g := h.newGroup("refresh", p.addr, jobs)
	m := h.measure(ctx, p, db.kind+"-refresh", h.opts.warmup, h.opts.duration, g)
	r := newResult("refresh", db.kind, db.users, g, m, h.opts.warmup)
	r.ServerErrorLogs = p.serverErrors()
	h.add(r)
	return nil
}

func countName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
