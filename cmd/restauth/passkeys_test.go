package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restauth/restauth"
)

// TestWirePasskeys checks that passkeys follow --public-url: on for a
// domain, off without a public URL, and off, with a warning, for an IP
// address, which browsers refuse as a relying party id.
func TestWirePasskeys(t *testing.T) {
	st, err := openStore(context.Background(), filepath.Join(t.TempDir(), "pk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
		var deps restauth.Deps
		wirePasskeys(&deps, cfg, st, slog.New(slog.NewTextHandler(&logs, nil)))
		on := restauth.NewService(restauth.DefaultConfig(), deps).PasskeysEnabled()
		if on != tt.on || strings.Contains(logs.String(), "passkeys are off") != tt.warning {
			t.Errorf("%v: passkeys on %v, log %q; want on %v, warning %v", tt.args, on, logs.String(), tt.on, tt.warning)
		}
	}
}
