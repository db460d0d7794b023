package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestNewResultMemory(t *testing.T) {
	g := &group{jobs: make([]job, 3), hist: newHistogram(), ok: 100, window: 2 * time.Second}
	for range 100 {
		g.hist.record(time.Millisecond)
	}
	m := measurement{peak: 90 << 20, samples: []rssSample{
		{0, 80 << 20}, // Warm-up: left out.
		{time.Second, 40 << 20}, {2 * time.Second, 50 << 20},
		{3 * time.Second, 45 << 20}, {4 * time.Second, 48 << 20},
	}}
	r := newResult("s", "sqlite", 10, g, m, 500*time.Millisecond)
	want := result{RPS: 50, Conns: 3, PeakRSSMiB: 90, RSSStartMiB: 40, RSSEndMiB: 48, RSSFirstHalfMiB: 50, RSSLastHalfMiB: 48}
	if r.RPS != want.RPS || r.Conns != want.Conns || r.PeakRSSMiB != want.PeakRSSMiB || r.RSSStartMiB != want.RSSStartMiB ||
		r.RSSEndMiB != want.RSSEndMiB || r.RSSFirstHalfMiB != want.RSSFirstHalfMiB || r.RSSLastHalfMiB != want.RSSLastHalfMiB {
		t.Errorf("newResult = %+v, want %+v", *r, want)
	}
	if r.P50MS < 0.99 || r.P50MS > 1.01 {
		t.Errorf("p50 = %v ms, want 1", r.P50MS)
	}
}

func TestGrew(t *testing.T) {
	tests := []struct {
		first, last float64
		want        bool
	}{
		{100, 100, false},
		{100, 104, false}, // Under 5%.
		{40, 43.9, false}, // 9.7%, but under 4 MiB: GC noise at this size.
		{100, 120, true},
		{40, 60, true},
	}
	for _, tc := range tests {
		r := &result{RSSFirstHalfMiB: tc.first, RSSLastHalfMiB: tc.last}
		if got := r.grew(); got != tc.want {
			t.Errorf("grew(%v → %v) = %v, want %v", tc.first, tc.last, got, tc.want)
		}
	}
}

// TestFinishTargets checks each target's verdict from made-up figures.
func TestFinishTargets(t *testing.T) {
	rep := &report{
		Startup: []startupResult{{Store: "sqlite", MedianMS: 150, IdleRSSMiB: 35}},
		Results: []*result{
			{Scenario: "baseline (token-bearer)", Store: "-", RPS: 10000},
			{Scenario: "token-bearer", Store: "sqlite", RPS: 9000, VsBaseline: 0.9},
			{Scenario: "token-basic", Store: "sqlite", RPS: 8000, VsBaseline: 0.8, Errors: 2},
			{Scenario: "login", Store: "sqlite", RPS: 50, LimitRPS: 54, VsLimit: 0.92, LimitRatios: []float64{0.88, 0.92, 0.95}, RSSFirstHalfMiB: 100, RSSLastHalfMiB: 101},
			{Scenario: "register", Store: "sqlite", RPS: 40, LimitRPS: 54, VsLimit: 40.0 / 54, RSSFirstHalfMiB: 100, RSSLastHalfMiB: 150, ServerErrorLogs: 1},
			{Scenario: "flood: tokens, no flood", Store: "sqlite", P99MS: 2},
			{Scenario: "flood: tokens, during flood", Store: "sqlite", P99MS: 10, FloodP99Ratio: 5, PeakRSSMiB: 120},
			{Scenario: "users-1k", Store: "sqlite", Users: 1000, RPS: 9000, VsBaseline: 0.90},
			{Scenario: "users-1M", Store: "sqlite", Users: 1_000_000, RPS: 8500, VsBaseline: 0.84},
			{Scenario: "token-ratio (median of 3)", Store: "sqlite", VsBaseline: 0.86, Ratios: []float64{0.80, 0.86, 0.90}},
			{Scenario: "basic-password-cache", Store: "sqlite", RPS: 4000, BaselineRPS: 10000, VsBaseline: 0.4},
		},
		LoginTiming: []*loginTiming{{Store: "sqlite", Rounds: 30, MedianMS: map[string]float64{"a": 30, "b": 31}, Ratio: 31.0 / 30}},
		NotRun:      []string{"something: why"},
	}
	rep.finish()
	want := map[string]bool{
		"token-bearer vs bare baseline":                                        true,
		"token-basic vs bare baseline":                                         false,
		"login vs physical limit":                                              true,
		"login memory over the run":                                            true,
		"register vs physical limit":                                           false,
		"token requests vs bare baseline, median of alternating rounds":        true,
		"basic-password-cache vs bare baseline":                                false,
		"failed login medians: unknown user, wrong and empty password":         true,
		"register memory over the run":                                         false,
		"token p99 during the login flood":                                     false,
		"server (with its hashing worker processes) peak RSS during the flood": true,
		"tokens with 1M users vs 1k":                                           true, // 0.84/0.90 = 93%.
		"startup to ready on an existing database":                             true,
		"idle RSS": false,
	}
	got := map[string]bool{}
	for _, tg := range rep.Targets {
		got[tg.Name] = tg.Met
	}
	for name, met := range want {
		if g, ok := got[name]; !ok || g != met {
			t.Errorf("target %q: met %v (present %v), want %v", name, g, ok, met)
		}
	}
	if len(got) != len(want) {
		t.Errorf("targets = %v, want exactly %v", got, want)
	}
	if rep.Errors != 3 {
		t.Errorf("errors = %d, want 3 (2 answers, 1 server ERROR line)", rep.Errors)
	}

	var text bytes.Buffer
	rep.writeText(&text)
	for _, s := range []string{"token-bearer", "targets:", "NO", "90%", "rounds 80% 86% 90%", "median of paired rounds 88% 92% 95%", "login timing (sqlite)", "not run: something: why"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) || len(back.Targets) != len(rep.Targets) {
		t.Errorf("JSON round trip: %v, %d results, %d targets; want %d, %d", err, len(back.Results), len(back.Targets), len(rep.Results), len(rep.Targets))
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		check   func(*options) bool
		wantErr bool
	}{
		{nil, func(o *options) bool {
			return o.conns == 32 && o.duration == 10*time.Second && o.bigUsers == 1_000_000 && !o.smoke
		}, false},
		{[]string{"-smoke"}, func(o *options) bool {
			return o.smoke && o.duration == time.Second && o.bigUsers == 0 && o.flood == 50 && o.users == 100
		}, false},
		// An explicit flag wins over -smoke's choice.
		{[]string{"-smoke", "-duration", "3s"}, func(o *options) bool { return o.duration == 3*time.Second && o.flood == 50 }, false},
		{[]string{"-server-flags", "--hash-concurrency 1", "-server-env", "GOMAXPROCS=3"}, func(o *options) bool {
			return len(o.serverFlags) == 2 && o.serverEnv[0] == "GOMAXPROCS=3"
		}, false},
		{[]string{"-only", "token|flood"}, func(o *options) bool { return o.only.MatchString("flood") && !o.only.MatchString("login") }, false},
		{[]string{"-server-env", "NOEQUALS"}, nil, true},
		{[]string{"-users", "10"}, nil, true}, // Fewer users than connections.
		{[]string{"-only", "("}, nil, true},
		{[]string{"extra"}, nil, true},
	}
	for _, tc := range tests {
		o, err := parseFlags(tc.args, io.Discard)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseFlags(%q) error = %v, want error %v", tc.args, err, tc.wantErr)
			continue
		}
		if err == nil && !tc.check(o) {
			t.Errorf("parseFlags(%q) = %+v, not what was asked", tc.args, *o)
		}
	}
}
