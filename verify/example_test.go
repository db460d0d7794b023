package verify_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/token"
	"github.com/restauth/restauth/verify"
)

func Example() {
	ctx := context.Background()

	// restauth's side: a key ring, its JWKS endpoint, and a signed token.
	ring := token.NewRing(&memKeyStore{}, token.RingOptions{})
	if err := ring.Load(ctx); err != nil {
		log.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(ring.JWKS())
	}))
	defer jwks.Close()
	tok, err := token.NewSigner(ring).Issue(ctx, &restauth.Claims{
		Issuer:    "https://auth.example",
		Audience:  []string{"orders"},
		UserID:    42,
		Username:  "alice",
		SessionID: "s1",
		ExpiresAt: time.Now().Add(10 * time.Minute),
	})
	if err != nil {
		log.Fatal(err)
	}

	// The other service: verify tokens against the JWKS.
	v, err := verify.New(verify.Options{
		JWKSURL:  jwks.URL,
		Issuer:   "https://auth.example",
		Audience: "orders",
	})
	if err != nil {
		log.Fatal(err)
	}
	orders := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "orders of %s (user %d)", c.Username, c.UserID)
	}))

	for _, auth := range []string{"Bearer " + tok, "Bearer not-a-token", ""} {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		orders.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		fmt.Println(rec.Code, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 orders of alice (user 42)
	// 401 {"error":"invalid_token","message":"token is malformed"}
	// 401 {"error":"invalid_token","message":"a bearer token is required"}
}
