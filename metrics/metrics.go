// Package metrics exposes restauth's Prometheus metrics: requests by route
// pattern and status, logins and registrations by outcome, the password
// hashing gate, the revocation feed, the token cache, the store's pools and
// the build. No label ever holds a username, an address or a raw path:
// routes are the patterns declared in httpapi/routes.go, so the number of
// series is fixed by the code, not by what clients send.
//
// Metrics observes the domain from the outside, through the error codes of
// the responses (restauth.ErrorCode) and read-only accessors, so neither the
// domain nor the hot path depends on Prometheus.
package metrics

import (
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

// Routes whose outcomes are counted apart, as the patterns of
// httpapi/routes.go.
const (
	loginRoute    = "POST /api/tokens"
	registerRoute = "POST /api/users"
)

// Outcomes of logins and registrations.
const (
	OutcomeSuccess          = "success"
	OutcomeWrongCredentials = "wrong_credentials" // Logins: unknown user or wrong password.
	OutcomeRejected         = "rejected"          // Registrations: name taken, name or password refused.
	OutcomeThrottled        = "throttled"         // The tarpit or a per-IP limit refused the attempt.
	OutcomeShed             = "shed"              // The hashing gate was full: 503 overloaded.
	OutcomeInvalid          = "invalid"           // A malformed request.
	OutcomeError            = "error"             // The store was unavailable, or an internal error.
)

// knownCodes are the error codes counted by name; any other is counted as
// internal_error, which is also how the HTTP layer answers it.
var knownCodes = []string{
	restauth.EInvalid, restauth.EInvalidJSON, restauth.EUnsupportedMedia, restauth.EBodyTooLarge,
	restauth.EInvalidUsername, restauth.EUsernameTaken, restauth.EPasswordShort, restauth.EPasswordLong,
	restauth.EPasswordCommon, restauth.EUnauthorized, restauth.EInvalidToken, restauth.EInvalidGrant,
	restauth.EForbidden, restauth.EWrongPassword, restauth.ENotFound, restauth.EMethodNotAllowed,
	restauth.ETooManyRequests, restauth.EOverloaded, restauth.EUnavailable, restauth.EInternal,
}

// PoolStats describes one database connection pool.
type PoolStats struct {
	Pool         string // "main" for PostgreSQL; "write" and "read" for SQLite.
	Open, InUse  int    // Connections open, and of those in use.
	Max          int    // The pool's limit; 0 when unlimited.
	Waits        int64  // Acquisitions that had to wait, in total.
	WaitDuration time.Duration
}

// Sources are what the metrics read at each scrape. Nil fields leave their
// metrics out.
type Sources struct {
	Gate        func() password.GateStats
	Revocations *restauth.RevocationSet
	TokenCache  func() token.CacheStats
	Pools       func() []PoolStats
}

// Metrics holds one registry of restauth's metrics. It implements
// httpapi.RequestObserver; its Handler serves the registry.
type Metrics struct {
	reg *prometheus.Registry

	duration      *prometheus.HistogramVec
	errors        map[string]prometheus.Counter
	logins        map[string]prometheus.Counter
	registrations map[string]prometheus.Counter
	tarpit        prometheus.Counter
	shed          prometheus.Counter

	// routes caches, per route pattern, the histogram of each status, so
	// that a request resolves its labels once per (pattern, status) pair
	// for the life of the process, not once per request.
	routes sync.Map // string → *routeSeries
}

// routeSeries holds the resolved histograms of one route, by status.
type routeSeries struct {
	byStatus [600]atomic.Pointer[observer]
}

type observer struct{ prometheus.Observer }

// New registers restauth's metrics, the Go runtime's and the process's in a
// fresh registry.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "restauth_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by route pattern and status; its _count is the request count.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "status"})
	errorsVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "restauth_http_errors_total",
		Help: "Error responses by stable error code.",
	}, []string{"code"})
	loginsVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "restauth_logins_total",
		Help: "Password logins (POST /api/tokens) by outcome.",
	}, []string{"outcome"})
	regsVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "restauth_registrations_total",
		Help: "Registrations (POST /api/users) by outcome.",
	}, []string{"outcome"})
	m.tarpit = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "restauth_tarpit_refusals_total",
		Help: "Requests refused with 429 too_many_requests by the login tarpit or a per-IP limit.",
	})
	m.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "restauth_hash_shed_total",
		Help: "Requests refused with 503 overloaded because the password hashing gate was full.",
	})
	m.reg.MustRegister(m.duration, errorsVec, loginsVec, regsVec, m.tarpit, m.shed)

	// Every label value is known in advance, so each series exists from
	// the start (a rate over a series that appears late misses its first
	// increase) and is resolved once.
	m.errors = children(errorsVec, knownCodes)
	m.logins = children(loginsVec, []string{OutcomeSuccess, OutcomeWrongCredentials, OutcomeThrottled, OutcomeShed, OutcomeInvalid, OutcomeError})
	m.registrations = children(regsVec, []string{OutcomeSuccess, OutcomeRejected, OutcomeThrottled, OutcomeShed, OutcomeInvalid, OutcomeError})

	m.reg.MustRegister(buildInfo())
	if src.Gate != nil {
		m.reg.MustRegister(gaugeFunc("restauth_hash_slots_busy", "Password hash computations running.", func() float64 { return float64(src.Gate().Busy) }),
			gaugeFunc("restauth_hash_slots", "Password hash computations admitted at once.", func() float64 { return float64(src.Gate().Slots) }),
			gaugeFunc("restauth_hash_queue_waiting", "Password hash computations waiting for a slot.", func() float64 { return float64(src.Gate().Waiting) }),
			gaugeFunc("restauth_hash_queue_max", "Password hash computations allowed to wait.", func() float64 { return float64(src.Gate().MaxQueue) }))
	}
	if revs := src.Revocations; revs != nil {
		m.reg.MustRegister(gaugeFunc("restauth_revocations", "Revoked sessions remembered in memory.", func() float64 { return float64(revs.Len()) }),
			gaugeFunc("restauth_revocation_sync_age_seconds", "Time since the revocation view last synchronised with the database: how far behind the feed this instance may be.", func() float64 {
				last := revs.LastSync()
				if last.IsZero() {
					return 0
				}
				return time.Since(last).Seconds()
			}))
	}
	if src.TokenCache != nil {
		m.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "restauth_token_cache_hits_total", Help: "Access tokens found already verified in the cache."},
				func() float64 { return float64(src.TokenCache().Hits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "restauth_token_cache_misses_total", Help: "Access tokens verified afresh."},
				func() float64 { return float64(src.TokenCache().Misses) }),
			gaugeFunc("restauth_token_cache_entries", "Verified access tokens held in the cache.", func() float64 { return float64(src.TokenCache().Entries) }))
	}
	if src.Pools != nil {
		m.reg.MustRegister(poolCollector(src.Pools))
	}
	return m
}

func children(v *prometheus.CounterVec, values []string) map[string]prometheus.Counter {
	out := make(map[string]prometheus.Counter, len(values))
	for _, s := range values {
		out[s] = v.WithLabelValues(s)
	}
	return out
}

func gaugeFunc(name, help string, f func() float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one answered request: its route pattern (empty
// when no route matched), status, error code (empty unless it was an error)
// and duration. It takes no lock and allocates nothing once the pair of
// pattern and status has been seen.
func (m *Metrics) ObserveRequest(pattern string, status int, code string, d time.Duration) {
	if status < 100 || status >= 600 {
		status = 0
	}
	m.series(pattern, status).Observe(d.Seconds())
	if code == "" {
		switch pattern {
		case loginRoute:
			if status == http.StatusOK {
				m.logins[OutcomeSuccess].Inc()
			}
		case registerRoute:
			if status == http.StatusCreated {
				m.registrations[OutcomeSuccess].Inc()
			}
		}
		return
	}
	c, ok := m.errors[code]
	if !ok {
		code, c = restauth.EInternal, m.errors[restauth.EInternal]
	}
	c.Inc()
	switch code {
	case restauth.ETooManyRequests:
		m.tarpit.Inc()
	case restauth.EOverloaded:
		m.shed.Inc()
	}
	switch pattern {
	case loginRoute:
		m.logins[loginOutcome(code)].Inc()
	case registerRoute:
		m.registrations[registrationOutcome(code)].Inc()
	}
}

func (m *Metrics) series(pattern string, status int) prometheus.Observer {
	rs, ok := m.routes.Load(pattern)
	if !ok {
		rs, _ = m.routes.LoadOrStore(pattern, new(routeSeries))
	}
	slot := &rs.(*routeSeries).byStatus[status]
	if o := slot.Load(); o != nil {
		return o.Observer
	}
	route := pattern
	if route == "" {
		route = "none"
	}
	o := &observer{m.duration.WithLabelValues(route, statusText(status))}
	slot.CompareAndSwap(nil, o)
	return slot.Load().Observer
}

func statusText(status int) string {
	if status == 0 {
		return "other"
	}
	const digits = "0123456789"
	return string([]byte{digits[status/100], digits[status/10%10], digits[status%10]})
}

// outcome maps an error code to an outcome shared by logins and
// registrations, or "" when the code is route-specific.
func outcome(code string) string {
	switch code {
	case restauth.ETooManyRequests:
		return OutcomeThrottled
	case restauth.EOverloaded:
		return OutcomeShed
	case restauth.EInvalid, restauth.EInvalidJSON, restauth.EUnsupportedMedia, restauth.EBodyTooLarge:
		return OutcomeInvalid
	}
	return ""
}

func loginOutcome(code string) string {
	if o := outcome(code); o != "" {
		return o
	}
	switch code {
	case restauth.EUnauthorized, restauth.EInvalidToken, restauth.EForbidden:
		return OutcomeWrongCredentials
	}
	return OutcomeError
}

func registrationOutcome(code string) string {
	if o := outcome(code); o != "" {
		return o
	}
	switch code {
	case restauth.EInvalidUsername, restauth.EUsernameTaken, restauth.EPasswordShort,
		restauth.EPasswordLong, restauth.EPasswordCommon:
		return OutcomeRejected
	}
	return OutcomeError
}

// buildInfo is restauth_build_info, always 1, labelled with the module
// version, the VCS revision and the Go version.
func buildInfo() prometheus.Collector {
	version, commit, goVersion := "(devel)", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "restauth_build_info",
		Help:        "The running build: always 1, labelled with version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

// pools reports the store's connection pools at each scrape.
type pools struct {
	read                                   func() []PoolStats
	open, inUse, max, waits, waitedSeconds *prometheus.Desc
}

func poolCollector(read func() []PoolStats) prometheus.Collector {
	l := []string{"pool"}
	return &pools{
		read:          read,
		open:          prometheus.NewDesc("restauth_db_connections_open", "Database connections open.", l, nil),
		inUse:         prometheus.NewDesc("restauth_db_connections_in_use", "Database connections in use.", l, nil),
		max:           prometheus.NewDesc("restauth_db_connections_max", "The pool's connection limit (0: unlimited).", l, nil),
		waits:         prometheus.NewDesc("restauth_db_connection_waits_total", "Connection acquisitions that had to wait.", l, nil),
		waitedSeconds: prometheus.NewDesc("restauth_db_connection_wait_seconds_total", "Time spent waiting for a connection.", l, nil),
	}
}

func (p *pools) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.open, p.inUse, p.max, p.waits, p.waitedSeconds} {
		ch <- d
	}
}

func (p *pools) Collect(ch chan<- prometheus.Metric) {
	for _, s := range p.read() {
		ch <- prometheus.MustNewConstMetric(p.open, prometheus.GaugeValue, float64(s.Open), s.Pool)
		ch <- prometheus.MustNewConstMetric(p.inUse, prometheus.GaugeValue, float64(s.InUse), s.Pool)
		ch <- prometheus.MustNewConstMetric(p.max, prometheus.GaugeValue, float64(s.Max), s.Pool)
		ch <- prometheus.MustNewConstMetric(p.waits, prometheus.CounterValue, float64(s.Waits), s.Pool)
		ch <- prometheus.MustNewConstMetric(p.waitedSeconds, prometheus.CounterValue, s.WaitDuration.Seconds(), s.Pool)
	}
}
