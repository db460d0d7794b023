package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/token"
)

// store is what restauth needs from a database: the domain's stores plus
// health checks.
type store interface {
	restauth.UserStore
	restauth.SessionStore
	restauth.CounterStore
	restauth.KeyStore
	restauth.Sweeper
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

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// unicodeNorm adapts golang.org/x/text to the domain's Normalizer.
type unicodeNorm struct{}

func (unicodeNorm) NFC(s string) string  { return norm.NFC.String(s) }
func (unicodeNorm) NFKC(s string) string { return norm.NFKC.String(s) }

// app is a wired restauth: the Service and what serves it.
type app struct {
	store  store
	ring   *token.Ring
	svc    *restauth.Service
	revs   *restauth.RevocationSet
	hasher *password.Hasher
}

// refreshSecretName names the stored secret that seals refresh-token
// children during the rotation grace window.
const refreshSecretName = "refresh-seal-v1"

func newApp(ctx context.Context, cfg *config, logger *slog.Logger) (*app, error) {
	st, err := openStore(ctx, cfg.db)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a, err := wire(ctx, cfg, st, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func wire(ctx context.Context, cfg *config, st store, logger *slog.Logger) (*app, error) {
	ring := token.NewRing(st, token.RingOptions{})
	if err := ring.Load(ctx); err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	secret, err := st.Secret(ctx, refreshSecretName, func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("load refresh secret: %w", err)
	}
	codec, err := token.NewRefreshCodec(secret)
	if err != nil {
		return nil, err
	}
	d := cfg.domain
	verifier := token.NewVerifier(ring, token.VerifierOptions{Issuer: d.Issuer, Audience: d.Audience, Leeway: d.Leeway})
	revs := restauth.NewRevocationSet(d.RevocationKeep())
	if err := revs.Sync(ctx, st, time.Now()); err != nil {
		return nil, fmt.Errorf("load revocations: %w", err)
	}
	hasher := password.New(cfg.hash)
	svc := restauth.NewService(d, restauth.Deps{
		Users: st, Sessions: st, Counters: st,
		Hasher: hasher, Issuer: token.NewSigner(ring), Verifier: verifier, Refresh: codec,
		Revocations: revs, Normalizer: unicodeNorm{}, IsCommon: password.IsCommon,
		Logger: logger, NewID: newSessionID,
	})
	return &app{store: st, ring: ring, svc: svc, revs: revs, hasher: hasher}, nil
}

// newSessionID returns 128 random bits, URL-safe.
func newSessionID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
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
func (a *app) syncRevocations(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	every(ctx, interval, func() {
		if err := a.revs.Sync(ctx, a.store, time.Now()); err != nil && ctx.Err() == nil {
			logger.Warn("revocation sync failed", "err", err)
		}
	})
}

// sweep deletes ended sessions and idle counters every interval, so the
// tables stay bounded by live data.
func (a *app) sweep(ctx context.Context, interval time.Duration, logger *slog.Logger) {
	every(ctx, interval, func() {
		sb, cb := a.svc.SweepCutoffs(time.Now())
		n, err := a.store.Sweep(ctx, sb, cb)
		if err != nil && ctx.Err() == nil {
			logger.Warn("sweep failed", "err", err)
		} else if n > 0 {
			logger.Info("swept ended sessions and idle counters", "rows", n)
		}
	})
}

// every calls fn each interval until ctx ends.
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

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
