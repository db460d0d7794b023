package main

import (
	"testing"

	"github.com/restauth/restauth/password"
)

func TestGCSettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tests := []struct {
		name          string
		vars          map[string]string
		hash          password.Options
		wantLimit     int64
		setPct, setLm bool
	}{
		{"defaults on 2 CPUs", nil, password.Options{Params: password.DefaultParams, MaxConcurrent: 2}, 128<<20 + 2*2*19456<<10, true, true},
		{"zero memory means the default", nil, password.Options{MaxConcurrent: 1}, 128<<20 + 2*19456<<10, true, true},
		{"heavier hashing raises the limit", nil, password.Options{Params: password.Params{Memory: 65536}, MaxConcurrent: 8}, 128<<20 + 2*8*65536<<10, true, true},
		{"operator's GOGC wins", map[string]string{"GOGC": "100"}, password.Options{MaxConcurrent: 2}, 128<<20 + 2*2*19456<<10, false, true},
		{"operator's GOMEMLIMIT wins", map[string]string{"GOMEMLIMIT": "1GiB"}, password.Options{MaxConcurrent: 2}, 128<<20 + 2*2*19456<<10, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pct, setPct, limit, setLm := gcSettings(env(tt.vars), tt.hash)
			if pct != 400 || setPct != tt.setPct || limit != tt.wantLimit || setLm != tt.setLm {
				t.Errorf("gcSettings = %d %v %d %v; want 400 %v %d %v", pct, setPct, limit, setLm, tt.setPct, tt.wantLimit, tt.setLm)
			}
		})
	}
}
