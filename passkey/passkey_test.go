package passkey

import "testing"

func TestRelyingParty(t *testing.T) {
	for _, tt := range []struct {
		url, rpID, origin string
		ok                bool
	}{
		{"https://auth.example.com", "auth.example.com", "https://auth.example.com", true},
		{"https://Auth.Example.com:8443/base/", "auth.example.com", "https://auth.example.com:8443", true},
		{"http://localhost:8080", "localhost", "http://localhost:8080", true},
		{"https://127.0.0.1:8443", "", "", false},
		{"https://[::1]", "", "", false},
		{"ftp://example.com", "", "", false},
		{"example.com", "", "", false},
		{"", "", "", false},
	} {
		rpID, origin, err := RelyingParty(tt.url)
		if (err == nil) != tt.ok || rpID != tt.rpID || origin != tt.origin {
			t.Errorf("RelyingParty(%q) = %q, %q, %v; want %q, %q, ok %v", tt.url, rpID, origin, err, tt.rpID, tt.origin, tt.ok)
		}
	}
}

func TestNewRefusesAnIPAddress(t *testing.T) {
	if _, err := New("https://192.0.2.1", "restauth"); err == nil {
		t.Fatal("New with an IP address for host succeeded; want an error")
	}
	if _, err := New("https://auth.example.com", "restauth"); err != nil {
		t.Fatalf("New: %v", err)
	}
}
