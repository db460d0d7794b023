package main

import (
	"encoding/json"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// TestMultiInstanceHonestClients runs two instances of the real binary on
// one PostgreSQL schema and checks the REST-auth client's path across them:
// many correct passwords at once for one account are never throttled, with
// the credential cache on or off, and a password change or a deletion made
// on one instance stops the old password on the other at once, although the
// other had it cached and the user had no session at all.
func TestMultiInstanceHonestClients(t *testing.T) {
	base := os.Getenv("RESTAUTH_TEST_POSTGRES")
	if base == "" {
		t.Skip("RESTAUTH_TEST_POSTGRES not set: skipping the multi-instance PostgreSQL test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the multi-instance test, which builds and runs the binary")
	}
	bin := buildBinary(t)
	db := freshPostgresSchema(t, base)
	// The per-IP limit stays at its default: honest clients must pass it
	// too. The periodic revocation sync is pushed out of reach, so what
	// propagates within the test's bounds came through LISTEN/NOTIFY.
	args := func(extra ...string) []string {
		return append([]string{
			"--db", db,
			"--argon2-memory", "8192", "--argon2-time", "1", "--hash-wait", "20s",
			"--revocation-sync", "1h", "--key-reload", "1h",
		}, extra...)
	}
	type pair struct {
		name string
		a, b *peer
	}
	var pairs []pair
	var wg sync.WaitGroup
	var cacheOn, cacheOff pair
	wg.Go(func() { cacheOn.a = startInstance(t, bin, "A", args()...) })
	wg.Go(func() { cacheOn.b = startInstance(t, bin, "B", args()...) })
	wg.Wait()
	wg.Go(func() { cacheOff.a = startInstance(t, bin, "C", args("--credential-cache-ttl", "0")...) })
	wg.Go(func() { cacheOff.b = startInstance(t, bin, "D", args("--credential-cache-ttl", "0")...) })
	wg.Wait()
	if cacheOn.a == nil || cacheOn.b == nil || cacheOff.a == nil || cacheOff.b == nil {
		t.FailNow()
	}
	cacheOn.name, cacheOff.name = "cache on", "cache off"
	pairs = append(pairs, cacheOn, cacheOff)
	const password = "correct horse battery staple"

	for i, p := range pairs {
		t.Run("32 parallel correct passwords, "+p.name, func(t *testing.T) {
			name := []string{"carol", "dave"}[i]
			if r := mustSend(t, "POST", p.a.base+"/api/users", registerBody(name, password), ""); r.status != http.StatusCreated {
				t.Fatalf("register %s: %d %s", name, r.status, r.raw)
			}
			for _, route := range []struct{ method, path string }{{"GET", "/api/resource"}, {"POST", "/api/tokens"}} {
				const n = 32
				statuses := make([]int, n)
				errs := make([]error, n)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for j := range n {
					in := []*peer{p.a, p.b}[j%2]
					wg.Go(func() {
						<-start
						r, err := send(route.method, in.base+route.path, "", basicAuth(name, password))
						statuses[j], errs[j] = r.status, err
					})
				}
				close(start)
				wg.Wait()
				counts := map[int]int{}
				for j, s := range statuses {
					if errs[j] != nil {
						t.Errorf("%s %s #%d: %v", route.method, route.path, j, errs[j])
					}
					counts[s]++
				}
				if counts[http.StatusOK] != n {
					t.Errorf("%d parallel correct %s %s split over two instances: statuses %v, want all %d answered 200", n, route.method, route.path, counts, n)
				}
			}
		})
	}

	a, b := cacheOn.a, cacheOn.b
	// waitRefused polls b until the password is refused, through the
	// shared awaitRefused: the time it took is logged, and only a bound far
	// above it (10 s) fails the test, so that a busy machine cannot.
	waitRefused := func(t *testing.T, name, pw string, since time.Time) {
		t.Helper()
		awaitRefused(t, b.base+"/api/resource", basicAuth(name, pw), since, "B, the password changed or revoked on A")
	}
	// cached makes B verify the password and cache it.
	cached := func(t *testing.T, name, pw string) {
		t.Helper()
		for range 2 {
			if r := mustSend(t, "GET", b.base+"/api/resource", "", basicAuth(name, pw)); r.status != http.StatusOK {
				t.Fatalf("Basic on B as %s: %d %s, want 200", name, r.status, r.raw)
			}
		}
	}

	t.Run("password change on A without any session stops the old password on B", func(t *testing.T) {
		if r := mustSend(t, "POST", a.base+"/api/users", registerBody("erin", password), ""); r.status != http.StatusCreated {
			t.Fatalf("register erin: %d %s", r.status, r.raw)
		}
		cached(t, "erin", password)
		body, _ := json.Marshal(map[string]string{"current_password": password, "new_password": "a brand new passphrase"})
		r := mustSend(t, "PUT", a.base+"/api/users/me/password", string(body), basicAuth("erin", password))
		if r.status != http.StatusNoContent {
			t.Fatalf("password change on A: %d %s, want 204", r.status, r.raw)
		}
		changed := time.Now()
		if r := mustSend(t, "GET", a.base+"/api/resource", "", basicAuth("erin", password)); r.status != http.StatusUnauthorized {
			t.Errorf("old password on A after the change on A: %d, want 401", r.status)
		}
		waitRefused(t, "erin", password, changed)
		if r := mustSend(t, "GET", b.base+"/api/resource", "", basicAuth("erin", "a brand new passphrase")); r.status != http.StatusOK {
			t.Errorf("new password on B: %d %s, want 200", r.status, r.raw)
		}
	})

	t.Run("deletion on A stops the password on B", func(t *testing.T) {
		if r := mustSend(t, "POST", a.base+"/api/users", registerBody("frank", password), ""); r.status != http.StatusCreated {
			t.Fatalf("register frank: %d %s", r.status, r.raw)
		}
		cached(t, "frank", password)
		body, _ := json.Marshal(map[string]string{"password": password})
		r := mustSend(t, "DELETE", a.base+"/api/users/me", string(body), basicAuth("frank", password))
		if r.status != http.StatusNoContent {
			t.Fatalf("delete on A: %d %s, want 204", r.status, r.raw)
		}
		waitRefused(t, "frank", password, time.Now())
	})

	t.Run("renewals with the password keep one session across instances", func(t *testing.T) {
		if r := mustSend(t, "POST", a.base+"/api/users", registerBody("gina", password), ""); r.status != http.StatusCreated {
			t.Fatalf("register gina: %d %s", r.status, r.raw)
		}
		var tok string
		for i := range 6 {
			tok = getToken(t, []*peer{a, b}[i%2], "gina", password)
		}
		r := mustSend(t, "GET", a.base+"/api/sessions", "", "Bearer "+tok)
		list, _ := r.body["sessions"].([]any)
		if r.status != http.StatusOK || len(list) != 1 {
			t.Errorf("GET /api/sessions after 6 renewals split over A and B: %d, %d sessions (%s); want 200 and 1", r.status, len(list), r.raw)
		}
	})
}
