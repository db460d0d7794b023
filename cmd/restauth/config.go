package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
)

// config is every setting of restauth. Each is a flag and, with the
// RESTAUTH_ prefix, an environment variable; flagTable below is the one place
// where names, defaults and accepted values are declared.
type config struct {
	addr, db          string
	tlsCert, tlsKey   string
	logLevel, logFmt  string
	insecureHTTP      bool
	trustedProxies    []netip.Prefix
	corsOrigins       []string
	introspectClients map[string]string
	pages             pageConfig
	metricsAddr       string // Empty: no metrics listener.
	metricsPublic     bool
	// publicURL is the address people and other apps reach restauth at
	// (scheme, host, optional port and path prefix); empty when unset.
	// The OpenID Connect issuer and the passkey relying party derive
	// from it.
	publicURL string

	domain restauth.Config
	hash   password.Options
	// hashWorker runs hash computations in a child process at nice
	// hashNice (serve only).
	hashWorker bool
	hashNice   int

	shutdownTimeout   time.Duration
	readHeaderTimeout time.Duration
	revocationSync    time.Duration
	keyReload         time.Duration

	// onConflict and dryRun steer restauth import.
	onConflict string
	dryRun     bool
	// client holds the flags of restauth client add (client.go).
	client clientOptions
}

// defaultConfig returns the settings used when no flag or variable is given.
func defaultConfig() *config {
	return &config{
		addr:     "127.0.0.1:5000",
		db:       "./restauth.db",
		logLevel: "info",
		logFmt:   "text",
		domain:   restauth.DefaultConfig(),
		pages:    pageConfig{signup: true, productName: "restauth"},
		hash: password.Options{
			Params:        password.DefaultParams,
			MaxConcurrent: runtime.NumCPU(),
			MaxQueue:      password.DefaultMaxQueue,
			QueueTimeout:  2 * time.Second,
		},
		hashWorker:        true,
		hashNice:          defaultHashNice,
		shutdownTimeout:   10 * time.Second,
		readHeaderTimeout: 5 * time.Second,
		revocationSync:    time.Second,
		keyReload:         30 * time.Second,
	}
}

// flagDef is one setting. set parses a value given on the command line or in
// the environment; its error names the value and the accepted form, and the
// parser prefixes the flag or variable name. get shows the current value, so
// that help prints the default.
type flagDef struct {
	name  string
	arg   string // The placeholder for the value in help; "" for a switch.
	usage string
	set   func(c *config, s string) error
	get   func(c *config) string
	// toolOnly marks a flag that only the operator commands listing it
	// read; serve, which otherwise takes every flag, does not.
	toolOnly bool
}

// env is the environment variable that also sets the flag.
func (f *flagDef) env() string {
	return "RESTAUTH_" + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
}

func (f *flagDef) isSwitch() bool { return f.arg == "" }

// flagTable declares every flag. restauth serve takes them all; each
// operator command lists the few it uses (see commands in main.go). A new
// flag is one entry here, one line in docs/operations.md (a test compares
// them) and, when an operator command needs it, its name in that command's
// list.
var flagTable = []*flagDef{
	addrFlag("addr", "listen address, host:port (plain HTTP only on a loopback address unless --insecure-http)",
		func(c *config) *string { return &c.addr }),
	stringFlag("db", "PATH|URL", "database: a SQLite file path (or sqlite: URL), or a postgres:// URL",
		func(c *config) *string { return &c.db }),
	stringFlag("tls-cert", "FILE", "TLS certificate file (PEM); with --tls-key, serve HTTPS with HTTP/2 and HSTS",
		func(c *config) *string { return &c.tlsCert }),
	stringFlag("tls-key", "FILE", "TLS private key file (PEM)",
		func(c *config) *string { return &c.tlsKey }),
	boolFlag("signup", "let people create accounts at /signup (--signup=false for invite-only deployments)",
		func(c *config) *bool { return &c.pages.signup }),
	stringFlag("product-name", "NAME", "the name shown on the sign-in and account pages",
		func(c *config) *string { return &c.pages.productName }),
	stringFlag("custom-css", "FILE", "a CSS file served after the pages' own style sheet",
		func(c *config) *string { return &c.pages.customCSS }),
	stringFlag("logo", "FILE", "an image file (PNG, SVG, JPEG, WebP or GIF) shown beside the product name",
		func(c *config) *string { return &c.pages.logo }),
	urlFlag("public-url", "the public base URL of this server, such as https://auth.example.com: the OpenID Connect issuer and the passkey relying party (https, or http on a loopback host)",
		func(c *config) *string { return &c.publicURL }),
	boolFlag("insecure-http", "allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)",
		func(c *config) *bool { return &c.insecureHTTP }),
	choiceFlag("log-level", "log level", []string{"debug", "info", "warn", "error"},
		func(c *config) *string { return &c.logLevel }),
	choiceFlag("log-format", "log format", []string{"text", "json"},
		func(c *config) *string { return &c.logFmt }),
	{
		name: "trusted-proxies", arg: "CIDRS",
		usage: "comma-separated CIDRs or addresses whose X-Forwarded-*/Forwarded headers are believed",
		set: func(c *config, s string) (err error) {
			c.trustedProxies, err = parsePrefixes(s)
			return err
		},
		get: func(c *config) string {
			var out []string
			for _, p := range c.trustedProxies {
				out = append(out, p.String())
			}
			return strings.Join(out, ",")
		},
	},
	{
		name: "cors-origins", arg: "ORIGINS",
		usage: "comma-separated exact origins allowed by CORS (empty: CORS off)",
		set: func(c *config, s string) error {
			origins := splitList(s)
			for _, o := range origins {
				if o == "*" || o == "null" {
					return fmt.Errorf("%q cannot be allowed for a credentialed API; list exact origins such as https://app.example.com", o)
				}
			}
			c.corsOrigins = origins
			return nil
		},
		get: func(c *config) string { return strings.Join(c.corsOrigins, ",") },
	},
	{
		name: "introspect-clients", arg: "ID:SECRET,...",
		usage: "comma-separated id:secret pairs allowed to call POST /api/introspect (empty: disabled)",
		set: func(c *config, s string) (err error) {
			c.introspectClients, err = parseClients(s)
			return err
		},
		get: func(c *config) string {
			if len(c.introspectClients) == 0 {
				return ""
			}
			return "(set)" // Never the secrets.
		},
	},

	stringFlag("issuer", "NAME", "the iss claim of access tokens", func(c *config) *string { return &c.domain.Issuer }),
	stringFlag("audience", "NAME", "the aud claim of access tokens", func(c *config) *string { return &c.domain.Audience }),
	durationFlag("token-ttl", "access-token lifetime", time.Second, func(c *config) *time.Duration { return &c.domain.AccessTTL }),
	durationFlag("session-ttl", "absolute session lifetime", time.Second, func(c *config) *time.Duration { return &c.domain.SessionTTL }),
	durationFlag("session-idle", "a session not refreshed for this long ends", time.Second, func(c *config) *time.Duration { return &c.domain.SessionIdle }),
	durationFlag("refresh-grace", "window in which a rotated refresh token returns the same child", 0, func(c *config) *time.Duration { return &c.domain.RefreshGrace }),
	durationFlag("leeway", "clock-skew allowance for exp, nbf and iat", 0, func(c *config) *time.Duration { return &c.domain.Leeway }),
	intFlag("password-min", "minimum password length in characters", 1, 1024, func(c *config) *int { return &c.domain.MinPasswordLen }),
	intFlag("password-max", "maximum password length in characters (passwords are also limited to 1024 bytes of UTF-8)", 1, 1024, func(c *config) *int { return &c.domain.MaxPasswordLen }),
	intFlag("account-free-failures", "failed logins per account before the tarpit delay starts", 0, 1<<30, func(c *config) *int { return &c.domain.AccountFreeFailures }),
	intFlag("account-max-failures", "failed logins per account per window before logins wait for the window to end (0 disables the per-account tarpit)", 0, 1<<30, func(c *config) *int { return &c.domain.AccountMaxFailures }),
	durationFlag("account-window", "per-account failure window", time.Second, func(c *config) *time.Duration { return &c.domain.AccountWindow }),
	durationFlag("account-delay-base", "first tarpit delay after the free failures, doubled per further failure", time.Second, func(c *config) *time.Duration { return &c.domain.AccountDelayBase }),
	durationFlag("account-delay-max", "largest tarpit delay between attempts on one account", time.Second, func(c *config) *time.Duration { return &c.domain.AccountDelayMax }),
	intFlag("login-ip-limit", "failed logins per client IP per window (0 disables)", 0, 1<<30, func(c *config) *int { return &c.domain.LoginIPLimit }),
	durationFlag("login-ip-window", "per-IP failed-login window", time.Second, func(c *config) *time.Duration { return &c.domain.LoginIPWindow }),
	intFlag("register-ip-limit", "registrations per client IP per window (0 disables)", 0, 1<<30, func(c *config) *int { return &c.domain.RegisterIPLimit }),
	durationFlag("register-ip-window", "per-IP registration window", time.Second, func(c *config) *time.Duration { return &c.domain.RegisterIPWindow }),
	durationFlag("credential-cache-ttl", "how long a verified username and password are accepted without hashing again (0 turns the credential cache off)", 0,
		func(c *config) *time.Duration { return &c.domain.CredentialCacheTTL }),
	intFlag("credential-cache-size", "most verified credentials cached per process", 1, 10_000_000,
		func(c *config) *int { return &c.domain.CredentialCacheSize }),

	uint32Flag("argon2-memory", "argon2id memory in KiB", 8, 256<<10, func(c *config) *uint32 { return &c.hash.Params.Memory }),
	uint32Flag("argon2-time", "argon2id passes over the memory", 1, 16, func(c *config) *uint32 { return &c.hash.Params.Time }),
	{
		name: "argon2-threads", arg: "N", usage: "argon2id parallelism (lanes)",
		set: func(c *config, s string) error {
			v, err := parseInt(s, 1, 16)
			c.hash.Params.Threads = uint8(v)
			return err
		},
		get: func(c *config) string { return strconv.Itoa(int(c.hash.Params.Threads)) },
	},
	intFlag("hash-concurrency", "password hashes computed at once (the admission gate; default: the number of CPUs)", 1, 4096, func(c *config) *int { return &c.hash.MaxConcurrent }),
	intFlag("hash-queue", "password hashes waiting for a slot before 503 (0 selects the default)", 0, 1<<20, func(c *config) *int { return &c.hash.MaxQueue }),
	durationFlag("hash-wait", "longest wait for a hashing slot before 503 (0 selects the default)", 0, func(c *config) *time.Duration { return &c.hash.QueueTimeout }),
	boolFlag("hash-worker", "compute password hashes in child processes at a lower priority, one per hash at once up to GOMAXPROCS, so that request handling wins the CPU over a login flood (--hash-worker=false: hash in the server process)",
		func(c *config) *bool { return &c.hashWorker }),
	intFlag("hash-nice", "nice value of the hashing worker processes (0: normal priority; Linux only)", 0, 19, func(c *config) *int { return &c.hashNice }),

	addrFlag("metrics-addr", "serve Prometheus metrics at http://HOST:PORT/metrics (empty: off; loopback only unless --metrics-public)",
		func(c *config) *string { return &c.metricsAddr }),
	boolFlag("metrics-public", "allow --metrics-addr on a non-loopback address (only where the network keeps that port private)",
		func(c *config) *bool { return &c.metricsPublic }),

	durationFlag("shutdown-timeout", "grace period for in-flight requests on SIGINT/SIGTERM (a second signal cuts it short)", 0, func(c *config) *time.Duration { return &c.shutdownTimeout }),
	durationFlag("read-header-timeout", "longest time a client may take to send the request headers (cuts off slowloris clients)", time.Millisecond, func(c *config) *time.Duration { return &c.readHeaderTimeout }),
	durationFlag("revocation-sync", "how often the in-memory revocation view is resynchronised from the database", time.Millisecond, func(c *config) *time.Duration { return &c.revocationSync }),
	durationFlag("key-reload", "how often signing keys are reloaded from the database", time.Millisecond, func(c *config) *time.Duration { return &c.keyReload }),

	{
		name: "on-conflict", arg: "skip|rename", toolOnly: true,
		usage: "how import resolves users it cannot bring over as they are: skip leaves them out, rename gives them a free name (or a new id when theirs is taken); unset, it writes nothing when there is one",
		set: func(c *config, s string) error {
			if s != resolveSkip && s != resolveRename {
				return fmt.Errorf("%q is not skip or rename", s)
			}
			c.onConflict = s
			return nil
		},
		get: func(c *config) string { return c.onConflict },
	},
	toolOnlyFlag(boolFlag("dry-run", "report what import would do without writing anything", func(c *config) *bool { return &c.dryRun })),
}

func toolOnlyFlag(f *flagDef) *flagDef {
	f.toolOnly = true
	return f
}

// lookupFlag returns the flag named name, or nil.
func lookupFlag(name string) *flagDef {
	for _, f := range flagTable {
		if f.name == name {
			return f
		}
	}
	return nil
}

func stringFlag(name, arg, usage string, p func(*config) *string) *flagDef {
	return &flagDef{name: name, arg: arg, usage: usage,
		set: func(c *config, s string) error {
			if s == "" {
				return errors.New("must not be empty")
			}
			*p(c) = s
			return nil
		},
		get: func(c *config) string { return *p(c) },
	}
}

func addrFlag(name, usage string, p func(*config) *string) *flagDef {
	f := stringFlag(name, "HOST:PORT", usage, p)
	f.set = func(c *config, s string) error {
		if err := checkAddr(s); err != nil {
			return err
		}
		*p(c) = s
		return nil
	}
	return f
}

// checkAddr explains what is wrong with a listen address.
func checkAddr(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if _, perr := netip.ParseAddr(strings.Trim(s, "[]")); perr == nil || !strings.Contains(s, ":") {
			return fmt.Errorf("%q has no port: write host:port, such as 127.0.0.1:5000", s)
		}
		return fmt.Errorf("%q is not host:port, such as 127.0.0.1:5000 or [::1]:5000", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%q has port %q, which is not a number from 0 to 65535", s, port)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q is not host:port, such as 127.0.0.1:5000", s)
	}
	return nil
}

// urlFlag takes an absolute http or https URL without query, fragment or
// user information, https unless the host is loopback (browsers refuse
// passkeys elsewhere, and an issuer must not be downgradable). A trailing
// slash is removed so that the issuer matches byte for byte wherever it is
// printed.
func urlFlag(name, usage string, p func(*config) *string) *flagDef {
	f := stringFlag(name, "URL", usage, p)
	f.set = func(c *config, s string) error {
		if err := checkPublicURL(s); err != nil {
			return err
		}
		*p(c) = strings.TrimSuffix(s, "/")
		return nil
	}
	return f
}

// checkPublicURL explains what is wrong with a public base URL.
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || !u.IsAbs():
		return fmt.Errorf("%q is not an absolute URL, such as https://auth.example.com", s)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q must use https", s)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.Contains(s, "#"):
		return fmt.Errorf("%q must not carry user information, a query or a fragment", s)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return fmt.Errorf("%q must use https (http is accepted only on a loopback host, for development)", s)
	}
	return nil
}

func boolFlag(name, usage string, p func(*config) *bool) *flagDef {
	return &flagDef{name: name, usage: usage,
		set: func(c *config, s string) error {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return fmt.Errorf("%q is not true or false", s)
			}
			*p(c) = v
			return nil
		},
		get: func(c *config) string { return strconv.FormatBool(*p(c)) },
	}
}

func choiceFlag(name, usage string, choices []string, p func(*config) *string) *flagDef {
	return &flagDef{name: name, arg: strings.ToUpper(strings.ReplaceAll(name, "log-", "")),
		usage: usage + ": " + strings.Join(choices, ", "),
		set: func(c *config, s string) error {
			for _, ch := range choices {
				if s == ch {
					*p(c) = s
					return nil
				}
			}
			return fmt.Errorf("%q is not one of %s", s, strings.Join(choices, ", "))
		},
		get: func(c *config) string { return *p(c) },
	}
}

func durationFlag(name, usage string, least time.Duration, p func(*config) *time.Duration) *flagDef {
	return &flagDef{name: name, arg: "DURATION", usage: usage,
		set: func(c *config, s string) error {
			d, err := parseDuration(s)
			if err != nil {
				return err
			}
			if d < least {
				if least == 0 {
					return fmt.Errorf("%q is negative", s)
				}
				return fmt.Errorf("%q is less than the least accepted, %v", s, least)
			}
			*p(c) = d
			return nil
		},
		get: func(c *config) string { return formatDuration(*p(c)) },
	}
}

// parseDuration parses a Go duration and, for a value in days or weeks,
// which Go does not accept, says how to write it.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil {
		return d, nil
	}
	for unit, hours := range map[string]int{"d": 24, "w": 7 * 24} {
		if n, ok := strings.CutSuffix(s, unit); ok {
			if v, err := strconv.ParseFloat(n, 64); err == nil && v >= 0 {
				return 0, fmt.Errorf("%q is not a duration: write hours, such as %sh", s, strconv.FormatFloat(v*float64(hours), 'f', -1, 64))
			}
		}
	}
	return 0, fmt.Errorf("%q is not a duration: write a number and a unit, such as 168h, 30m, 90s or 500ms", s)
}

// formatDuration drops the zero minutes and seconds that time.Duration's
// String adds (168h0m0s is shown as 168h).
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func intFlag(name, usage string, lo, hi int, p func(*config) *int) *flagDef {
	return &flagDef{name: name, arg: "N", usage: usage,
		set: func(c *config, s string) error {
			v, err := parseInt(s, lo, hi)
			if err == nil {
				*p(c) = v
			}
			return err
		},
		get: func(c *config) string { return strconv.Itoa(*p(c)) },
	}
}

func uint32Flag(name, usage string, lo, hi int, p func(*config) *uint32) *flagDef {
	return &flagDef{name: name, arg: "N", usage: usage,
		set: func(c *config, s string) error {
			v, err := parseInt(s, lo, hi)
			if err == nil {
				*p(c) = uint32(v)
			}
			return err
		},
		get: func(c *config) string { return strconv.FormatUint(uint64(*p(c)), 10) },
	}
}

func parseInt(s string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		if hi >= 1<<20 {
			return 0, fmt.Errorf("%q is not a whole number of at least %d", s, lo)
		}
		return 0, fmt.Errorf("%q is not a whole number from %d to %d", s, lo, hi)
	}
	return v, nil
}

// validate checks what no single flag can: settings that go together.
func (c *config) validate() error {
	d := c.domain
	switch {
	case d.SessionTTL < d.AccessTTL:
		return fmt.Errorf("--session-ttl (%v) must be at least --token-ttl (%v)", d.SessionTTL, d.AccessTTL)
	case d.MaxPasswordLen < d.MinPasswordLen:
		return fmt.Errorf("--password-max (%d) must be at least --password-min (%d)", d.MaxPasswordLen, d.MinPasswordLen)
	}
	if err := c.hash.Params.Validate(); err != nil {
		return fmt.Errorf("--argon2-memory must be at least 8 KiB per lane of --argon2-threads (%d × 8 = %d)",
			c.hash.Params.Threads, 8*int(c.hash.Params.Threads))
	}
	return nil
}

// validateServing checks the settings only serve uses.
func (c *config) validateServing() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.tlsCert == "" && !c.insecureHTTP && !loopback(c.addr) {
		return fmt.Errorf("refusing plain HTTP on %s, which is not a loopback address: pass --tls-cert and --tls-key, or --insecure-http when a TLS-terminating proxy is in front", c.addr)
	}
	c.domain.SignupClosed = !c.pages.signup
	// The pages' files are read before anything starts, so that a typo in
	// a path is one line at start rather than a half-started server.
	return c.pages.load()
}

// loopback reports whether a listen address binds only loopback
// interfaces. An empty host binds every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(host)
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR, such as 10.0.0.2 or 10.0.0.0/24", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func parseClients(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range splitList(s) {
		id, secret, ok := strings.Cut(f, ":")
		if !ok || id == "" || len(secret) < 16 {
			// The entry may hold a secret: it is not repeated.
			return nil, errors.New("each entry is id:secret with a secret of at least 16 characters")
		}
		out[id] = secret
	}
	return out, nil
}
