package httpapi

import (
	"context"
	"testing"
)

// TestSignupClosed checks that an invite-only deployment refuses
// registrations through the API with 403 forbidden and stores nothing,
// while an operator can still add a user and that user signs in.
func TestSignupClosed(t *testing.T) { forEachStore(t, testSignupClosed) }

func testSignupClosed(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(c *restauthConfig, _ *Config) { c.SignupClosed = true })
	r := e.do("POST", "/api/users", `{"username":"mallory","password":"correct horse battery"}`)
	wantStatus(t, r, 403, "forbidden")
	if got := e.userCount(); got != 0 {
		t.Fatalf("users after a refused registration = %d, want 0", got)
	}
	if _, err := e.svc.AddUser(context.Background(), "alice", "correct horse battery"); err != nil {
		t.Fatalf("AddUser with sign-up closed: %v, want nil", err)
	}
	r = e.do("GET", "/api/resource", "", "Authorization", basic("alice", "correct horse battery"))
	wantStatus(t, r, 200, "")
}
