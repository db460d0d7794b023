package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientCommands runs restauth client add, list, rotate-secret and
// delete on a database, and their refusals.
func TestClientCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "clients.db")
	runCommand(t, nil, "migrate", "--db", db)
	out := runCommand(t, nil, "client", "add", "Photo Album", "--db", db, "--redirect-uri", "https://photos.example/cb,http://127.0.0.1/cb",
		"--scope", "openid", "--scope", "photos:read")
	id, secret := field(out, "client_id"), field(out, "client_secret")
	if len(id) != 22 || len(secret) != 43 {
		t.Fatalf("client add printed %q, want a 22-character id and a 43-character secret", out)
	}
	pub := field(runCommand(t, nil, "client", "add", "CLI", "--db", db, "--public", "--trusted", "--redirect-uri", "http://[::1]/cb",
		"--grant", "authorization_code", "--grant", "urn:ietf:params:oauth:grant-type:device_code", "--id-token-alg", "EdDSA"), "client_id")
	list := runCommand(t, nil, "client", "list", "--db", db)
	for _, want := range []string{id, "Photo Album", "confidential", "photos:read", "https://photos.example/cb", pub, "public,trusted"} {
		if !strings.Contains(list, want) {
			t.Errorf("client list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, secret) {
		t.Error("client list shows a secret")
	}
	next := field(runCommand(t, nil, "client", "rotate-secret", id, "--db", db), "client_secret")
	if len(next) != 43 || next == secret {
		t.Errorf("rotate-secret printed %q, want a new secret", next)
	}
	runCommand(t, nil, "client", "delete", id, "--db", db)
	if list := runCommand(t, nil, "client", "list", "--db", db); strings.Contains(list, id) {
		t.Errorf("client list after delete still shows it:\n%s", list)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"delete again", []string{"client", "delete", id}, "no client"},
		{"rotate a public client", []string{"client", "rotate-secret", pub}, "public client"},
		{"http redirect", []string{"client", "add", "X", "--redirect-uri", "http://photos.example/cb"}, "redirect URI"},
		{"fragment", []string{"client", "add", "X", "--redirect-uri", "https://photos.example/cb#x"}, "redirect URI"},
		{"no redirect", []string{"client", "add", "X"}, "redirect URI"},
		{"public client_credentials", []string{"client", "add", "X", "--public", "--grant", "client_credentials"}, "client_credentials"},
		{"unknown grant", []string{"client", "add", "X", "--redirect-uri", "https://a.example/cb", "--grant", "implicit"}, "unknown grant"},
		{"bad alg", []string{"client", "add", "X", "--redirect-uri", "https://a.example/cb", "--id-token-alg", "none"}, "not one of"},
		{"serve refuses client flags", []string{"serve", "--public"}, "does not take --public"},
	} {
		var out, errs bytes.Buffer
		err := run(context.Background(), append(tt.args, "--db", db), func(string) string { return "" }, strings.NewReader(""), &out, &errs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}
