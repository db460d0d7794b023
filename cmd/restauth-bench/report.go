package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run measured; -json prints it as is.
type report struct {
	Date         string   `json:"date"`
	Command      string   `json:"command"`
	Machine      machine  `json:"machine"`
	Settings     settings `json:"settings"`
	LoadAvg      string   `json:"loadavg_start"` // 1, 5 and 15 minutes, from /proc/loadavg.
	LoadAvgEnd   string   `json:"loadavg_end"`
	HashMS       float64  `json:"hash_ms"`        // One argon2id hash at the default parameters.
	HashBoundRPS float64  `json:"hash_bound_rps"` // CPUs / hash time.
	CommitMS     float64  `json:"commit_ms"`      // One 4 KiB write + fsync.

	Startup     []startupResult `json:"startup"`
	LoginTiming []*loginTiming  `json:"login_timing,omitempty"`
	// NotRun lists scenarios that could not run, with why.
	NotRun  []string     `json:"not_run,omitempty"`
	Seeds   []seedResult `json:"seeds"`
	Results []*result    `json:"results"`
	Targets []target     `json:"targets"`
	Errors  uint64       `json:"errors"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"model"`
	GoVersion string `json:"go"`
	OS        string `json:"os"`
}

type settings struct {
	Conns            int     `json:"conns"`
	DurationS        float64 `json:"duration_s"`
	WarmupS          float64 `json:"warmup_s"`
	PasswordDuration float64 `json:"password_duration_s"`
	Flood            int     `json:"flood"`
	Users            int     `json:"users"`
	BigUsers         int     `json:"big_users"`
	Smoke            bool    `json:"smoke"`
}

type startupResult struct {
	Store      string    `json:"store"`
	RunsMS     []float64 `json:"runs_ms"`
	MedianMS   float64   `json:"median_ms"`
	IdleRSSMiB float64   `json:"idle_rss_mib"`
}

type seedResult struct {
	Store   string  `json:"store"`
	Users   int     `json:"users"`
	Seconds float64 `json:"seconds"`
}

// result is one measured load on one server.
type result struct {
	Scenario string  `json:"scenario"`
	Store    string  `json:"store"`
	Users    int     `json:"users,omitempty"`
	Conns    int     `json:"conns"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	P999MS   float64 `json:"p999_ms"`
	MeanMS   float64 `json:"mean_ms"`
	OK       uint64  `json:"ok"`
	Shed     uint64  `json:"shed"` // 503 "overloaded": the hashing gate refusing work.
	Errors   uint64  `json:"errors"`
	// Statuses counts unexpected answers by status.
	Statuses   map[int]uint64 `json:"statuses,omitempty"`
	FirstError string         `json:"first_error,omitempty"`

	// PeakRSSMiB and the RSS figures are of the server with its hashing
	// worker process (its direct children): the peak is the larger of the
	// sum of each process's VmHWM, an upper bound since their peaks may
	// come at different times, and the largest sampled sum.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// RSS over the measured window: first and last sample, and the largest
	// sample of each half, whose comparison tells growth from GC noise.
	RSSStartMiB     float64 `json:"rss_start_mib"`
	RSSEndMiB       float64 `json:"rss_end_mib"`
	RSSFirstHalfMiB float64 `json:"rss_first_half_max_mib"`
	RSSLastHalfMiB  float64 `json:"rss_last_half_max_mib"`

	BaselineRPS float64 `json:"baseline_rps,omitempty"`
	// Ratios are the per-round ratios of an alternating-rounds result
	// (token-ratio, api-key); VsBaseline is their median.
	Ratios     []float64 `json:"ratios,omitempty"`
	VsBaseline float64   `json:"vs_baseline,omitempty"`
	LimitRPS   float64   `json:"limit_rps,omitempty"` // The physical limit: argon2id alone, the mean of LimitBeforeAfter.
	// LimitBeforeAfter is the physical limit measured right before and
	// right after the scenario: on a shared machine they differ, and their
	// spread says how far the ratio can be trusted.
	LimitBeforeAfter []float64 `json:"limit_before_after,omitempty"`
	// LimitRatios are the password scenarios' ratios to the physical limit
	// in paired rounds; VsLimit is their median when there are any.
	LimitRatios   []float64 `json:"limit_ratios,omitempty"`
	VsLimit       float64   `json:"vs_limit,omitempty"`
	FloodP99Ratio float64   `json:"flood_p99_ratio,omitempty"`

	ServerErrorLogs int `json:"server_error_logs"`
	// CPU says where the machine's CPUs went during the measured window.
	CPU cpuShare `json:"cpu"`
}

// target is one of the speed targets, checked against the figures.
type target struct {
	Store string `json:"store"`
	Name  string `json:"name"`
	Want  string `json:"want"`
	Got   string `json:"got"`
	Met   bool   `json:"met"`
}

func newReport(cmd string, o *options) *report {
	return &report{
		Date:    time.Now().UTC().Format(time.RFC3339),
		Command: cmd,
		Machine: machine{CPUs: runtime.NumCPU(), Model: cpuModel(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Settings: settings{
			Conns: o.conns, DurationS: o.duration.Seconds(), WarmupS: o.warmup.Seconds(),
			PasswordDuration: o.passwordDuration.Seconds(), Flood: o.flood,
			Users: o.users, BigUsers: o.bigUsers, Smoke: o.smoke,
		},
		LoadAvg: loadAvg(),
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// newResult summarises a group after drive, with the server's memory over
// the scenario (samples before warmup are left out of the growth figures).
func newResult(name, store string, users int, g *group, m measurement, warmup time.Duration) *result {
	r := &result{
		Scenario: name, Store: store, Users: users, Conns: len(g.jobs),
		Seconds: g.window.Seconds(), RPS: g.rps(),
		P50MS: ms(g.hist.quantile(0.50)), P99MS: ms(g.hist.quantile(0.99)), P999MS: ms(g.hist.quantile(0.999)),
		MeanMS: ms(g.hist.mean()),
		OK:     g.ok, Shed: g.shed, Errors: g.errs, FirstError: g.firstErr,
		PeakRSSMiB: mib(m.peak), CPU: m.cpu,
	}
	if len(g.statuses) > 0 {
		r.Statuses = g.statuses
	}
	var window []rssSample
	for _, s := range m.samples {
		if s.at >= warmup {
			window = append(window, s)
		}
	}
	if len(window) > 0 {
		r.RSSStartMiB, r.RSSEndMiB = mib(window[0].rss), mib(window[len(window)-1].rss)
		half := len(window) / 2
		for i, s := range window {
			if i < half || len(window) == 1 {
				r.RSSFirstHalfMiB = max(r.RSSFirstHalfMiB, mib(s.rss))
			}
			if i >= half {
				r.RSSLastHalfMiB = max(r.RSSLastHalfMiB, mib(s.rss))
			}
		}
	}
	return r
}

// setLimit records the physical limit measured before and after the
// scenario, and the scenario's ratio to their mean.
func (r *result) setLimit(before, after float64) {
	r.LimitBeforeAfter = []float64{before, after}
	r.LimitRPS = (before + after) / 2
	if r.LimitRPS > 0 {
		r.VsLimit = r.RPS / r.LimitRPS
	}
}

// compare records the ratio to a baseline measured beside it.
func (r *result) compare(base *result) {
	r.BaselineRPS = base.RPS
	if base.RPS > 0 {
		r.VsBaseline = r.RPS / base.RPS
	}
}

// grew reports whether memory rose over the measured window beyond the
// noise of garbage collection: the last half's peak more than 5% (and
// 4 MiB) above the first half's.
func (r *result) grew() bool {
	return r.RSSLastHalfMiB > r.RSSFirstHalfMiB*1.05 && r.RSSLastHalfMiB-r.RSSFirstHalfMiB > 4
}

func (rep *report) find(store, scenario string) *result {
	for _, r := range rep.Results {
		if r.Store == store && r.Scenario == scenario {
			return r
		}
	}
	return nil
}

// findPrefix returns the first result of store whose scenario starts
// with prefix: ratio scenarios carry their round count in the name.
func (rep *report) findPrefix(store, prefix string) *result {
	for _, r := range rep.Results {
		if r.Store == store && strings.HasPrefix(r.Scenario, prefix) {
			return r
		}
	}
	return nil
}

// finish totals the errors and checks the targets against whatever was
// measured.
func (rep *report) finish() {
	rep.Errors = 0
	for _, r := range rep.Results {
		rep.Errors += r.Errors + uint64(r.ServerErrorLogs)
		// At the smoke run's light load, any shedding outside the flood
		// means the gate misbehaves.
		if rep.Settings.Smoke && !strings.HasPrefix(r.Scenario, "flood") {
			rep.Errors += r.Shed
		}
	}
	rep.Targets = nil
	stores := []string{}
	for _, s := range rep.Startup {
		stores = append(stores, s.Store)
	}
	for _, store := range stores {
		for _, sc := range []string{"token-bearer", "token-basic"} {
			if r := rep.find(store, sc); r != nil {
				rep.target(store, sc+" vs bare baseline", "≥ 85%", pct(r.VsBaseline), r.VsBaseline >= 0.85)
			}
		}
		for _, r := range rep.Results {
			if r.Store == store && strings.HasPrefix(r.Scenario, "token-ratio (") {
				rep.target(store, "token requests vs bare baseline, median of alternating rounds", "≥ 85%",
					fmt.Sprintf("%s (rounds %s)", pct(r.VsBaseline), pcts(r.Ratios)), r.VsBaseline >= 0.85)
			}
		}
		if off, on := rep.findPrefix(store, "token-ratio ("), rep.findPrefix(store, "token-ratio-metrics ("); off != nil && on != nil && off.VsBaseline > 0 {
			rel := on.VsBaseline / off.VsBaseline
			rep.target(store, "token ratio with metrics on vs off", "≥ 97%",
				fmt.Sprintf("%s (on %s, off %s)", pct(rel), pct(on.VsBaseline), pct(off.VsBaseline)), rel >= 0.97)
		}
		if r := rep.findPrefix(store, "api-key ("); r != nil {
			rep.target(store, "api-key vs bare baseline, median of alternating rounds", "≥ 80%",
				fmt.Sprintf("%s (rounds %s)", pct(r.VsBaseline), pcts(r.Ratios)), r.VsBaseline >= 0.8)
		} else if r := rep.find(store, "api-key"); r != nil {
			rep.target(store, "api-key vs bare baseline", "≥ 80%",
				fmt.Sprintf("%s (%.0f vs %.0f req/s)", pct(r.VsBaseline), r.RPS, r.BaselineRPS), r.VsBaseline >= 0.8)
		}
		if r := rep.find(store, "basic-password-cache"); r != nil {
			rep.target(store, "basic-password-cache vs bare baseline", "≥ 50%",
				fmt.Sprintf("%s (%.0f vs %.0f req/s)", pct(r.VsBaseline), r.RPS, r.BaselineRPS), r.VsBaseline >= 0.5)
		}
		for _, sc := range []string{"basic-password", "login", "register"} {
			if r := rep.find(store, sc); r != nil {
				got := fmt.Sprintf("%s (%.1f of %.1f/s; limit %s before/after)", pct(r.VsLimit), r.RPS, r.LimitRPS, limitRange(r))
				if len(r.LimitRatios) > 0 {
					got = fmt.Sprintf("%s, median of paired rounds %s; whole run %.1f/s, limit %s before/after",
						pct(r.VsLimit), pcts(r.LimitRatios), r.RPS, limitRange(r))
				}
				rep.target(store, sc+" vs physical limit", "≥ 90%", got, r.VsLimit >= 0.90)
				rep.target(store, sc+" memory over the run", fmt.Sprintf("no growth over %.0fs", r.Seconds),
					fmt.Sprintf("max %.1f MiB first half, %.1f MiB second half", r.RSSFirstHalfMiB, r.RSSLastHalfMiB), !r.grew())
			}
		}
		if r := rep.find(store, "flood: tokens, during flood"); r != nil {
			q := rep.find(store, "flood: tokens, no flood")
			rep.target(store, "token p99 during the login flood", "≤ 3× without",
				fmt.Sprintf("%.1f× (%.2f ms vs %.2f ms)", r.FloodP99Ratio, r.P99MS, q.P99MS), r.FloodP99Ratio <= 3)
			rep.target(store, "server (with its hashing worker processes) peak RSS during the flood", "≤ 256 MiB",
				fmt.Sprintf("%.1f MiB", r.PeakRSSMiB), r.PeakRSSMiB <= 256)
		}
		var small, big *result
		for _, r := range rep.Results {
			if r.Store == store && strings.HasPrefix(r.Scenario, "users-") {
				if small == nil || r.Users < small.Users {
					small = r
				}
				if big == nil || r.Users > big.Users {
					big = r
				}
			}
		}
		if small != nil && big != nil && big != small {
			// Compared through each one's own baseline, which cancels
			// changes in the machine's load between the two runs.
			ratio := big.VsBaseline / small.VsBaseline
			rep.target(store, fmt.Sprintf("tokens with %s users vs %s", countName(big.Users), countName(small.Users)), "within 10%",
				fmt.Sprintf("%s (%.0f vs %.0f req/s; %s vs %s of baseline)", pct(ratio), big.RPS, small.RPS, pct(big.VsBaseline), pct(small.VsBaseline)),
				ratio >= 0.90)
		}
	}
	for _, lt := range rep.LoginTiming {
		rep.target(lt.Store, "failed login medians: unknown user, wrong and empty password", "within 15%",
			fmt.Sprintf("%.2f× largest/smallest", lt.Ratio), lt.Ratio <= 1.15)
	}
	for _, s := range rep.Startup {
		rep.target(s.Store, "startup to ready on an existing database", "< 200 ms", fmt.Sprintf("%.0f ms", s.MedianMS), s.MedianMS < 200)
		rep.target(s.Store, "idle RSS", "< 30 MiB", fmt.Sprintf("%.1f MiB", s.IdleRSSMiB), s.IdleRSSMiB < 30)
	}
}

func (rep *report) target(store, name, want, got string, met bool) {
	rep.Targets = append(rep.Targets, target{Store: store, Name: name, Want: want, Got: got, Met: met})
}

func limitRange(r *result) string {
	if len(r.LimitBeforeAfter) != 2 {
		return "?"
	}
	return fmt.Sprintf("%.1f/%.1f", r.LimitBeforeAfter[0], r.LimitBeforeAfter[1])
}

// pcts lists ratios as percentages.
func pcts(v []float64) string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = pct(x)
	}
	return strings.Join(out, " ")
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeText prints the report as tables.
func (rep *report) writeText(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "restauth-bench %s\n%s\n", rep.Date, rep.Command)
	fmt.Fprintf(w, "machine: %d CPUs, %s, %s %s; load average %s at start, %s at end\n",
		m.CPUs, m.Model, m.GoVersion, m.OS, rep.LoadAvg, rep.LoadAvgEnd)
	s := rep.Settings
	fmt.Fprintf(w, "settings: %d connections, %.0fs measured after %.1fs warm-up (password scenarios %.0fs), flood %d, users %d and %d\n",
		s.Conns, s.DurationS, s.WarmupS, s.PasswordDuration, s.Flood, s.Users, s.BigUsers)
	fmt.Fprintf(w, "limits: argon2id hash %.1f ms alone → CPUs ÷ hash time %.1f/s on %d CPUs; 4 KiB write+fsync %.2f ms → %.0f commits/s\n",
		rep.HashMS, rep.HashBoundRPS, m.CPUs, rep.CommitMS, 1000/max(rep.CommitMS, 0.001))
	fmt.Fprintf(w, "\"vs limit\" is to the physical limit (the server's hashing goroutines computing argon2id alone): for password scenarios the median of paired rounds (see targets), for the flood the mean of readings before and after\n")
	fmt.Fprintf(w, "peak RSS, RSS start→end, idle RSS and CPU server are the server's with its hashing worker processes (its direct children); peak RSS is the larger of the sum of each process's VmHWM (an upper bound: their peaks may come at different times) and the largest sampled sum\n\n")

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tstore\tconns\treq/s\tp50 ms\tp99 ms\tp99.9 ms\terrors\tshed\tpeak RSS MiB\tRSS start→end\tvs baseline\tvs limit\tCPU server/gen/other\t")
	for _, r := range rep.Results {
		vsb, vsl := "", ""
		if r.VsBaseline > 0 {
			vsb = pct(r.VsBaseline)
		}
		if r.VsLimit > 0 {
			vsl = pct(r.VsLimit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%.1f\t%.0f→%.0f\t%s\t%s\t%.2f/%.2f/%.2f\t\n",
			r.Scenario, r.Store, r.Conns, r.RPS, r.P50MS, r.P99MS, r.P999MS, r.Errors+uint64(r.ServerErrorLogs), r.Shed,
			r.PeakRSSMiB, r.RSSStartMiB, r.RSSEndMiB, vsb, vsl, r.CPU.Server, r.CPU.LoadGen, r.CPU.Other)
	}
	tw.Flush()

	fmt.Fprintln(w)
	for _, st := range rep.Startup {
		fmt.Fprintf(w, "startup (%s): median %.0f ms of %v; idle RSS %.1f MiB\n", st.Store, st.MedianMS, st.RunsMS, st.IdleRSSMiB)
	}
	for _, lt := range rep.LoginTiming {
		keys := make([]string, 0, len(lt.MedianMS))
		for k := range lt.MedianMS {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %.1f ms", k, lt.MedianMS[k]))
		}
		fmt.Fprintf(w, "login timing (%s): medians of %d failed logins each: %s; largest/smallest %.2f\n", lt.Store, lt.Rounds, strings.Join(parts, ", "), lt.Ratio)
	}
	for _, n := range rep.NotRun {
		fmt.Fprintf(w, "not run: %s\n", n)
	}
	for _, sd := range rep.Seeds {
		fmt.Fprintf(w, "seed (%s): %d users in %.2fs\n", sd.Store, sd.Users, sd.Seconds)
	}
	var errs []string
	for _, r := range rep.Results {
		if r.FirstError != "" || r.ServerErrorLogs > 0 {
			keys := make([]int, 0, len(r.Statuses))
			for k := range r.Statuses {
				keys = append(keys, k)
			}
			sort.Ints(keys)
			errs = append(errs, fmt.Sprintf("%s (%s): %d errors, statuses %v, %d server ERROR lines; first: %s",
				r.Scenario, r.Store, r.Errors, r.Statuses, r.ServerErrorLogs, r.FirstError))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range errs {
			fmt.Fprintln(w, "  "+e)
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  store\ttarget\twant\tgot\tmet")
	for _, t := range rep.Targets {
		met := "yes"
		if !t.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", t.Store, t.Name, t.Want, t.Got, met)
	}
	tw.Flush()
}
