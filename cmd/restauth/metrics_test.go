package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the metrics endpoint and parses it with Prometheus's own
// text parser, so that a malformed exposition fails the test.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

// sample returns the value of the series of family name whose labels
// include want: a counter's or gauge's value, a histogram's count.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	total, found := 0.0, false
	for _, m := range f.Metric {
		match := 0
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match != len(want) {
			continue
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	if !found {
		return -1
	}
	return total
}

// TestMetricsEndpoint serves the real program with --metrics-addr, makes
// requests, and checks that the counters they should move moved by exactly
// that much, that the gauges are there, and that no label carries what a
// client sent.
func TestMetricsEndpoint(t *testing.T) {
	type store struct {
		db   func(t *testing.T) string
		goro int64  // The log flusher, HTTP, key reload, revocation sync, sweep, the store listener, metrics.
		pool string // A pool that holds a connection while serving.
	}
	stores := map[string]store{
		"sqlite": {func(t *testing.T) string { return filepath.Join(t.TempDir(), "restauth.db") }, 7, "write"},
	}
	if base := os.Getenv("RESTAUTH_TEST_POSTGRES"); base != "" {
		stores["postgres"] = store{func(t *testing.T) string { return freshPostgresSchema(t, base) }, 7, "main"}
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) { testMetricsEndpoint(t, st.db(t), st.goro, st.pool) })
	}
}

func testMetricsEndpoint(t *testing.T, db string, goro int64, pool string) {
	lt := &lifetime{}
	maddr := freeAddr(t)
	env := map[string]string{"RESTAUTH_DB": db, "RESTAUTH_ARGON2_MEMORY": "64", "RESTAUTH_ARGON2_TIME": "1"}
	s := launch(t, withLifetime(context.Background(), lt), env, "--metrics-addr", maddr)
	if got := lt.running.Load(); got != goro {
		t.Errorf("while serving, %d goroutines run, want %d", got, goro)
	}
	url := "http://" + maddr + "/metrics"
	before := scrape(t, url)

	do(t, "POST", s.base+"/api/users", `{"username":"miguel","password":"python is fun"}`, "")
	do(t, "POST", s.base+"/api/tokens", "", basicAuth("miguel", "python is fun"))
	do(t, "POST", s.base+"/api/tokens", "", basicAuth("miguel", "wrong password"))
	do(t, "GET", s.base+"/api/users/12345", "", "")
	do(t, "GET", s.base+"/no/such/route/miguel", "", "")
	after := scrape(t, url)

	moves := []struct {
		name   string
		labels map[string]string
		delta  float64
	}{
		{"restauth_registrations_total", map[string]string{"outcome": "success"}, 1},
		{"restauth_logins_total", map[string]string{"outcome": "success"}, 1},
		{"restauth_logins_total", map[string]string{"outcome": "wrong_credentials"}, 1},
		{"restauth_logins_total", map[string]string{"outcome": "throttled"}, 0},
		{"restauth_logins_total", map[string]string{"outcome": "shed"}, 0},
		{"restauth_http_request_duration_seconds", map[string]string{"route": "POST /api/tokens", "status": "200"}, 1},
		{"restauth_http_request_duration_seconds", map[string]string{"route": "POST /api/tokens", "status": "401"}, 1},
		{"restauth_http_request_duration_seconds", map[string]string{"route": "GET /api/users/{id}", "status": "404"}, 1},
		{"restauth_http_request_duration_seconds", map[string]string{"route": "/", "status": "404"}, 1},
		{"restauth_http_errors_total", map[string]string{"code": "not_found"}, 2},
		{"restauth_http_errors_total", map[string]string{"code": "invalid_credentials"}, 1},
		{"restauth_tarpit_refusals_total", nil, 0},
		{"restauth_hash_shed_total", nil, 0},
	}
	for _, m := range moves {
		b, a := max(sample(before, m.name, m.labels), 0), sample(after, m.name, m.labels)
		if a-b != m.delta {
			t.Errorf("%s%v moved from %v to %v, want a move of %v", m.name, m.labels, b, a, m.delta)
		}
	}
	for _, name := range []string{
		"restauth_hash_slots", "restauth_hash_slots_busy", "restauth_hash_queue_waiting", "restauth_hash_queue_max",
		"restauth_revocations", "restauth_revocation_sync_age_seconds",
		"restauth_token_cache_hits_total", "restauth_token_cache_misses_total", "restauth_token_cache_entries",
		"restauth_db_connections_open", "restauth_db_connections_in_use", "restauth_db_connection_waits_total",
		"restauth_build_info", "go_goroutines", "process_cpu_seconds_total",
	} {
		if after[name] == nil {
			t.Errorf("%s is missing from the exposition", name)
		}
	}
	if got := sample(after, "restauth_db_connections_open", map[string]string{"pool": pool}); got < 1 {
		t.Errorf("restauth_db_connections_open{pool=%s} = %v, want at least 1", pool, got)
	}
	for name, f := range after {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if v := l.GetValue(); strings.Contains(v, "miguel") || strings.Contains(v, "127.0.0.1") || strings.Contains(v, "12345") {
					t.Errorf("%s has label %s=%q, which holds what a client sent", name, l.GetName(), v)
				}
			}
		}
	}

	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatalf("run returned %v", err)
	}
	if got := lt.running.Load(); got != 0 {
		t.Errorf("after run returned, %d of its goroutines still run", got)
	}
	if _, err := httpClient.Get(url); err == nil {
		t.Errorf("the metrics listener still answers after run returned")
	}
}

// TestMetricsLoopbackOnly checks that metrics are not served on a public
// address unless --metrics-public says so.
func TestMetricsLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"", false, true},
		{"127.0.0.1:9090", false, true},
		{"[::1]:9090", false, true},
		{"localhost:9090", false, true},
		{"0.0.0.0:9090", false, false},
		{":9090", false, false},
		{"10.0.0.5:9090", false, false},
		{"0.0.0.0:9090", true, true},
	}
	for _, tt := range tests {
		c := defaultConfig()
		c.metricsAddr, c.metricsPublic = tt.addr, tt.public
		err := c.validateMetrics()
		if (err == nil) != tt.ok {
			t.Errorf("--metrics-addr %q --metrics-public=%v: got %v, want ok %v", tt.addr, tt.public, err, tt.ok)
		}
	}
}
