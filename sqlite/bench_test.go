package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// BenchmarkImportUsers measures bulk seeding, the way restauth-bench fills a
// database with a million users, in chunks of 10,000 rows.
func BenchmarkImportUsers(b *testing.B) {
	db, _ := openTemp(b)
	ctx := context.Background()
	const chunk = 10_000
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		users := importUsers(chunk, fmt.Sprintf("c%d-", n))
		n++
		if err := db.ImportUsers(ctx, users); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*chunk)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkUserByUsernameRows looks users up by name in tables of several
// sizes: the unique index keeps the lookup logarithmic, so the time should
// barely move. A million rows would take too long to seed here;
// restauth-bench measures that size end to end.
func BenchmarkUserByUsernameRows(b *testing.B) {
	for _, rows := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			db, _ := openTemp(b)
			ctx := context.Background()
			for start := 0; start < rows; start += 10_000 {
				users := importUsers(min(10_000, rows-start), fmt.Sprintf("u%d-", start))
				if err := db.ImportUsers(ctx, users); err != nil {
					b.Fatal(err)
				}
			}
			names := make([]string, 1024)
			for i := range names {
				j := (i * 7919) % rows // Spread over the whole table.
				names[i] = fmt.Sprintf("U%d-%06d", j/10_000*10_000, j%10_000)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := db.UserByUsername(ctx, names[i%len(names)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkLoginQueries runs the store's part of a password login, the
// way restauth serves one: the user by name, the account's failure counter
// and second factor, then the new session and its refresh token in one
// transaction (which syncs to disk). The hash in between is the hashing
// worker's, not the store's.
func BenchmarkLoginQueries(b *testing.B) {
	db, _ := openTemp(b)
	ctx := context.Background()
	if err := db.ImportUsers(ctx, importUsers(1000, "u")); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u, err := db.UserByUsername(ctx, fmt.Sprintf("u%06d", i%1000))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Get(ctx, "login:"+u.Username, now, time.Hour); err != nil {
			b.Fatal(err)
		}
		if _, err := db.TOTP(ctx, u.ID); !errors.Is(err, restauth.ErrNotFound) {
			b.Fatalf("TOTP: %v, want not found", err)
		}
		s := &restauth.Session{ID: fmt.Sprintf("s%09d", i), UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "bench"}
		if err := db.CreateSession(ctx, s, &restauth.RefreshRecord{Hash: []byte(s.ID), SessionID: s.ID, CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
