package main

import (
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestMultiInstanceAPIKeys runs two processes of the real binary on one
// database: a personal API key made on A works on B, and once revoked on A
// it is refused on B through the revocation feed. On PostgreSQL the
// periodic sync is pushed out of reach, so the refusal can only come
// through LISTEN/NOTIFY; on SQLite it comes with the periodic sync (every
// second by default). The elapsed time is logged; the bound is far above
// it, so that a busy machine cannot fail the test.
func TestMultiInstanceAPIKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the multi-instance test, which builds and runs the binary")
	}
	bin := buildBinary(t)
	stores := map[string][]string{
		"sqlite": {"--db", filepath.Join(t.TempDir(), "restauth.db")},
	}
	if base := os.Getenv("RESTAUTH_TEST_POSTGRES"); base != "" {
		stores["postgres"] = []string{"--db", freshPostgresSchema(t, base), "--revocation-sync", "1h"}
	}
	for name, db := range stores {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"--argon2-memory", "8192", "--argon2-time", "1"}, db...)
			a := startInstance(t, bin, "A", args...)
			// B starts once A has migrated a SQLite file.
			b := startInstance(t, bin, "B", args...)
			const password = "correct horse battery staple"
			if r := mustSend(t, "POST", a.base+"/api/users", registerBody("alice", password), ""); r.status != http.StatusCreated {
				t.Fatalf("register: %d %s", r.status, r.raw)
			}
			tok := getToken(t, a, "alice", password)
			r := mustSend(t, "POST", a.base+"/api/keys", `{"name":"ci"}`, "Bearer "+tok)
			key, _ := r.body["key"].(string)
			id, _ := r.body["id"].(string)
			if r.status != http.StatusCreated || key == "" {
				t.Fatalf("POST /api/keys on A: %d %s, want 201 with a key", r.status, r.raw)
			}
			var wg sync.WaitGroup
			for _, in := range []*peer{a, b} {
				wg.Go(func() {
					if r := mustSend(t, "GET", in.base+"/api/resource", "", "Bearer "+key); r.status != http.StatusOK || r.body["data"] != "Hello, alice!" {
						t.Errorf("key on %s: %d %s, want 200 Hello, alice!", in.name, r.status, r.raw)
					}
				})
			}
			wg.Wait()
			if r := mustSend(t, "DELETE", a.base+"/api/keys/"+id, "", basicAuth("alice", password)); r.status != http.StatusNoContent {
				t.Fatalf("DELETE /api/keys on A: %d %s, want 204", r.status, r.raw)
			}
			revoked := time.Now()
			if r := mustSend(t, "GET", a.base+"/api/resource", "", basicAuth(key, "")); r.status != http.StatusUnauthorized {
				t.Errorf("revoked key on A: %d, want 401 at once", r.status)
			}
			awaitRefused(t, b.base+"/api/resource", "Bearer "+key, revoked, "B, the key revoked on A")
		})
	}
}

// awaitRefused sends GET url with auth until it is answered 401, and logs
// how long after since that came. An answer other than 200 or 401, or none
// within 10 s, fails the test: the bound is far above what a revocation
// takes, so that a busy machine cannot fail the test; the figure is logged.
func awaitRefused(t *testing.T, url, auth string, since time.Time, what string) {
	t.Helper()
	for {
		r := mustSend(t, "GET", url, "", auth)
		elapsed := time.Since(since)
		if r.status == http.StatusUnauthorized {
			t.Logf("%s: refused %v later", what, elapsed.Round(time.Microsecond))
			return
		}
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s, want 200 or 401", what, r.status, r.raw)
		}
		if elapsed > 10*time.Second {
			t.Fatalf("%s: still accepted %v later", what, elapsed.Round(time.Millisecond))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
