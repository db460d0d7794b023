package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth/sqlite"
)

func TestSQLiteSeeder(t *testing.T) {
	ctx := context.Background()
	db, err := sqliteSeeder{dir: t.TempDir()}.create(ctx, "users-25000", 25_000, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5")
	if err != nil {
		t.Fatal(err)
	}
	if db.kind != "sqlite" || db.users != 25_000 || db.seed <= 0 {
		t.Errorf("database = %+v, want sqlite with 25000 users and a seed time", db)
	}
	st, err := sqlite.Open(ctx, db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, i := range []int{1, 10_000, 10_001, 25_000} {
		u, err := st.UserByUsername(ctx, username(i))
		if err != nil || u.ID != int64(i) {
			t.Errorf("UserByUsername(%s) = %+v, %v; want id %d", username(i), u, err, i)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?search_path=s1&sslmode=disable", false},
		{"postgresql://u:p@h/db", "postgresql://u:p@h/db?search_path=s1", false},
		{"/tmp/x.db", "", true},
	}
	for _, tc := range tests {
		got, err := withSearchPath(tc.in, "s1")
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("withSearchPath(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestMemStatus(t *testing.T) {
	rss, hwm, err := memStatus(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("rss, hwm = %d, %d; want 0 < rss <= hwm", rss, hwm)
	}
	if _, _, err := memStatus(-1); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("memStatus(-1) error = %v, want no such file", err)
	}
}

// TestCopyUsers loads users into a stand-in users table on the PostgreSQL
// named by RESTAUTH_TEST_POSTGRES, as the PostgreSQL seeder does after
// restauth's migrations, with both kinds of created_at column.
func TestCopyUsers(t *testing.T) {
	url := os.Getenv("RESTAUTH_TEST_POSTGRES")
	if url == "" {
		t.Skip("RESTAUTH_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	for _, created := range []string{"bigint", "timestamptz"} {
		t.Run(created, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			schema := fmt.Sprintf("restauth_bench_test_%d_%s", os.Getpid(), created)
			ident := pgx.Identifier{schema}.Sanitize()
			_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE; CREATE SCHEMA "+ident+
				"; CREATE TABLE "+ident+".users (id bigserial PRIMARY KEY, username text NOT NULL, username_key text NOT NULL UNIQUE,"+
				" password_hash text NOT NULL, created_at "+created+" NOT NULL)")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE")
			if err := copyUsers(ctx, conn, schema, 1500, "hash"); err != nil {
				t.Fatal(err)
			}
			var n int
			var last string
			if err := conn.QueryRow(ctx, "SELECT count(*), max(username_key) FROM "+ident+".users").Scan(&n, &last); err != nil {
				t.Fatal(err)
			}
			if n != 1500 || last != username(1500) {
				t.Errorf("count, last = %d, %q; want 1500, %q", n, last, username(1500))
			}
		})
	}
}

// TestCPUShare checks the arithmetic of the CPU shares on made-up
// readings, and that the readings of this process come from /proc and
// never go backwards. It decides nothing from how busy the machine is.
func TestCPUShare(t *testing.T) {
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	srv, worker, worker2 := procKey{100, 5}, procKey{200, 50}, procKey{300, 80}
	a := cpuTicks{at: at, busy: 1000, total: 5000, server: map[procKey]int64{srv: 100}, self: 40}
	tests := []struct {
		name string
		b    cpuTicks
		want cpuShare
	}{
		// Over 2 s at 100 ticks a second: the server took 240 ticks (1.2
		// CPUs), the load generator 100 (0.5), and the machine was busy
		// 360 ticks, so 20 went to others (0.1).
		{"shared", cpuTicks{at: at.Add(2 * time.Second), busy: 1360, total: 5400, server: map[procKey]int64{srv: 340}, self: 140}, cpuShare{1.2, 0.5, 0.1}},
		// Busy time read a little short of the processes' own: never a
		// negative share for others.
		{"rounding", cpuTicks{at: at.Add(time.Second), busy: 1090, total: 5200, server: map[procKey]int64{srv: 150}, self: 90}, cpuShare{0.5, 0.5, 0}},
		{"no time", cpuTicks{at: at, busy: 2000, total: 6000, server: map[procKey]int64{srv: 200}, self: 80}, cpuShare{}},
		{"server not read", cpuTicks{at: at.Add(time.Second), busy: 1100, total: 5200, self: 50}, cpuShare{}},
		// A hashing worker started inside the window: all its 60 ticks
		// count, with the server's 40, over 1 s.
		{"worker started", cpuTicks{at: at.Add(time.Second), busy: 1200, total: 5200, server: map[procKey]int64{srv: 140, worker: 60}, self: 50}, cpuShare{1.0, 0.1, 0.9}},
	}
	for _, tc := range tests {
		got := shareOf(a, tc.b)
		if !nearShare(got, tc.want) {
			t.Errorf("%s: shareOf = %+v, want %+v", tc.name, got, tc.want)
		}
	}

	// A worker present at the start that died (its ticks are lost) and a
	// new one on the same pid: only the server's 40 and the new worker's
	// 30 ticks count.
	a2 := cpuTicks{at: at, busy: 1000, total: 5000, server: map[procKey]int64{srv: 100, worker: 500}, self: 40}
	b2 := cpuTicks{at: at.Add(time.Second), busy: 1100, total: 5200, server: map[procKey]int64{srv: 140, {200, 90}: 30, worker2: 0}, self: 50}
	if got, want := shareOf(a2, b2), (cpuShare{0.7, 0.1, 0.2}); !nearShare(got, want) {
		t.Errorf("worker restarted: shareOf = %+v, want %+v", got, want)
	}

	self := os.Getpid()
	r1 := readCPU(self, -1)
	if r1.total == 0 {
		t.Skip("no /proc/stat")
	}
	r2 := readCPU(self, -1)
	var t1, t2 int64
	for _, v := range r1.server {
		t1 += v
	}
	for _, v := range r2.server {
		t2 += v
	}
	if len(r2.server) == 0 || r2.self != 0 || t2 < t1 || r2.busy < r1.busy || r2.total < r1.total || r2.busy > r2.total {
		t.Errorf("readings %+v then %+v; want counters that never decrease, busy within total, and 0 for a process that does not exist", r1, r2)
	}
}

func nearShare(got, want cpuShare) bool {
	near := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	return near(got.Server, want.Server) && near(got.LoadGen, want.LoadGen) && near(got.Other, want.Other)
}
