package main

import (
	"runtime"
	"testing"

	"github.com/restauth/restauth/password"
)

// TestHashSettings checks that the physical limit is measured with the
// argon2id parameters and concurrency the server runs with.
func TestHashSettings(t *testing.T) {
	d := password.DefaultParams
	tests := []struct {
		flags  []string
		params password.Params
		n      int
	}{
		{nil, d, runtime.NumCPU()},
		{[]string{"--hash-nice", "0"}, d, runtime.NumCPU()},
		{[]string{"--argon2-memory", "65536", "--hash-concurrency=1", "-argon2-time=3", "--argon2-threads", "2"},
			password.Params{Memory: 65536, Time: 3, Threads: 2, SaltLen: d.SaltLen, KeyLen: d.KeyLen}, 1},
		{[]string{"--hash-concurrency", "0"}, d, 1},
	}
	for _, tc := range tests {
		p, n := hashSettings(tc.flags)
		if p != tc.params || n != tc.n {
			t.Errorf("hashSettings(%q) = %+v, %d; want %+v, %d", tc.flags, p, n, tc.params, tc.n)
		}
	}
}

func TestMedianFloat(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{0.9, 0.7, 0.8}, 0.8}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := medianFloat(tc.in); got != tc.want {
			t.Errorf("medianFloat(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
