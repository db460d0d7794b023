package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/token"
)

// store is what restauth needs from a database: the domain's stores, the
// sweeper, change notifications and health checks.
type store interface {
	instance.Store
	restauth.Sweeper
	restauth.MFAStore
	// Listen calls onRevoke when sessions or credentials have been revoked
	// and onKeys when signing keys have changed, by this instance or any
	// other on the database, until ctx ends. A store without notifications
	// (SQLite) only waits: the periodic resync covers it.
	Listen(ctx context.Context, onRevoke, onKeys func(), logger *slog.Logger)
	Ping(ctx context.Context) error
	MigrationsCurrent(ctx context.Context) (bool, error)
	Close() error
}

// openStore opens the database named by dsn: a postgres:// URL, or a SQLite
// file path or sqlite: URL. Migrations are applied on open.
func openStore(ctx context.Context, dsn string) (store, error) {
	if isPostgres(dsn) {
		return openPostgres(ctx, dsn)
	}
	return sqlite.Open(ctx, dsn)
}

// openErr says which database could not be opened, without its password.
func openErr(dsn string, err error) error {
	where := redactDSN(dsn)
	if p, ok := sqlitePath(dsn); ok && !isPostgres(dsn) {
		where = absPath(p)
	}
	// Drivers may explain over several lines (one per address tried).
	msg := strings.Join(strings.Fields(strings.ReplaceAll(strings.ReplaceAll(describe(err), ":\n", ": "), "\n", "; ")), " ")
	return fmt.Errorf("open database %s: %s", where, scrubDSN(dsn, msg))
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// sqlitePath returns the file a SQLite DSN names, as the sqlite package
// reads it, and false for an in-memory database.
func sqlitePath(dsn string) (string, bool) {
	if rest, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		dsn = strings.TrimPrefix(rest, "//")
	}
	base, rawQuery, _ := strings.Cut(dsn, "?")
	q, _ := url.ParseQuery(rawQuery)
	if uri, ok := strings.CutPrefix(base, "file:"); ok {
		if strings.HasPrefix(uri, "//") {
			_, uri, _ = strings.Cut(uri[2:], "/")
			uri = "/" + uri
		}
		if p, err := url.PathUnescape(uri); err == nil {
			uri = p
		}
		base = uri
	}
	if base == "" || base == ":memory:" || q.Get("mode") == "memory" {
		return "", false
	}
	return base, true
}

func mustSQLitePath(dsn string) string {
	p, _ := sqlitePath(dsn)
	return p
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// describeDatabase names the database for the operator (an absolute path,
// or a URL without its password) and tells whether opening it will create
// it: a SQLite file that does not exist, a PostgreSQL schema without
// restauth's tables.
func describeDatabase(ctx context.Context, dsn string) (where string, created bool, err error) {
	if isPostgres(dsn) {
		ok, err := postgresHasSchema(ctx, dsn)
		return redactDSN(dsn), !ok, err
	}
	p, ok := sqlitePath(dsn)
	if !ok {
		return "an in-memory SQLite database", true, nil
	}
	_, err = os.Stat(p)
	return absPath(p), errors.Is(err, os.ErrNotExist), nil
}

// redactDSN hides every credential in a database URL before it is printed:
// the password of the user information and any password, sslpassword or
// other secret query parameter.
func redactDSN(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Not printable safely in part: keep only the scheme.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	changed := false
	for k := range q {
		if secretParam(k) {
			q[k] = []string{"xxxxx"}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func secretParam(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "password") || strings.Contains(k, "secret") || k == "sslkey"
}

// scrubDSN removes from msg every secret of dsn, in case a driver error
// repeats it.
func scrubDSN(dsn, msg string) string {
	if !isPostgres(dsn) {
		return msg
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return msg
	}
	secrets := []string{}
	if pw, has := u.User.Password(); has {
		secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
	}
	for k, vs := range u.Query() {
		if secretParam(k) {
			for _, v := range vs {
				secrets = append(secrets, v, url.QueryEscape(v))
			}
		}
	}
	for _, s := range secrets {
		if len(s) >= 1 {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

// app is a wired restauth: the Service and what serves it.
type app struct {
	store  store
	ring   *token.Ring
	svc    *restauth.Service
	revs   *restauth.RevocationSet
	hasher *password.Hasher
	// verifier is kept for the metrics of its cache.
	verifier *token.Verifier
	logger   *slog.Logger
	// idTokens signs ID tokens; nil when OpenID Connect is off (no
	// --public-url).
	idTokens *token.IDTokens
}

// wire builds the serving Service on an open store: it loads the signing
// keys (generating the first), the refresh-sealing secret and the
// revocations.
func wire(ctx context.Context, cfg *config, st store, logger *slog.Logger) (*app, error) {
	hasher := password.New(cfg.hash)
	inst, err := instance.New(ctx, st, instance.Options{Config: cfg.domain, Hasher: hasher, Logger: logger,
		Passkeys: passkeyCeremonies(cfg, logger), OIDCIssuer: cfg.publicURL})
	var stage *instance.StageError
	switch {
	case errors.As(err, &stage) && errors.Is(err, token.ErrUnusableKey):
		return nil, fmt.Errorf("%v. Tokens it signed can no longer be verified; to retire it and sign with a new key, run: restauth keys rotate (with the same --db), then start again", stage.Err)
	case errors.As(err, &stage):
		return nil, fmt.Errorf("%s: %s", stage.Stage, describe(stage.Err))
	case err != nil:
		return nil, err
	}
	return &app{store: st, ring: inst.Ring, svc: inst.Service, revs: inst.Revocations, hasher: hasher,
		verifier: inst.Verifier, logger: logger, idTokens: inst.IDTokens}, nil
}

// ready reports whether the database answers and its migrations are
// current.
func (a *app) ready(ctx context.Context) error {
	if err := a.store.Ping(ctx); err != nil {
		return err
	}
	ok, err := a.store.MigrationsCurrent(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("migrations are not current")
	}
	return nil
}

// syncRevocations keeps the in-memory revocation view current, so that a
// revocation made by another instance or by the CLI takes effect within one
// interval even without a notification.
func (a *app) syncRevocations(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if err := a.revs.Sync(ctx, a.store, time.Now()); err != nil && ctx.Err() == nil {
			a.logger.Warn("revocation sync failed", "err", err)
		}
	})
}

// reloadKeys picks up keys added or retired by other instances or by
// restauth keys rotate.
func (a *app) reloadKeys(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if err := a.ring.Reload(ctx); err != nil && ctx.Err() == nil {
			a.logger.Error("reloading signing keys failed", "err", err)
		}
		a.reloadIDKeys(ctx)
	})
}

// sweep deletes ended sessions and idle counters every interval, so the
// tables stay bounded by live data.
func (a *app) sweep(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		sb, cb := a.svc.SweepCutoffs(time.Now())
		n, err := a.store.Sweep(ctx, sb, cb)
		if err != nil && ctx.Err() == nil {
			a.logger.Warn("sweep failed", "err", err)
		} else if n > 0 {
			a.logger.Info("swept ended sessions and idle counters", "rows", n)
		}
	})
}

// every calls fn each interval until ctx ends. It is the one periodic loop
// of the program.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// jwks returns the published key set: the access-token keys of the ring
// and, when OpenID Connect is on, the RSA key that signs ID tokens.
func (a *app) jwks() []byte {
	if a.idTokens == nil {
		return a.ring.JWKS()
	}
	return a.idTokens.JWKS(a.ring.JWKS())
}

// reloadIDKeys picks up the ID-token keys added or retired by other
// instances or by restauth keys rotate, when OpenID Connect is on.
func (a *app) reloadIDKeys(ctx context.Context) {
	if a.idTokens == nil {
		return
	}
	if err := a.idTokens.Reload(ctx); err != nil && ctx.Err() == nil {
		a.logger.Error("reloading ID-token keys failed", "err", err)
	}
}
