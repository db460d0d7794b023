package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// TestPasskeyCeremonies checks that passkeys follow --public-url: on for a
// domain, off without a public URL, and off, with a warning, for an IP
// address, which browsers refuse as a relying party id.
func TestPasskeyCeremonies(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		on      bool
		warning bool
	}{
		{nil, false, false},
		{[]string{"--public-url", "https://auth.example.com"}, true, false},
		{[]string{"--public-url", "http://localhost:5000"}, true, false},
		{[]string{"--public-url", "http://127.0.0.1:5000"}, false, true},
	} {
		cfg, _, err := parseCommand(findByName("serve"), tt.args, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		on := passkeyCeremonies(cfg, slog.New(slog.NewTextHandler(&logs, nil))) != nil
		if on != tt.on || strings.Contains(logs.String(), "passkeys are off") != tt.warning {
			t.Errorf("%v: passkeys on %v, log %q; want on %v, warning %v", tt.args, on, logs.String(), tt.on, tt.warning)
		}
	}
}

// TestServerPasskeys checks that the server's Service has passkeys on with
// a public URL and off without one.
func TestServerPasskeys(t *testing.T) {
	for _, tt := range []struct {
		args []string
		on   bool
	}{
		{nil, false},
		{[]string{"--public-url", "http://localhost:5000"}, true},
	} {
		cfg, _, err := parseCommand(findByName("serve"), tt.args, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		st, err := openStore(t.Context(), filepath.Join(t.TempDir(), "pk.db"))
		if err != nil {
			t.Fatal(err)
		}
		a, err := wire(t.Context(), cfg, st, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got := a.svc.PasskeysEnabled(); got != tt.on {
			t.Errorf("%v: PasskeysEnabled = %v, want %v", tt.args, got, tt.on)
		}
		st.Close()
	}
}
