package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
)

// noThrottle turns off the tarpit and the per-IP limits, for tests about
// something else that must not be answered with 429.
func noThrottle(c *restauthConfig, _ *Config) {
	c.AccountMaxFailures = 0
	c.LoginIPLimit = 0
	c.RegisterIPLimit = 0
}

// send is e.do for other goroutines: it returns an error instead of
// stopping the test.
func (e *testEnv) send(method, path, body string, header ...string) (*response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	r := &response{status: res.StatusCode, header: res.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r, nil
}

// spoofHeaders claims the client address ip in every header a proxy or a
// CDN might use.
func spoofHeaders(ip string) []string {
	return []string{
		"X-Forwarded-For", ip,
		"Forwarded", "for=" + ip,
		"X-Real-IP", ip,
		"True-Client-IP", ip,
		"CF-Connecting-IP", ip,
	}
}

func wantRetryAfter(t *testing.T, r *response) {
	t.Helper()
	ra := r.header.Get("Retry-After")
	if n, err := strconv.Atoi(ra); err != nil || n < 1 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", ra)
	}
}

// TestSpoofedForwardingHeadersIgnored checks that without trusted proxies
// no header moves a client to a fresh per-IP budget.
func TestSpoofedForwardingHeadersIgnored(t *testing.T) {
	forEachStore(t, testSpoofedForwardingHeadersIgnored)
}

func testSpoofedForwardingHeadersIgnored(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(c *restauthConfig, _ *Config) {
		c.LoginIPLimit = 3
		c.RegisterIPLimit = 2
		c.AccountMaxFailures = 0 // Only the per-IP limit may answer 429.
	})

	t.Run("register", func(t *testing.T) {
		for i := range 2 {
			body := `{"username":"user` + itoa(i) + `","password":"correct horse battery"}`
			wantStatus(t, e.do("POST", "/api/users", body, spoofHeaders("203.0.113."+itoa(50+i))...), 201, "")
		}
		r := e.do("POST", "/api/users", `{"username":"user9","password":"correct horse battery"}`, spoofHeaders("203.0.113.99")...)
		wantStatus(t, r, 429, "too_many_requests")
		wantRetryAfter(t, r)
		if n := e.userCount(); n != 2 {
			t.Errorf("users = %d, want 2: a registration over the limit was stored", n)
		}
	})

	t.Run("session records the socket address", func(t *testing.T) {
		access, _ := e.login("user0", "correct horse battery")
		r := e.do("GET", "/api/sessions", "", append([]string{"Authorization", "Bearer " + access}, spoofHeaders("203.0.113.7")...)...)
		wantStatus(t, r, 200, "")
		if got := r.json["sessions"].([]any)[0].(map[string]any)["client_ip"]; got != "127.0.0.1" {
			t.Errorf("session client_ip = %v, want 127.0.0.1", got)
		}
	})

	t.Run("login", func(t *testing.T) {
		// Failures through the login route and through Basic on a protected
		// route count against the same budget.
		routes := []struct{ method, path string }{{"POST", "/api/tokens"}, {"GET", "/api/resource"}, {"POST", "/api/tokens"}}
		for i, rt := range routes {
			h := append([]string{"Authorization", basic("nobody"+itoa(i), "correct horse battery")}, spoofHeaders("203.0.113."+itoa(i+1))...)
			wantStatus(t, e.do(rt.method, rt.path, "", h...), 401, "invalid_credentials")
		}
		// The limit is reached: every route refuses, whatever the headers say.
		for i, rt := range routes[:2] {
			h := append([]string{"Authorization", basic("nobody"+itoa(10+i), "correct horse battery")}, spoofHeaders("198.51.100."+itoa(i+1))...)
			r := e.do(rt.method, rt.path, "", h...)
			wantStatus(t, r, 429, "too_many_requests")
			wantRetryAfter(t, r)
		}
	})
}

// TestTrustedProxyRightmostUntrustedHop checks that behind a trusted proxy
// each client has its own budget, keyed by the hop the proxy vouches for.
func TestTrustedProxyRightmostUntrustedHop(t *testing.T) {
	forEachStore(t, testTrustedProxyRightmostUntrustedHop)
}

func testTrustedProxyRightmostUntrustedHop(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(c *restauthConfig, h *Config) {
		c.LoginIPLimit = 2
		c.AccountMaxFailures = 0
		h.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	fail := func(header ...string) *response {
		t.Helper()
		return e.do("POST", "/api/tokens", "", append([]string{"Authorization", basic("nobody", "correct horse battery")}, header...)...)
	}
	// Client A prepends whatever it likes; the proxy appends A's real
	// address, which is what counts.
	wantStatus(t, fail("X-Forwarded-For", "10.9.9.1, 198.51.100.7"), 401, "invalid_credentials")
	wantStatus(t, fail("X-Forwarded-For", "192.0.2.1, 10.9.9.2, 198.51.100.7"), 401, "invalid_credentials")
	for _, h := range [][]string{
		{"X-Forwarded-For", "203.0.113.200, 198.51.100.7"},
		{"X-Forwarded-For", "198.51.100.7"},
		{"X-Forwarded-For", "198.51.100.7, 127.0.0.1"}, // A hop the proxy itself added is skipped.
		{"Forwarded", "for=203.0.113.5, for=198.51.100.7"},
		{"X-Forwarded-For", "::ffff:198.51.100.7"},
	} {
		r := fail(h...)
		if r.status != 429 {
			t.Errorf("%s: %s: status %d, want 429 (client A's budget is spent); body %s", h[0], h[1], r.status, r.body)
		}
	}
	// Client B, and the proxy's own address, have budgets of their own.
	wantStatus(t, fail("X-Forwarded-For", "198.51.100.8"), 401, "invalid_credentials")
	wantStatus(t, fail(), 401, "invalid_credentials")

	// The session records the resolved address too.
	e.register("alice", "correct horse battery")
	r := e.do("POST", "/api/tokens", "", "Authorization", basic("alice", "correct horse battery"), "X-Forwarded-For", "6.6.6.6, 198.51.100.9")
	wantStatus(t, r, 200, "")
	r = e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+r.json["access_token"].(string))
	if got := r.json["sessions"].([]any)[0].(map[string]any)["client_ip"]; got != "198.51.100.9" {
		t.Errorf("session client_ip = %v, want 198.51.100.9", got)
	}
}

// TestConcurrentGuessesRespectLimits fires a burst of concurrent wrong
// guesses at one account from one address. The tarpit and the per-IP limit
// must hold under concurrency: at most 5 guesses may be hashed before the
// tarpit answers 429. The tarpit's first delay is an hour (withSlowTarpit),
// so that a burst slower than the default one second cannot earn a sixth
// guess on a busy machine.
func TestConcurrentGuessesRespectLimits(t *testing.T) {
	// Each guess is counted atomically before it is hashed, so a burst
	// cannot slip past the check before the first failure is recorded.
	e := newEnv(t, func(c *restauthConfig, _ *Config) { c.LoginIPLimit = 10 }, withSlowTarpit)
	e.register("alice", "correct horse battery")
	const burst = 40
	statuses := make(chan int, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.send("POST", "/api/tokens", "", "Authorization", basic("alice", "wrong horse battery"))
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[401] > 5 {
		t.Errorf("%d concurrent guesses: statuses %v, want at most 5 hashed (401) and the rest 429", burst, counts)
	}
}

// hashCounter counts the hash computations a password hasher performs,
// and the argon2 parameters of each hash it verifies.
type hashCounter struct {
	restauth.PasswordHasher
	mu       sync.Mutex
	hashes   int
	verified []string // The parameter field of each verified hash.
}

func (c *hashCounter) Hash(ctx context.Context, pw string) (string, error) {
	c.mu.Lock()
	c.hashes++
	c.mu.Unlock()
	return c.PasswordHasher.Hash(ctx, pw)
}

func (c *hashCounter) Verify(ctx context.Context, pw, hash string) (bool, bool, error) {
	params := "unparsed"
	if f := strings.Split(hash, "$"); len(f) == 6 {
		params = f[1] + " " + f[3]
	}
	c.mu.Lock()
	c.verified = append(c.verified, params)
	c.mu.Unlock()
	return c.PasswordHasher.Verify(ctx, pw, hash)
}

// take returns and resets the counts.
func (c *hashCounter) take() (hashes int, verified []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hashes, verified = c.hashes, c.verified
	c.hashes, c.verified = 0, nil
	return hashes, verified
}

// TestLoginTimingDoesNotRevealAccounts checks, through the HTTP API, that
// an unknown username, a wrong password and an empty password cost the
// same: exactly one argon2id verification at the production parameters,
// and no other hashing. It counts the work rather than timing it, so that
// it decides the same on a busy machine; the wall-clock figure is measured
// by cmd/restauth-bench's login-timing scenario.
func TestLoginTimingDoesNotRevealAccounts(t *testing.T) {
	hasher := &hashCounter{PasswordHasher: password.New(password.Options{Params: password.DefaultParams})}
	e := newEnvWith(t, envExtras{hasher: hasher}, noThrottle)
	e.register("alice", "correct horse battery")
	kinds := []struct{ name, auth string }{
		{"unknown user", basic("mallory", "correct horse battery")},
		{"wrong password", basic("alice", "wrong horse battery")},
		{"empty password", basic("alice", "")},
		{"over-long password", basic("alice", strings.Repeat("x", 2000))},
	}
	// The first unknown user computes the dummy hash, once per process.
	wantStatus(t, e.do("POST", "/api/tokens", "", "Authorization", kinds[0].auth), 401, "invalid_credentials")
	hasher.take()

	p := password.DefaultParams
	want := fmt.Sprintf("argon2id m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
	for round := range 2 {
		for _, k := range kinds {
			wantStatus(t, e.do("POST", "/api/tokens", "", "Authorization", k.auth), 401, "invalid_credentials")
			hashes, verified := hasher.take()
			if hashes != 0 || len(verified) != 1 || verified[0] != want {
				t.Errorf("round %d, %s: %d hashes and verifications %q; want 0 hashes and exactly one verification at %q",
					round, k.name, hashes, verified, want)
			}
		}
	}
}

// heldHasher verifies passwords through a real password.Gate and, while
// holding is on, keeps each admitted verification in its slot until the
// test releases it. A test then decides what happens while hashing is
// saturated, instead of racing a slow hash against the clock.
type heldHasher struct {
	restauth.PasswordHasher
	gate    *password.Gate
	hold    atomic.Pointer[chan struct{}] // Nil: no holding.
	entered chan struct{}                 // One send per held verification.
}

func (h *heldHasher) Verify(ctx context.Context, pw, hash string) (bool, bool, error) {
	if err := h.gate.Acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.gate.Release()
	if hold := h.hold.Load(); hold != nil {
		h.entered <- struct{}{}
		<-*hold
	}
	return h.PasswordHasher.Verify(ctx, pw, hash)
}

// Saturated lets the Service shed before any store work, as it does with
// password.Hasher.
func (h *heldHasher) Saturated() bool { return h.gate.Saturated() }

// TestAdmissionGate saturates a one-slot gate with one queue place using
// password logins and checks that the overflow gets 503 overloaded with
// Retry-After, while token-authenticated requests and refusals that need no
// hash are answered as long as the slot is held: they never wait behind
// hashing. The slot is held until the test releases it, so the order is
// decided, not raced.
func TestAdmissionGate(t *testing.T) {
	const logins = 8
	h := &heldHasher{
		PasswordHasher: password.New(password.Options{Params: fastParams}),
		gate:           password.NewGate(1, 1, time.Hour),
		entered:        make(chan struct{}, logins),
	}
	e := newEnvWith(t, envExtras{hasher: h}, noThrottle)
	e.register("alice", "correct horse battery")
	r := e.do("GET", "/api/token", "", "Authorization", basic("alice", "correct horse battery"))
	wantStatus(t, r, 200, "")
	token := r.json["token"].(string)
	users := e.userCount()

	release := make(chan struct{})
	h.hold.Store(&release)
	results := make(chan *response, logins)
	for i := range logins {
		go func() {
			// Half log in, half use Basic with a password on a protected
			// route: both spend a hash and both pass the same gate.
			method, path := "POST", "/api/tokens"
			if i%2 == 1 {
				method, path = "GET", "/api/resource"
			}
			r, err := e.send(method, path, "", "Authorization", basic("alice", "wrong horse battery"))
			if err != nil {
				t.Error(err)
				r = &response{}
			}
			results <- r
		}()
	}
	// One login holds the slot and one waits in the queue; the other six
	// are refused at once.
	<-h.entered
	for range logins - 2 {
		r := <-results
		if r.status != 503 || r.json["error"] != "overloaded" {
			t.Errorf("login beyond the slot and the queue: %d %s, want 503 overloaded", r.status, r.body)
			continue
		}
		wantRetryAfter(t, r)
	}

	// While the slot is held: token requests, and a registration refused
	// before hashing.
	type probe struct {
		name   string
		method string
		path   string
		body   string
		auth   string
		status int
		code   string
	}
	probes := []probe{
		{"register over-long password", "POST", "/api/users", `{"username":"bob","password":"` + strings.Repeat("x", 257) + `"}`, "", 400, "password_too_long"},
	}
	for i := range 20 {
		switch i % 3 {
		case 0:
			probes = append(probes, probe{"bearer", "GET", "/api/resource", "", "Bearer " + token, 200, ""})
		case 1:
			probes = append(probes, probe{"basic token", "GET", "/api/resource", "", basic(token, ""), 200, ""})
		case 2:
			probes = append(probes, probe{"renew", "GET", "/api/token", "", "Bearer " + token, 200, ""})
		}
	}
	for _, p := range probes {
		var hdr []string
		if p.auth != "" {
			hdr = []string{"Authorization", p.auth}
		}
		r := e.do(p.method, p.path, p.body, hdr...)
		if r.status != p.status || (p.code != "" && r.json["error"] != p.code) {
			t.Errorf("%s while hashing is saturated: %d %s, want %d %s", p.name, r.status, r.body, p.status, p.code)
		}
	}
	select {
	case r := <-results:
		t.Errorf("a login held in the gate answered %d %s before its slot was released", r.status, r.body)
	default:
	}

	// Released, the held login and the queued one are hashed and refused.
	h.hold.Store(nil)
	close(release)
	for range 2 {
		if r := <-results; r.status != 401 {
			t.Errorf("login admitted by the gate: %d %s, want 401 after its hash", r.status, r.body)
		}
	}
	if n := e.userCount(); n != users {
		t.Errorf("users = %d, want %d: a refused registration was stored", n, users)
	}
}

// TestHostileJSON adds to TestRegisterBadInput the hostile bodies it does
// not cover; each is refused with 400 and stores nothing.
func TestHostileJSON(t *testing.T) { forEachStore(t, testHostileJSON) }

// hostileJSON is TestHostileJSON's table; FuzzAPI starts from it too.
var hostileJSON = func() []struct{ name, body, code string } {
	const pw = `"correct horse battery"`
	return []struct{ name, body, code string }{
		{"username of 10,000 characters", `{"username":"` + strings.Repeat("a", 10000) + `","password":` + pw + `}`, "invalid_username"},
		{"username of 10,000 multibyte characters", `{"username":"` + strings.Repeat("é", 10000) + `","password":` + pw + `}`, "invalid_username"},
		{"duplicate key spelled with an escape", `{"username":"bob","user\u006eame":"eve","password":` + pw + `}`, "invalid_json"},
		{"duplicate password", `{"username":"bob","password":` + pw + `,"PASSWORD":"another fine passphrase"}`, "invalid_json"},
		{"number password", `{"username":"bob","password":12345678901}`, "invalid_json"},
		{"huge number", `{"username":1e999,"password":` + pw + `}`, "invalid_json"},
		{"null password", `{"username":"bob","password":null}`, "invalid_json"},
		{"array password", `{"username":"bob","password":[` + pw + `]}`, "invalid_json"},
		{"deep nesting", `{"username":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `,"password":` + pw + `}`, "invalid_json"},
		{"byte order mark", "\ufeff" + `{"username":"bob","password":` + pw + `}`, "invalid_json"},
		{"empty body", ``, "invalid_json"},
		{"lone high surrogate", `{"username":"bo\ud800b","password":` + pw + `}`, "invalid_json"},
		{"lone low surrogate", `{"username":"bob","password":"correct\udc00horse battery"}`, "invalid_json"},
		{"reversed surrogates", `{"username":"bo\udc00\ud800b","password":` + pw + `}`, "invalid_json"},
		{"invalid UTF-8 in a key", "{\"user\xc0name\":\"bob\",\"password\":" + pw + "}", "invalid_json"},
		{"overlong UTF-8", "{\"username\":\"b\xc0\xafb\",\"password\":" + pw + "}", "invalid_json"},
		{"UTF-8 surrogate", "{\"username\":\"b\xed\xa0\x80b\",\"password\":" + pw + "}", "invalid_json"},
		{"NUL in password", `{"username":"bob","password":"correct\u0000horse battery"}`, "invalid_request"},
		{"control character in password", `{"username":"bob","password":"correct\u001bhorse battery"}`, "invalid_request"},
		{"DEL in username", `{"username":"bo` + "\x7f" + `b","password":` + pw + `}`, "invalid_username"},
		{"C1 control in username", `{"username":"bo\u0085b","password":` + pw + `}`, "invalid_username"},
		{"bidi override in username", `{"username":"bo\u202eb","password":` + pw + `}`, "invalid_username"},
		{"zero-width space in username", `{"username":"bo\u200bb","password":` + pw + `}`, "invalid_username"},
		{"line separator in username", `{"username":"bob\u2028","password":` + pw + `}`, "invalid_username"},
	}
}()

func testHostileJSON(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, noThrottle)
	for _, tt := range hostileJSON {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/users", tt.body, "Content-Type", "application/json")
			wantStatus(t, r, 400, tt.code)
			if n := e.userCount(); n != 0 {
				t.Errorf("users = %d, want 0: a refused registration was stored", n)
			}
		})
	}
	// A surrogate pair that encodes a real character is fine.
	r := e.do("POST", "/api/users", `{"username":"bob\ud83d\ude00","password":"correct horse battery"}`)
	wantStatus(t, r, 201, "")
	if got := r.json["username"]; got != "bob😀" {
		t.Errorf("username = %q, want %q", got, "bob😀")
	}
}

// TestOversizedBodyClosesConnection checks that every body reader answers
// 413 and asks for the connection to be closed, so that net/http does not
// wait to drain the rest of a body the handler will never use.
func TestOversizedBodyClosesConnection(t *testing.T) {
	forEachStore(t, testOversizedBodyClosesConnection)
}

func testOversizedBodyClosesConnection(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(_ *restauthConfig, h *Config) {
		h.IntrospectClients = map[string]string{"gw": "s3cret-s3cret-s3cret"}
	})
	big := strings.Repeat("x", MaxBodyBytes+1)
	tests := []struct {
		name, method, path, body string
		header                   []string
	}{
		{"register", "POST", "/api/users", `{"username":"` + big + `"}`, nil},
		{"login", "POST", "/api/tokens", `{"username":"` + big + `"}`, nil},
		{"refresh", "POST", "/api/tokens/refresh", `{"refresh_token":"` + big + `"}`, nil},
		{"introspect form", "POST", "/api/introspect", "token=" + big,
			[]string{"Content-Type", "application/x-www-form-urlencoded", "Authorization", basic("gw", "s3cret-s3cret-s3cret")}},
		{"introspect json", "POST", "/api/introspect", `{"token":"` + big + `"}`,
			[]string{"Authorization", basic("gw", "s3cret-s3cret-s3cret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 413 || !bytes.Contains(body, []byte(`"body_too_large"`)) {
				t.Errorf("got %d %s, want 413 body_too_large", res.StatusCode, body)
			}
			if !res.Close {
				t.Error("the response does not close the connection")
			}
		})
	}
	if n := e.userCount(); n != 0 {
		t.Errorf("users = %d, want 0", n)
	}
}

// FuzzDecodeStringsNoReplacement checks that the body decoder never lets
// encoding/json substitute U+FFFD for something it could not represent: a
// replacement character in a decoded value must have been in the body.
func FuzzDecodeStringsNoReplacement(f *testing.F) {
	for _, s := range []string{
		`{"username":"a\ud800b","password":"x"}`, `{"username":"\udc00"}`, `{"username":"\ud83d\ude00"}`,
		`{"username":"\ufffd"}`, `{"username":"` + "\ufffd" + `"}`, `{"username":"\\ud800"}`,
		`{"username":"\ud800\u0041"}`, `{"username":"\ud800\\"}`, `{"u\ud800sername":"a"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // readBody refuses it before decodeStrings.
		}
		m, err := decodeStrings(body, "username", "password")
		if err != nil {
			return
		}
		for k, v := range m {
			if !strings.ContainsRune(v, utf8.RuneError) {
				continue
			}
			if !bytes.ContainsRune(body, utf8.RuneError) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
				t.Fatalf("decodeStrings(%q)[%q] = %q: a replacement character the body did not contain", body, k, v)
			}
		}
	})
}

// lockedBuffer is a log sink safe for concurrent handlers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// leakMarkers are fragments of internal detail that must never reach a
// client: SQL, driver and runtime text, and file paths.
var leakMarkers = []string{
	"sql", "SELECT", "INSERT", "UPDATE", "DELETE FROM", "table", "database", "closed", "modernc",
	"goroutine", "panic", ".go", "/tmp", "/work", "runtime", "restauth/", "argon2", "password:",
}

// TestStoreFailuresAreGeneric closes the database under the running server:
// every request that needs it fails with a generic body, while the cause
// reaches only the log. The credential cache is off: a password verified
// moments before would otherwise be accepted from memory, without the
// database, as an access token is.
func TestStoreFailuresAreGeneric(t *testing.T) {
	var logs lockedBuffer
	e := newEnvWith(t, envExtras{logger: slog.New(slog.NewTextHandler(&logs, nil))}, withCredentialCacheTTL(0))
	e.register("alice", "correct horse battery")
	access, refresh := e.login("alice", "correct horse battery")
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, method, path, body string
		header                   []string
	}{
		{"register", "POST", "/api/users", `{"username":"bob","password":"correct horse battery"}`, nil},
		{"login basic", "POST", "/api/tokens", "", []string{"Authorization", basic("alice", "correct horse battery")}},
		{"login json", "POST", "/api/tokens", `{"username":"alice","password":"correct horse battery"}`, nil},
		{"basic on a protected route", "GET", "/api/resource", "", []string{"Authorization", basic("alice", "correct horse battery")}},
		{"get user", "GET", "/api/users/1", "", nil},
		{"refresh", "POST", "/api/tokens/refresh", refreshBody(refresh), nil},
		{"renew", "GET", "/api/token", "", []string{"Authorization", "Bearer " + access}},
		{"list sessions", "GET", "/api/sessions", "", []string{"Authorization", "Bearer " + access}},
		{"logout", "POST", "/api/logout", "", []string{"Authorization", "Bearer " + access}},
		{"readiness", "GET", "/readyz", "", nil},
	}
	generic := map[string]string{
		"internal_error": "an internal error occurred",
		"unavailable":    "the service is temporarily unavailable",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body, tt.header...)
			if r.status != 500 && r.status != 503 {
				t.Fatalf("status = %d, want 500 or 503; body %s", r.status, r.body)
			}
			code, _ := r.json["error"].(string)
			if msg, ok := generic[code]; !ok || r.json["message"] != msg || len(r.json) != 2 {
				t.Errorf("body = %s, want exactly a generic error code and message", r.body)
			}
			for _, m := range leakMarkers {
				if strings.Contains(strings.ToLower(string(r.body)), strings.ToLower(m)) {
					t.Errorf("body %s contains %q", r.body, m)
				}
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers = %v, want nosniff and no-store on errors too", r.header)
			}
		})
	}
	// Access tokens are verified in memory: they keep working.
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access), 200, "")
	if !strings.Contains(logs.String(), "database is closed") {
		t.Errorf("log = %q, want the cause for the operator", logs.String())
	}
}

// TestResponseHeaders checks nosniff on every kind of response and no-store
// on every response that carries a token.
func TestResponseHeaders(t *testing.T) {
	e := newEnv(t, func(c *restauthConfig, h *Config) {
		c.LoginIPLimit = 1
		h.IntrospectClients = map[string]string{"gw": "s3cret-s3cret-s3cret"}
	})
	e.register("alice", "correct horse battery")
	pw := basic("alice", "correct horse battery")
	login := e.do("POST", "/api/tokens", `{"username":"alice","password":"correct horse battery"}`)
	access, refresh := login.json["access_token"].(string), login.json["refresh_token"].(string)

	type named struct {
		name string
		r    *response
	}
	tokens := []named{
		{"login json", login},
		{"login basic", e.do("POST", "/api/tokens", "", "Authorization", pw)},
		{"renew with password", e.do("GET", "/api/token", "", "Authorization", pw)},
		{"renew with token", e.do("GET", "/api/token", "", "Authorization", "Bearer "+access)},
		{"refresh", e.do("POST", "/api/tokens/refresh", refreshBody(refresh))},
		{"introspect", e.do("POST", "/api/introspect", "token="+access, "Content-Type", "application/x-www-form-urlencoded", "Authorization", basic("gw", "s3cret-s3cret-s3cret"))},
	}
	for _, tt := range tokens {
		wantStatus(t, tt.r, 200, "")
		if cc := tt.r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", tt.name, cc)
		}
	}

	others := []struct {
		named
		status int
	}{
		{named{"healthz", e.do("GET", "/healthz", "")}, 200},
		{named{"jwks", e.do("GET", "/.well-known/jwks.json", "")}, 200},
		{named{"register", e.do("POST", "/api/users", `{"username":"bob","password":"correct horse battery"}`)}, 201},
		{named{"resource", e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access)}, 200},
		{named{"bad json", e.do("POST", "/api/users", `{`)}, 400},
		{named{"no credentials", e.do("GET", "/api/resource", "")}, 401},
		{named{"not found", e.do("GET", "/nope", "")}, 404},
		{named{"method not allowed", e.do("PATCH", "/api/users", "")}, 405},
		{named{"too large", e.do("POST", "/api/users", `{"username":"`+strings.Repeat("x", 70<<10)+`"}`)}, 413},
		{named{"media type", e.do("POST", "/api/users", "x", "Content-Type", "text/plain")}, 415},
		{named{"wrong password", e.do("POST", "/api/tokens", "", "Authorization", basic("alice", "wrong horse battery"))}, 401},
		{named{"ip limit", e.do("POST", "/api/tokens", "", "Authorization", basic("alice", "wrong horse battery"))}, 429},
		{named{"logout", e.do("POST", "/api/logout", "", "Authorization", "Bearer "+access)}, 204},
	}
	all := tokens
	for _, tt := range others {
		if tt.r.status != tt.status {
			t.Errorf("%s: status %d, want %d; body %s", tt.name, tt.r.status, tt.status, tt.r.body)
		}
		all = append(all, tt.named)
	}
	for _, tt := range all {
		if got := tt.r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%d): X-Content-Type-Options = %q, want nosniff", tt.name, tt.r.status, got)
		}
		if got := tt.r.header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s (%d): Referrer-Policy = %q, want no-referrer", tt.name, tt.r.status, got)
		}
		if got := tt.r.header.Get("Strict-Transport-Security"); got != "" {
			t.Errorf("%s (%d): Strict-Transport-Security = %q over plain HTTP, want none", tt.name, tt.r.status, got)
		}
	}
}

// corsHeaders returns the response's Access-Control-* headers.
func corsHeaders(h http.Header) []string {
	var out []string
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out = append(out, k+": "+strings.Join(v, ", "))
		}
	}
	slices.Sort(out)
	return out
}

func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	hostile := []string{
		"https://evil.example.net", "null", "https://app.example.com.evil.net", "https://evil.net/https://app.example.com",
		"http://app.example.com", "https://app.example.com:8443", "https://APP.example.com", "https://app.example.com/",
		"https://xapp.example.com", "*",
	}
	preflight := func(e *testEnv, origin string) *response {
		return e.do("OPTIONS", "/api/tokens", "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	}

	t.Run("off by default", func(t *testing.T) {
		e := newEnv(t)
		e.register("alice", "correct horse battery")
		for _, origin := range append([]string{app}, hostile...) {
			for _, r := range []*response{
				e.do("GET", "/api/resource", "", "Origin", origin, "Authorization", basic("alice", "correct horse battery")),
				e.do("POST", "/api/tokens", "", "Origin", origin, "Authorization", basic("alice", "correct horse battery")),
				preflight(e, origin),
			} {
				if got := corsHeaders(r.header); len(got) != 0 {
					t.Errorf("Origin %q: CORS headers %q, want none when CORS is not configured", origin, got)
				}
			}
			if r := preflight(e, origin); r.status == http.StatusNoContent {
				t.Errorf("Origin %q: preflight status %d, want a refusal", origin, r.status)
			}
		}
	})

	t.Run("configured", func(t *testing.T) {
		e := newEnv(t, func(_ *restauthConfig, h *Config) { h.CORSOrigins = []string{app, "https://admin.example.com"} })
		e.register("alice", "correct horse battery")
		r := e.do("POST", "/api/tokens", "", "Origin", app, "Authorization", basic("alice", "correct horse battery"))
		wantStatus(t, r, 200, "")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != app {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, app)
		}
		if got := r.header.Get("Access-Control-Allow-Credentials"); got != "true" {
			t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
		}
		if !slices.Contains(r.header.Values("Vary"), "Origin") {
			t.Errorf("Vary = %q, want Origin", r.header.Values("Vary"))
		}

		p := preflight(e, app)
		if p.status != http.StatusNoContent {
			t.Errorf("preflight from %s: status %d, want 204", app, p.status)
		}
		if got := p.header.Get("Access-Control-Allow-Origin"); got != app {
			t.Errorf("preflight Access-Control-Allow-Origin = %q, want %q", got, app)
		}
		for h, want := range map[string]string{"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Authorization"} {
			if !strings.Contains(p.header.Get(h), want) {
				t.Errorf("preflight %s = %q, want it to include %s", h, p.header.Get(h), want)
			}
		}
		if p.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("preflight lacks X-Content-Type-Options: nosniff")
		}

		for _, origin := range hostile {
			for _, r := range []*response{
				e.do("POST", "/api/tokens", "", "Origin", origin, "Authorization", basic("alice", "correct horse battery")),
				e.do("GET", "/healthz", "", "Origin", origin),
				preflight(e, origin),
			} {
				if got := corsHeaders(r.header); len(got) != 0 {
					t.Errorf("Origin %q: CORS headers %q, want none for an origin not on the list", origin, got)
				}
			}
			if r := preflight(e, origin); r.status == http.StatusNoContent {
				t.Errorf("Origin %q: preflight status %d, want a refusal", origin, r.status)
			}
		}
	})
}
