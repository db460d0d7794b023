package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
)

// countingHasher counts the verifications that reach the real hasher.
type countingHasher struct {
	restauth.PasswordHasher
	verifies atomic.Int64
}

func (h *countingHasher) Verify(ctx context.Context, pw, hash string) (bool, bool, error) {
	h.verifies.Add(1)
	return h.PasswordHasher.Verify(ctx, pw, hash)
}

// parallel sends n copies of one request at once and returns the statuses
// counted.
func (e *testEnv) parallel(n int, method, path, auth string) map[int]int {
	e.t.Helper()
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := e.send(method, path, "", "Authorization", auth)
			if err != nil {
				e.t.Error(err)
				return
			}
			statuses[i] = r.status
		})
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	return counts
}

// TestHonestParallelClientsNotThrottled sends 32 requests at once with the
// correct password for one account, as a REST-auth client sending Basic on
// every request does. None may be refused: a correct password in flight is
// not a failure. The per-IP limit is left at its default, so it is checked
// too. Renewals sent at once from one client share one session.
func TestHonestParallelClientsNotThrottled(t *testing.T) {
	const n = 32
	routes := []struct{ method, path string }{
		{"GET", "/api/resource"},
		{"POST", "/api/tokens"},
		{"GET", "/api/token"},
	}
	caches := []struct {
		name string
		ttl  int // Seconds; 0 turns the credential cache off.
	}{{"cache off", 0}, {"cache on", 60}}
	for _, c := range caches {
		for _, rt := range routes {
			t.Run(c.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				e := newEnv(t, withCredentialCacheTTL(c.ttl))
				e.register("alice", "correct horse battery")
				got := e.parallel(n, rt.method, rt.path, basic("alice", "correct horse battery"))
				if got[200] != n {
					t.Errorf("%d parallel correct requests: statuses %v, want all %d answered 200", n, got, n)
				}
				if rt.path != "/api/token" {
					return
				}
				// The renewals came from one client: they share one session.
				u, err := e.store.UserByUsername(context.Background(), "alice")
				if err != nil {
					t.Fatal(err)
				}
				sessions, err := e.store.ListSessions(context.Background(), u.ID, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if len(sessions) != 1 {
					t.Errorf("%d parallel renewals from one client opened %d sessions, want 1", n, len(sessions))
				}
			})
		}
	}
}

// TestConcurrentGuessesHashAtMostFreeBudget fires 40 concurrent wrong
// guesses at an existing and at an unknown account: each is hashed at most
// AccountFreeFailures times, the rest answered 429 without a hash, and the
// two accounts are throttled alike. A correct password sent during the burst
// may not slip in either. The tarpit's first delay is set to an hour: with
// the default (one second) the tarpit rightly lets one more guess through
// once a second has passed since the first failure, which a burst takes on
// a busy machine, and the test would then decide on the clock rather than
// on the in-flight bound it checks.
func TestConcurrentGuessesHashAtMostFreeBudget(t *testing.T) {
	const burst = 40
	for _, name := range []string{"alice", "nobody"} {
		t.Run(name, func(t *testing.T) {
			h := &countingHasher{PasswordHasher: password.New(password.Options{Params: fastParams})}
			e := newEnvWith(t, envExtras{hasher: h}, withSlowTarpit)
			e.register("alice", "correct horse battery")
			before := h.verifies.Load()
			got := e.parallel(burst, "GET", "/api/resource", basic(name, "wrong horse battery"))
			hashed := h.verifies.Load() - before
			free := restauth.DefaultConfig().AccountFreeFailures
			if hashed > int64(free) || got[401] > free || got[401]+got[429] != burst {
				t.Errorf("%d concurrent guesses for %s: %d verifications, statuses %v; want at most %d of each and the rest 429", burst, name, hashed, got, free)
			}
		})
	}
}

// withSlowTarpit makes the tarpit's first delay an hour, for the tests
// that count how many guesses a burst may hash: they must be decided by the
// in-flight bound, not by whether the burst outlasts the default delay.
func withSlowTarpit(c *restauth.Config, _ *Config) {
	c.AccountDelayBase, c.AccountDelayMax, c.AccountWindow = time.Hour, time.Hour, 2*time.Hour
}

// withCredentialCacheTTL sets the credential cache lifetime in seconds.
func withCredentialCacheTTL(seconds int) envOption {
	return func(c *restauth.Config, _ *Config) {
		c.CredentialCacheTTL = time.Duration(seconds) * time.Second
	}
}
