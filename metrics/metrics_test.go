package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/restauth/restauth"
)

// TestMetricsOutcomes checks how each answer of the login and registration
// routes is counted, and that the tarpit and shed counters follow their
// codes on any route.
func TestMetricsOutcomes(t *testing.T) {
	tests := []struct {
		route, code     string
		status          int
		login, register string // The outcome counted, or "".
		tarpit, shed    float64
	}{
		{loginRoute, "", 200, OutcomeSuccess, "", 0, 0},
		{loginRoute, restauth.EUnauthorized, 401, OutcomeWrongCredentials, "", 0, 0},
		{loginRoute, restauth.ETooManyRequests, 429, OutcomeThrottled, "", 1, 0},
		{loginRoute, restauth.EOverloaded, 503, OutcomeShed, "", 0, 1},
		{loginRoute, restauth.EInvalidJSON, 400, OutcomeInvalid, "", 0, 0},
		{loginRoute, restauth.EUnavailable, 503, OutcomeError, "", 0, 0},
		{loginRoute, "made_up_code", 500, OutcomeError, "", 0, 0},
		{registerRoute, "", 201, "", OutcomeSuccess, 0, 0},
		{registerRoute, restauth.EUsernameTaken, 400, "", OutcomeRejected, 0, 0},
		{registerRoute, restauth.EPasswordCommon, 400, "", OutcomeRejected, 0, 0},
		{registerRoute, restauth.ETooManyRequests, 429, "", OutcomeThrottled, 1, 0},
		{registerRoute, restauth.EOverloaded, 503, "", OutcomeShed, 0, 1},
		{registerRoute, restauth.EBodyTooLarge, 413, "", OutcomeInvalid, 0, 0},
		{"GET /api/resource", restauth.EOverloaded, 503, "", "", 0, 1},
		{"GET /api/resource", restauth.ETooManyRequests, 429, "", "", 1, 0},
		{"GET /api/resource", "", 200, "", "", 0, 0},
	}
	for _, tt := range tests {
		m := New(Sources{})
		m.ObserveRequest(tt.route, tt.status, tt.code, time.Millisecond)
		for outcome, c := range m.logins {
			want := 0.0
			if outcome == tt.login {
				want = 1
			}
			if got := testutil.ToFloat64(c); got != want {
				t.Errorf("%s %d %q: logins{outcome=%s} = %v, want %v", tt.route, tt.status, tt.code, outcome, got, want)
			}
		}
		for outcome, c := range m.registrations {
			want := 0.0
			if outcome == tt.register {
				want = 1
			}
			if got := testutil.ToFloat64(c); got != want {
				t.Errorf("%s %d %q: registrations{outcome=%s} = %v, want %v", tt.route, tt.status, tt.code, outcome, got, want)
			}
		}
		if got := testutil.ToFloat64(m.tarpit); got != tt.tarpit {
			t.Errorf("%s %d %q: tarpit refusals = %v, want %v", tt.route, tt.status, tt.code, got, tt.tarpit)
		}
		if got := testutil.ToFloat64(m.shed); got != tt.shed {
			t.Errorf("%s %d %q: shed = %v, want %v", tt.route, tt.status, tt.code, got, tt.shed)
		}
		if got := testutil.CollectAndCount(m.duration); got != 1 {
			t.Errorf("%s %d %q: %d request series, want 1", tt.route, tt.status, tt.code, got)
		}
	}
}

// TestMetricsRequestSeries checks the labels of the request histogram: the
// pattern as given, "none" for no pattern, and statuses outside HTTP's
// range folded into "other" rather than creating series.
func TestMetricsRequestSeries(t *testing.T) {
	m := New(Sources{})
	m.ObserveRequest("GET /api/users/{id}", 404, restauth.ENotFound, time.Millisecond)
	m.ObserveRequest("GET /api/users/{id}", 404, restauth.ENotFound, time.Millisecond)
	m.ObserveRequest("", 400, restauth.EInvalid, time.Millisecond)
	m.ObserveRequest("/", 999, "", time.Millisecond)
	m.ObserveRequest("/", -1, "", time.Millisecond)
	for _, tt := range []struct {
		route, status string
		want          uint64
	}{{"GET /api/users/{id}", "404", 2}, {"none", "400", 1}, {"/", "other", 2}} {
		h, err := m.duration.GetMetricWithLabelValues(tt.route, tt.status)
		if err != nil {
			t.Fatal(err)
		}
		var pb dto.Metric
		if err := h.(prometheus.Metric).Write(&pb); err != nil {
			t.Fatal(err)
		}
		if got := pb.GetHistogram().GetSampleCount(); got != tt.want {
			t.Errorf("route=%q status=%q: %d requests, want %d", tt.route, tt.status, got, tt.want)
		}
	}
	if got := testutil.CollectAndCount(m.duration); got != 3 {
		t.Errorf("%d request series, want 3", got)
	}
	if got := testutil.ToFloat64(m.errors[restauth.ENotFound]); got != 2 {
		t.Errorf("errors{code=not_found} = %v, want 2", got)
	}
}

// TestMetricsObserveAllocs checks that a request whose pattern and status
// have been seen costs no allocation to observe.
func TestMetricsObserveAllocs(t *testing.T) {
	m := New(Sources{})
	m.ObserveRequest("GET /api/resource", 200, "", time.Millisecond)
	if n := testing.AllocsPerRun(100, func() {
		m.ObserveRequest("GET /api/resource", 200, "", time.Millisecond)
		m.ObserveRequest("POST /api/tokens", 401, restauth.EUnauthorized, time.Millisecond)
	}); n != 0 {
		t.Errorf("observing allocates %v times per request, want 0", n)
	}
}
