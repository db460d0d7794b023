package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
)

// config is every setting of restauth serve. Each is a flag and, with the
// RESTAUTH_ prefix, an environment variable; this file is the one place
// where names and defaults are declared.
type config struct {
	addr, db          string
	tlsCert, tlsKey   string
	logLevel, logFmt  string
	insecureHTTP      bool
	trustedProxies    string
	corsOrigins       string
	introspectClients string

	domain restauth.Config
	hash   password.Options

	shutdownTimeout   time.Duration
	readHeaderTimeout time.Duration
	revocationSync    time.Duration
	keyReload         time.Duration
}

func newFlagSet(name string, cfg *config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := restauth.DefaultConfig()
	cfg.domain = d
	fs.StringVar(&cfg.db, "db", "./restauth.db", "database: a SQLite file path (or sqlite: URL), or a postgres:// URL")
	return fs
}

// serveFlags declares the flags of restauth serve.
func serveFlags(cfg *config, stderr io.Writer) *flag.FlagSet {
	fs := newFlagSet("serve", cfg, stderr)
	d := &cfg.domain
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:5000", "listen address")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS with HTTP/2 and HSTS")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&cfg.insecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&cfg.logFmt, "log-format", "text", "log format: text or json")
	fs.StringVar(&cfg.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs or addresses whose X-Forwarded-*/Forwarded headers are believed")
	fs.StringVar(&cfg.corsOrigins, "cors-origins", "", "comma-separated exact origins allowed by CORS (empty: CORS off)")
	fs.StringVar(&cfg.introspectClients, "introspect-clients", "", "comma-separated id:secret pairs allowed to call POST /api/introspect (empty: disabled)")

	fs.StringVar(&d.Issuer, "issuer", d.Issuer, "the iss claim of access tokens")
	fs.StringVar(&d.Audience, "audience", d.Audience, "the aud claim of access tokens")
	fs.DurationVar(&d.AccessTTL, "token-ttl", d.AccessTTL, "access-token lifetime")
	fs.DurationVar(&d.SessionTTL, "session-ttl", d.SessionTTL, "absolute session lifetime")
	fs.DurationVar(&d.SessionIdle, "session-idle", d.SessionIdle, "a session not refreshed for this long ends")
	fs.DurationVar(&d.RefreshGrace, "refresh-grace", d.RefreshGrace, "window in which a rotated refresh token returns the same child")
	fs.DurationVar(&d.Leeway, "leeway", d.Leeway, "clock-skew allowance for exp, nbf and iat")
	fs.IntVar(&d.MinPasswordLen, "password-min", d.MinPasswordLen, "minimum password length in characters")
	fs.IntVar(&d.MaxPasswordLen, "password-max", d.MaxPasswordLen, "maximum password length in characters (at most 1024; passwords are also limited to 1024 bytes of UTF-8)")
	fs.IntVar(&d.AccountFreeFailures, "account-free-failures", d.AccountFreeFailures, "failed logins per account before the tarpit delay starts")
	fs.IntVar(&d.AccountMaxFailures, "account-max-failures", d.AccountMaxFailures, "failed logins per account per window before logins wait for the window to end (0 disables the per-account tarpit)")
	fs.DurationVar(&d.AccountWindow, "account-window", d.AccountWindow, "per-account failure window")
	fs.DurationVar(&d.AccountDelayMax, "account-delay-max", d.AccountDelayMax, "largest tarpit delay between attempts on one account")
	fs.IntVar(&d.LoginIPLimit, "login-ip-limit", d.LoginIPLimit, "failed logins per client IP per window (0 disables)")
	fs.DurationVar(&d.LoginIPWindow, "login-ip-window", d.LoginIPWindow, "per-IP failed-login window")
	fs.IntVar(&d.RegisterIPLimit, "register-ip-limit", d.RegisterIPLimit, "registrations per client IP per window (0 disables)")
	fs.DurationVar(&d.RegisterIPWindow, "register-ip-window", d.RegisterIPWindow, "per-IP registration window")
	fs.DurationVar(&d.CredentialCacheTTL, "credential-cache-ttl", d.CredentialCacheTTL, "how long a verified username and password are accepted without hashing again (0 turns the credential cache off)")
	fs.IntVar(&d.CredentialCacheSize, "credential-cache-size", d.CredentialCacheSize, "most verified credentials cached per process")

	p := password.DefaultParams
	cfg.hash.Params = p
	fs.Func("argon2-memory", fmt.Sprintf("argon2id memory in KiB (default %d)", p.Memory), uintFlag(&cfg.hash.Params.Memory))
	fs.Func("argon2-time", fmt.Sprintf("argon2id iterations (default %d)", p.Time), uintFlag(&cfg.hash.Params.Time))
	fs.Func("argon2-threads", fmt.Sprintf("argon2id parallelism (default %d)", p.Threads), func(s string) error {
		var v uint32
		if err := uintFlag(&v)(s); err != nil || v == 0 || v > 255 {
			return errors.New("must be 1 to 255")
		}
		cfg.hash.Params.Threads = uint8(v)
		return nil
	})
	fs.IntVar(&cfg.hash.MaxConcurrent, "hash-concurrency", runtime.NumCPU(), "password hashes computed at once (the admission gate)")
	fs.IntVar(&cfg.hash.MaxQueue, "hash-queue", 64, "password hashes waiting for a slot before 503")
	fs.DurationVar(&cfg.hash.QueueTimeout, "hash-wait", 2*time.Second, "longest wait for a hashing slot before 503")
	fs.IntVar(&cfg.hash.Nice, "hash-nice", 5, "nice value of the password-hashing threads, so request handling wins the CPU over a login flood (0: hash at normal priority; Linux only)")

	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "grace period for in-flight requests on SIGINT/SIGTERM")
	fs.DurationVar(&cfg.readHeaderTimeout, "read-header-timeout", 5*time.Second, "longest time a client may take to send the request headers (cuts off slowloris clients)")
	fs.DurationVar(&cfg.revocationSync, "revocation-sync", time.Second, "how often the in-memory revocation view is resynchronised from the database")
	fs.DurationVar(&cfg.keyReload, "key-reload", 30*time.Second, "how often signing keys are reloaded from the database")
	return fs
}

func uintFlag(dst *uint32) func(string) error {
	return func(s string) error {
		var v uint32
		if _, err := fmt.Sscanf(s, "%d", &v); err != nil || v == 0 {
			return errors.New("must be a positive integer")
		}
		*dst = v
		return nil
	}
}

// parse applies RESTAUTH_* environment variables, then the command line,
// which wins.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "RESTAUTH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(env); v != "" && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %v", env, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// validate checks settings that the flag types cannot.
func (c *config) validate() error {
	d := c.domain
	switch {
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case d.AccessTTL < time.Second:
		return errors.New("--token-ttl must be at least 1s")
	case d.SessionTTL < d.AccessTTL:
		return errors.New("--session-ttl must be at least --token-ttl")
	case d.MinPasswordLen < 1:
		return errors.New("--password-min must be at least 1")
	case d.MaxPasswordLen < d.MinPasswordLen || d.MaxPasswordLen > 1024:
		return errors.New("--password-max must be between --password-min and 1024")
	case d.LoginIPLimit < 0 || d.RegisterIPLimit < 0 || d.AccountMaxFailures < 0:
		return errors.New("limits must not be negative (0 disables)")
	case d.CredentialCacheTTL < 0 || d.CredentialCacheSize < 0:
		return errors.New("--credential-cache-ttl and --credential-cache-size must not be negative (0 turns the cache off)")
	case c.hash.MaxConcurrent < 1:
		return errors.New("--hash-concurrency must be at least 1")
	case c.hash.Nice < 0 || c.hash.Nice > 19:
		return errors.New("--hash-nice must be between 0 and 19")
	case c.readHeaderTimeout <= 0:
		// Zero would fall back to the 15s read timeout, or to none at all.
		return errors.New("--read-header-timeout must be positive")
	}
	if c.tlsCert == "" && !c.insecureHTTP && !loopback(c.addr) {
		return fmt.Errorf("refusing plain HTTP on %s, which is not a loopback address: pass --tls-cert and --tls-key, or --insecure-http when a TLS-terminating proxy is in front", c.addr)
	}
	for _, o := range splitList(c.corsOrigins) {
		if o == "*" || o == "null" {
			return fmt.Errorf("--cors-origins: %q cannot be allowed for a credentialed API; list exact origins", o)
		}
	}
	return nil
}

// loopback reports whether a listen address binds only loopback
// interfaces. An empty host binds every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
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
			return nil, fmt.Errorf("--trusted-proxies: %q is not an address or CIDR", f)
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
			return nil, errors.New("--introspect-clients: each entry is id:secret with a secret of at least 16 characters")
		}
		out[id] = secret
	}
	return out, nil
}
