package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restauth/restauth"
)

// TestPageFlags checks that the operator's style sheet and logo are read
// and served, and that files the pages could not serve are refused at
// start.
func TestPageFlags(t *testing.T) {
	dir := t.TempDir()
	css := filepath.Join(dir, "brand.css")
	logo := filepath.Join(dir, "logo.svg")
	os.WriteFile(css, []byte(":root { --accent: #702; }"), 0o644)
	os.WriteFile(logo, []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), 0o644)
	os.WriteFile(filepath.Join(dir, "logo.bmp"), []byte("BM"), 0o644)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api") })

	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"branded", []string{"--custom-css", css, "--logo", logo, "--product-name", "Acme ID", "--signup=false"}, ""},
		{"missing css", []string{"--custom-css", filepath.Join(dir, "none.css")}, "--custom-css"},
		{"logo of another type", []string{"--logo", filepath.Join(dir, "logo.bmp")}, "--logo"},
		{"missing logo", []string{"--logo", filepath.Join(dir, "none.png")}, "--logo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := parseCommand(findByName("serve"), tt.args, func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.validateServing()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("validateServing error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h, err := cfg.pages.handler(api, restauth.NewService(restauth.DefaultConfig(), restauth.Deps{}), nil, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			get := func(path string) (int, string, string) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
			}
			if code, _, body := get("/api/anything"); code != 200 || body != "api" {
				t.Errorf("GET /api/anything = %d %q, want the API's answer", code, body)
			}
			code, ctype, body := get("/pages/custom.css")
			if branded := len(tt.args) > 0; branded != (code == 200) || (branded && (ctype != "text/css; charset=utf-8" || !strings.Contains(body, "#702"))) {
				t.Errorf("GET /pages/custom.css = %d %q %q (branded %v)", code, ctype, body, branded)
			}
			code, ctype, _ = get("/pages/logo")
			if branded := len(tt.args) > 0; branded != (code == 200) || (branded && ctype != "image/svg+xml") {
				t.Errorf("GET /pages/logo = %d %q (branded %v)", code, ctype, branded)
			}
		})
	}
}
