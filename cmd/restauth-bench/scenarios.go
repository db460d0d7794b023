package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restauth/restauth/password"
	"golang.org/x/crypto/argon2"
)

// cacheFlag is the server flag of the verified-credential cache.
const cacheFlag = "--credential-cache-ttl"

// serverHas reports whether the restauth binary's serve command knows a
// flag, so that the harness can benchmark a binary from before the flag
// existed.
func serverHas(ctx context.Context, bin, flag string) bool {
	out, _ := exec.CommandContext(ctx, bin, "serve", "-h").CombinedOutput()
	return strings.Contains(string(out), strings.TrimLeft(flag, "-"))
}

// hashSettings are the argon2id parameters and the hashing concurrency the
// server runs with: its defaults, or what -server-flags sets.
func hashSettings(serverFlags []string) (password.Params, int) {
	p := password.DefaultParams
	n := runtime.NumCPU()
	for i := 0; i < len(serverFlags); i++ {
		name, value, ok := strings.Cut(strings.TrimLeft(serverFlags[i], "-"), "=")
		if !ok && i+1 < len(serverFlags) {
			value = serverFlags[i+1]
		}
		v, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			continue
		}
		switch name {
		case "argon2-memory":
			p.Memory = uint32(v)
		case "argon2-time":
			p.Time = uint32(v)
		case "argon2-threads":
			p.Threads = uint8(v)
		case "hash-concurrency":
			n = int(v)
		}
	}
	return p, max(1, n)
}

// argonLimit measures the physical limit of the password scenarios: n
// goroutines computing argon2id at p and nothing else, for about d, in
// this process while no load runs. It is not CPUs divided by one hash's
// time: hashes running at once contend for memory bandwidth and caches.
// It returns hashes per second.
func argonLimit(ctx context.Context, n int, p password.Params, d time.Duration) float64 {
	var count atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			salt := make([]byte, p.SaltLen)
			salt[0] = byte(i)
			pw := []byte(benchPassword)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				count.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}

// physicalLimit measures argonLimit with the server's settings right before
// a password scenario or right after it.
func (h *harness) physicalLimit(ctx context.Context, when string) float64 {
	p, n := hashSettings(h.opts.serverFlags)
	d := min(5*time.Second, max(2*time.Second, h.opts.passwordDuration/10))
	if h.opts.smoke {
		d = time.Second
	}
	rate := argonLimit(ctx, n, p, d)
	h.logf("physical limit %s: %d goroutines of argon2id (m=%d, t=%d, p=%d) alone: %.1f hashes/s",
		when, n, p.Memory, p.Time, p.Threads, rate)
	return rate
}

// pairedLimitRounds measures a password scenario's ratio to the physical
// limit in alternating rounds on the running server: the limit for
// -ratio-duration, then the scenario for twice that after a warm-up (the
// other way round in odd rounds), -ratio-rounds times. A shared machine's
// load changes within seconds; a ratio of two readings a few seconds apart,
// and the median of several, is what such a machine allows. The median
// replaces r's ratio to the before-and-after mean.
func (h *harness) pairedLimitRounds(ctx context.Context, r *result, p *proc, name string, jobs []job) {
	params, n := hashSettings(h.opts.serverFlags)
	seg := 2 * h.opts.ratioDuration
	for round := range h.opts.ratioRounds {
		var limit float64
		g := h.newGroup(name, p.addr, jobs)
		steps := []func(){
			func() { limit = argonLimit(ctx, n, params, h.opts.ratioDuration) },
			func() { drive(ctx, h.opts.warmup, seg, g) },
		}
		if round%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, step := range steps {
			step()
		}
		r.Errors += g.errs
		if r.FirstError == "" {
			r.FirstError = g.firstErr
		}
		if limit > 0 {
			r.LimitRatios = append(r.LimitRatios, g.rps()/limit)
		}
		h.logf("%s paired round %d: %.1f req/s, limit %.1f hashes/s, ratio %.2f", name, round+1, g.rps(), limit, g.rps()/max(limit, 0.001))
	}
	if len(r.LimitRatios) > 0 {
		r.VsLimit = medianFloat(r.LimitRatios)
	}
}

// basicAuth is the Authorization value of a seeded user with the bench
// password.
func basicAuth(u int) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(username(u)+":"+benchPassword))
}

// basicCacheScenario serves GET /api/resource with Basic username:password
// on every request, as REST-auth clients do, with the verified-credential
// cache on: after one hash per user, requests are answered from the cache.
// It is compared with the bare baseline, like the token scenarios.
func (h *harness) basicCacheScenario(ctx context.Context, db *database) error {
	const name = "basic-password-cache"
	if !h.credCache {
		h.notRun(name, "the server has no "+cacheFlag+" flag")
		return nil
	}
	p, err := h.startRestauth(ctx, db, name, cacheFlag, "60s")
	if err != nil {
		return err
	}
	defer p.stop()
	users := spread(h.opts.conns, db.users)
	jobs := make([]job, len(users))
	for i, u := range users {
		jobs[i] = &statusJob{req: getRequest(p.addr, "/api/resource", basicAuth(u)), want: 200}
	}
	// Warm the cache: one verification per user, one at a time.
	client := &http.Client{Timeout: h.opts.timeout}
	for _, u := range users {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr+"/api/resource", nil)
		req.Header.Set("Authorization", basicAuth(u))
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("warming the credential cache: %s: status %d", username(u), res.StatusCode)
		}
	}
	client.CloseIdleConnections()
	h.vsBaseline(ctx, p, db, name, jobs)
	return nil
}

// tokenRatioScenario measures the token path's ratio to the bare baseline
// the way wrk -t2 -c32 -d3s would, in alternating rounds (baseline first in
// even rounds, restauth first in odd ones, so that drift in the machine's
// load falls on both alike), and reports the median of the rounds' ratios.
// extra are server flags: the token-ratio-metrics run turns the metrics
// listener on, so that the report shows the token path's ratio with metrics
// off and on side by side.
func (h *harness) tokenRatioScenario(ctx context.Context, db *database, name string, extra ...string) error {
	p, toks, err := h.startLoggedIn(ctx, db, name, extra...)
	if err != nil {
		return err
	}
	defer p.stop()
	h.alternatingRounds(ctx, p, db, name, tokenJobs(p.addr, toks, false))
	return nil
}

// alternatingRounds drives jobs against the bare baseline and against
// restauth in -ratio-rounds alternating rounds (baseline first in even
// rounds, restauth first in odd ones) and adds the median of the per-round
// ratios as "NAME (median of N)". Alternation is what makes the ratio hold
// on a shared machine: both sides of a round see the same load.
func (h *harness) alternatingRounds(ctx context.Context, p *proc, db *database, name string, jobs []job) {
	warm := min(h.opts.warmup, 500*time.Millisecond)
	var ratios, rps, baseRPS []float64
	var all []*group
	for round := range h.opts.ratioRounds {
		gb := h.newGroup("baseline", h.baseline.addr, jobs)
		gr := h.newGroup(name, p.addr, jobs)
		order := []*group{gb, gr}
		if round%2 == 1 {
			order = []*group{gr, gb}
		}
		for _, g := range order {
			target, prof := p, h.opts.profile != "" && round == 0
			if g == gb {
				target, prof = h.baseline, false
			}
			m := h.measureProfiled(ctx, target, name, warm, h.opts.ratioDuration, prof, g)
			if rps := g.rps(); rps > 0 {
				h.logf("%s round %d %s: server %.1f µs CPU per request, load generator %.1f µs, machine idle %.0f%%", name, round+1, g.name,
					m.cpu.Server/rps*1e6, m.cpu.LoadGen/rps*1e6, 100*(1-(m.cpu.Server+m.cpu.LoadGen+m.cpu.Other)/float64(runtime.NumCPU())))
			}
		}
		all = append(all, gb, gr)
		rps, baseRPS = append(rps, gr.rps()), append(baseRPS, gb.rps())
		if gb.rps() > 0 {
			ratios = append(ratios, gr.rps()/gb.rps())
		}
		h.logf("%s round %d: restauth %.0f req/s, baseline %.0f req/s, ratio %.2f", name, round+1, gr.rps(), gb.rps(), gr.rps()/max(gb.rps(), 1))
	}
	last := all[len(all)-1]
	if last.name != name {
		last = all[len(all)-2]
	}
	r := newResult(fmt.Sprintf("%s (median of %d)", name, len(ratios)), db.kind, db.users, last, measurement{}, warm)
	r.RPS, r.BaselineRPS = medianFloat(rps), medianFloat(baseRPS)
	r.VsBaseline = medianFloat(ratios)
	r.Ratios = ratios
	r.Errors, r.FirstError = 0, ""
	for _, g := range all {
		r.Errors += g.errs
		if r.FirstError == "" {
			r.FirstError = g.firstErr
		}
	}
	r.ServerErrorLogs = p.serverErrors()
	h.add(r)
}

// loginTimingScenario times failed logins of three kinds, one at a time in
// rotating order: an unknown user, a wrong password and an empty password.
// Each must cost one argon2id verification, so that timing does not reveal
// which accounts exist; httpapi's tests check that by counting, and this
// is the wall-clock figure. Every attempt names a different account, so
// that no account reaches its tarpit.
func (h *harness) loginTimingScenario(ctx context.Context, db *database) error {
	const name = "login-timing"
	p, err := h.startRestauth(ctx, db, name)
	if err != nil {
		return err
	}
	defer p.stop()
	kinds := []string{"unknown user", "wrong password", "empty password"}
	rounds := min(h.opts.timingRounds, db.users/2-1)
	lat := make([][]time.Duration, len(kinds))
	c := &conn{addr: p.addr, timeout: h.opts.timeout}
	defer c.close()
	for i := range rounds + 1 {
		for j := range kinds {
			k := (i + j) % len(kinds)
			var user, pw string
			switch k {
			case 0:
				user, pw = fmt.Sprintf("nobody-%07d", i), benchPassword
			case 1:
				user, pw = username(db.users-i), "wrong "+benchPassword
			case 2:
				user, pw = username(db.users/2-i), ""
			}
			req := loginRequest(p.addr, "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
			start := time.Now()
			err := c.roundTrip(req)
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("login-timing %s: %v", kinds[k], err)
			}
			if c.res.status != 401 {
				return fmt.Errorf("login-timing %s: status %d %s, want 401", kinds[k], c.res.status, c.res.body)
			}
			if i > 0 { // The first round warms up (the dummy hash, the connection).
				lat[k] = append(lat[k], d)
			}
		}
	}
	t := &loginTiming{Store: db.kind, Rounds: rounds, MedianMS: map[string]float64{}}
	lo, hi := time.Duration(0), time.Duration(0)
	for k, name := range kinds {
		m := median(lat[k])
		t.MedianMS[name] = ms(m)
		if lo == 0 || m < lo {
			lo = m
		}
		hi = max(hi, m)
	}
	if lo > 0 {
		t.Ratio = float64(hi) / float64(lo)
	}
	h.rep.LoginTiming = append(h.rep.LoginTiming, t)
	h.logf("login timing (%s, median of %d each): %v; largest/smallest %.2f", db.kind, rounds, t.MedianMS, t.Ratio)
	return nil
}

// loginTiming is the login-timing scenario's figure.
type loginTiming struct {
	Store    string             `json:"store"`
	Rounds   int                `json:"rounds"`
	MedianMS map[string]float64 `json:"median_ms"`
	Ratio    float64            `json:"ratio"` // Largest median over smallest.
}

func medianFloat(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
