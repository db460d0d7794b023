package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/restauth/restauth/httpapi"
	"github.com/restauth/restauth/metrics"
)

// validateMetrics checks --metrics-addr: metrics describe the load, the
// failures and the build of the server, which is worth keeping from
// strangers, so they are served on loopback unless --metrics-public says
// that a network policy or a proxy keeps them private.
func (c *config) validateMetrics() error {
	if c.metricsAddr != "" && !c.metricsPublic && !loopback(c.metricsAddr) {
		return fmt.Errorf("refusing to serve metrics on %s, which is not a loopback address: pass --metrics-public when the network keeps that port private", c.metricsAddr)
	}
	return nil
}

// startMetrics serves the Prometheus metrics on --metrics-addr, when set,
// and returns the observer for the API handler and a function that stops
// the listener and waits for its goroutine. Without --metrics-addr it
// starts nothing and the observer is nil, so the API pays nothing.
func startMetrics(cfg *config, a *app, lt *lifetime, logger *slog.Logger) (httpapi.RequestObserver, func(), error) {
	if cfg.metricsAddr == "" {
		return nil, func() {}, nil
	}
	m := metrics.New(metrics.Sources{
		Gate:        a.hasher.GateStats,
		Revocations: a.revs,
		TokenCache:  a.verifier.CacheStats,
		Pools:       poolStats(a.store),
	})
	ln, err := net.Listen("tcp", cfg.metricsAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(slogWriter{logger}, "", 0),
	}
	logger.Info("serving metrics", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/metrics")
	var wg sync.WaitGroup
	lt.goroutine(&wg, func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener failed", "err", err)
		}
	})
	stop := func() {
		// A scrape is short; one still running after a second is cut off.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		wg.Wait()
	}
	return m, stop, nil
}

// poolStats reads the connection pools of the store, whichever it is.
func poolStats(st store) func() []metrics.PoolStats {
	fromSQL := func(name string, s sql.DBStats) metrics.PoolStats {
		return metrics.PoolStats{Pool: name, Open: s.OpenConnections, InUse: s.InUse,
			Max: s.MaxOpenConnections, Waits: s.WaitCount, WaitDuration: s.WaitDuration}
	}
	switch p := st.(type) {
	case interface {
		PoolStats() (sql.DBStats, sql.DBStats)
	}:
		return func() []metrics.PoolStats {
			w, r := p.PoolStats()
			return []metrics.PoolStats{fromSQL("write", w), fromSQL("read", r)}
		}
	case interface{ PoolStat() *pgxpool.Stat }:
		return func() []metrics.PoolStats {
			s := p.PoolStat()
			return []metrics.PoolStats{{Pool: "main", Open: int(s.TotalConns()), InUse: int(s.AcquiredConns()),
				Max: int(s.MaxConns()), Waits: s.EmptyAcquireCount(), WaitDuration: s.EmptyAcquireWaitTime()}}
		}
	}
	return nil
}
