package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restauth/restauth/httpapi"
	"github.com/restauth/restauth/oidc"
)

func newHandler(w io.Writer, level, format string) (slog.Handler, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.NewTextHandler(w, opts), nil
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json")
}

type ctxKey int

const (
	forceKey ctxKey = iota
	lifetimeKey
)

// withForce returns ctx carrying a channel that is closed when shutdown is
// to be cut short: main closes it on the second signal.
func withForce(ctx context.Context, force <-chan struct{}) context.Context {
	return context.WithValue(ctx, forceKey, force)
}

func forceFrom(ctx context.Context) <-chan struct{} {
	c, _ := ctx.Value(forceKey).(<-chan struct{})
	return c // A nil channel never fires.
}

// lifetime accounts for what serve starts: the goroutines it runs, the
// requests in flight, and the order in which it stops. A test may put one
// in the context to watch.
type lifetime struct {
	running  atomic.Int64 // Goroutines started by serve that have not returned.
	started  atomic.Int64
	inflight atomic.Int64 // HTTP requests being handled.
	requests sync.WaitGroup

	mu     sync.Mutex
	stages []string // Stopped so far, in order.
}

func withLifetime(ctx context.Context, lt *lifetime) context.Context {
	return context.WithValue(ctx, lifetimeKey, lt)
}

func lifetimeFrom(ctx context.Context) *lifetime {
	if lt, ok := ctx.Value(lifetimeKey).(*lifetime); ok {
		return lt
	}
	return &lifetime{}
}

// goroutine starts fn on a goroutine counted by lt and wg.
func (lt *lifetime) goroutine(wg *sync.WaitGroup, fn func()) {
	lt.running.Add(1)
	lt.started.Add(1)
	wg.Go(func() {
		defer lt.running.Add(-1)
		fn()
	})
}

func (lt *lifetime) stopped(stage string) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.stages = append(lt.stages, stage)
}

func (lt *lifetime) order() []string {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return append([]string(nil), lt.stages...)
}

// track counts the requests in flight, so that a cut-short shutdown can say
// how many it cut off.
func (lt *lifetime) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lt.requests.Add(1)
		lt.inflight.Add(1)
		defer func() {
			lt.inflight.Add(-1)
			lt.requests.Done()
		}()
		h.ServeHTTP(w, r)
	})
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// serve runs the server until ctx ends, then stops in order: HTTP (the
// requests in flight finish, within --shutdown-timeout), the background
// work, the store, and last the logs, flushed whole. It returns only once
// every goroutine it started has returned.
func serve(ctx context.Context, in *invocation) error {
	cfg := in.cfg
	if err := cfg.validateServing(); err != nil {
		return &usageError{err.Error()}
	}
	if err := cfg.validateMetrics(); err != nil {
		return &usageError{err.Error()}
	}
	// The certificate is loaded before anything is opened or announced, so
	// a missing file fails the start, not the first handshake.
	var tlsConfig *tls.Config
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	lt := lifetimeFrom(ctx)
	force := forceFrom(ctx)

	// The logs are flushed last, after everything that may log has stopped.
	logBuf := newLogBuffer(in.stderr)
	h, err := newHandler(logBuf, cfg.logLevel, cfg.logFmt)
	if err != nil {
		return err
	}
	logger := slog.New(batchedHandler{h, logBuf})
	var logWG sync.WaitGroup
	logCtx, stopLogs := context.WithCancel(context.WithoutCancel(ctx))
	lt.goroutine(&logWG, func() { logBuf.run(logCtx, 100*time.Millisecond) })
	announced := false
	defer func() {
		if announced {
			// The last line, once everything else has stopped.
			logger.Info("stopped", "order", strings.Join(append(lt.order(), "logs"), ","))
		}
		stopLogs()
		logWG.Wait()
		logBuf.Flush()
		lt.stopped("logs")
	}()

	if cfg.hashWorker {
		cfg.hash.Worker = workerCmd(cfg.hashNice, in.stderr)
		cfg.hash.WorkerError = func(err error) { logger.Warn("hashing worker", "err", err) }
	}
	tuneGC(logger, in.getenv, cfg.hash)
	start := time.Now()
	where, created, err := describeDatabase(ctx, cfg.db)
	if err != nil {
		return openErr(cfg.db, err)
	}
	st, err := openStore(ctx, cfg.db)
	if err != nil {
		return openErr(cfg.db, err)
	}
	defer func() {
		st.Close()
		lt.stopped("store")
	}()
	a, err := wire(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}

	// Background work runs until HTTP has stopped, so that revocations
	// keep arriving while requests drain.
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopBG()
		bg.Wait()
		a.ring.Wait()
		// HTTP has stopped: no hash is wanted any more.
		a.hasher.Close()
		lt.stopped("background")
	}()
	lt.goroutine(&bg, func() { a.reloadKeys(bgCtx, cfg.keyReload) })
	lt.goroutine(&bg, func() { a.syncRevocations(bgCtx, cfg.revocationSync) })
	lt.goroutine(&bg, func() { a.sweep(bgCtx, time.Hour) })
	// Last uses of API keys are written in batches off the request path;
	// the final batch is written when the background work stops.
	lt.goroutine(&bg, func() { a.svc.RunAPIKeyUses(bgCtx, 10*time.Second) })
	// A store shared by several instances (PostgreSQL) announces revocations
	// and key changes; acting on them at once is what makes a logout on one
	// instance hold on every other within milliseconds rather than at the
	// next periodic sync.
	lt.goroutine(&bg, func() {
		a.store.Listen(bgCtx, func() {
			if err := a.revs.Sync(bgCtx, a.store, time.Now()); err != nil && bgCtx.Err() == nil {
				logger.Warn("revocation sync on notification failed", "err", err)
			}
		}, func() {
			if err := a.ring.Reload(bgCtx); err != nil && bgCtx.Err() == nil {
				logger.Warn("signing key reload on notification failed", "err", err)
			}
			a.reloadIDKeys(bgCtx)
		}, logger)
	})

	// The metrics listener stops after HTTP (deferred later, so it runs
	// sooner than the background work's stop), so a drain can be watched.
	observer, stopMetrics, err := startMetrics(cfg, a, lt, logger)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()

	handler := httpapi.NewServer(httpapi.Config{
		TrustedProxies: cfg.trustedProxies, CORSOrigins: cfg.corsOrigins,
		IntrospectClients: cfg.introspectClients, TLS: tlsConfig != nil,
	}, httpapi.Deps{Service: a.svc, Logger: logger, JWKS: a.jwks, Ready: a.ready, Observer: observer})
	// The provider's back channel, when --public-url turns it on.
	handler = oidc.NewServer(oidc.Deps{Service: a.svc, Logger: logger, TrustedProxies: cfg.trustedProxies}, handler)
	handler, err = cfg.pages.handler(handler, a.svc, logger, tlsConfig != nil, cfg.trustedProxies)
	if err != nil {
		return err
	}

	// Requests run under their own context, cancelled when a shutdown is
	// cut short so that handlers waiting on the database give up.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv := &http.Server{
		Handler:           lt.track(handler),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(slogWriter{logger}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	signingKey := "loaded"
	if a.ring.Generated() != "" {
		signingKey = "generated"
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(),
		"db", where, "db_created", created, "signing_key", signingKey,
		"startup", time.Since(start).Round(time.Millisecond))
	announced = true

	var httpWG sync.WaitGroup
	errc := make(chan error, 1)
	lt.goroutine(&httpWG, func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	})
	select {
	case err := <-errc:
		httpWG.Wait()
		lt.stopped("http")
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	cut := stopHTTP(srv, lt, cfg.shutdownTimeout, force, cancelRequests, logger)
	<-errc
	httpWG.Wait()
	lt.stopped("http")
	return cut
}

// stopHTTP shuts the server down gracefully within timeout, or less when
// force fires. When requests are still running then, it closes their
// connections, cancels their contexts, and returns an error that says what
// was cut off.
func stopHTTP(srv *http.Server, lt *lifetime, timeout time.Duration, force <-chan struct{}, cancelRequests func(), logger *slog.Logger) error {
	logger.Info("shutting down", "grace", formatDuration(timeout))
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	forced := false
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		select {
		case <-force:
			forced = true
			cancel()
		case <-stopWatch:
		}
	})
	err := srv.Shutdown(sctx)
	close(stopWatch)
	watch.Wait()
	if err == nil {
		return nil
	}
	n := lt.inflight.Load()
	reason := fmt.Sprintf("after --shutdown-timeout %s", formatDuration(timeout))
	if forced {
		reason = "by a second signal"
	}
	srv.Close()
	cancelRequests()
	cut := fmt.Errorf("shutdown cut short %s: %s still running", reason, plural(n, "request", "requests"))
	logger.Error(cut.Error())
	if !forced {
		// The handlers' connections are closed and their contexts
		// cancelled: they end at once unless one ignores both, and a
		// second signal stops waiting for it.
		done := make(chan struct{})
		go func() {
			lt.requests.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-force:
		}
	}
	return cut
}

// slogWriter routes net/http's own error log (TLS handshake errors and the
// like) into the structured log.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("http server", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}
