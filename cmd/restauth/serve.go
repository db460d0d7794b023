package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/restauth/restauth/httpapi"
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

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	h, err := newHandler(w, level, format)
	if err != nil {
		return nil, err
	}
	return slog.New(h), nil
}

// baseProcs is the processor count the runtime chose at start (the CPUs,
// or the container's CPU quota).
var baseProcs = runtime.GOMAXPROCS(0)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var cfg config
	fs := serveFlags(&cfg, stderr)
	pc := pageFlags(fs)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	logBuf := newLogBuffer(stderr)
	h, err := newHandler(logBuf, cfg.logLevel, cfg.logFmt)
	if err != nil {
		return err
	}
	logger := slog.New(batchedHandler{h, logBuf})
	defer logBuf.Flush()
	proxies, err := parsePrefixes(cfg.trustedProxies)
	if err != nil {
		return err
	}
	clients, err := parseClients(cfg.introspectClients)
	if err != nil {
		return err
	}

	if cfg.hash.Nice > 0 {
		// Each low-priority hashing thread holds a scheduler processor
		// while it computes; one more processor per hashing slot keeps
		// request handling from waiting for them, and the kernel decides
		// who gets the CPU.
		runtime.GOMAXPROCS(baseProcs + cfg.hash.MaxConcurrent)
	}
	start := time.Now()
	a, err := newApp(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer a.store.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go logBuf.run(ctx, 100*time.Millisecond)
	go a.ring.Run(ctx, cfg.keyReload)
	go a.syncRevocations(ctx, cfg.revocationSync, logger)
	go a.sweep(ctx, time.Hour, logger)
	// A store shared by several instances (PostgreSQL) announces revocations
	// and key changes; acting on them at once is what makes a logout on one
	// instance hold on every other within milliseconds rather than at the
	// next periodic sync.
	if l, ok := a.store.(interface {
		Listen(ctx context.Context, onRevoke, onKeys func(), logger *slog.Logger)
	}); ok {
		go l.Listen(ctx, func() {
			if err := a.revs.Sync(ctx, a.store, time.Now()); err != nil && ctx.Err() == nil {
				logger.Warn("revocation sync on notification failed", "err", err)
			}
		}, func() {
			if err := a.ring.Reload(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("signing key reload on notification failed", "err", err)
			}
		}, logger)
	}

	useTLS := cfg.tlsCert != ""
	handler := httpapi.NewServer(httpapi.Config{
		TrustedProxies: proxies, CORSOrigins: splitList(cfg.corsOrigins),
		IntrospectClients: clients, TLS: useTLS,
	}, httpapi.Deps{Service: a.svc, Logger: logger, JWKS: a.ring.JWKS, Ready: a.ready})
	handler, err = pc.handler(handler, a.svc, logger, useTLS, proxies)
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(slogWriter{logger}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(),
		"db", redactDSN(cfg.db), "startup", time.Since(start).Round(time.Millisecond))

	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// slogWriter routes net/http's own error log (TLS handshake errors and the
// like) into the structured log.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn("http server", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}

// redactDSN hides a password in a database URL before it is logged.
func redactDSN(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	scheme, rest, _ := strings.Cut(dsn, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, ok := strings.Cut(rest[:at], ":"); ok {
			return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
		}
	}
	return dsn
}
