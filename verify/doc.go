// Package verify lets other Go services accept restauth access tokens.
//
// A Verifier fetches restauth's public keys from its JWKS endpoint and checks
// tokens with token.Verifier, the same code that guards restauth's own
// routes, so a token is judged identically everywhere. Keys are cached for
// the JWKS max-age (Cache-Control, or Options.MaxAge) and refetched when a
// token names a key not seen yet, at most once per Options.RefetchInterval
// however many such tokens arrive. Only Ed25519 keys (kty OKP, crv Ed25519)
// are accepted from the JWKS, and the document is limited to 1 MiB.
//
// Local verification cannot see a session revoked after its token was
// issued; that token stays valid until it expires (restauth's access tokens
// live minutes). Services that must honour revocation at once can configure
// Options.Introspection, which asks restauth (RFC 7662) whether each token is
// still active and remembers a positive answer for a few seconds.
//
// Access tokens that restauth's OpenID Connect provider issued to OAuth
// clients (third-party apps) are refused unless Options.AcceptClientTokens
// is set: they share the issuer and audience of a user's own tokens but
// carry only the scopes the user granted the app, and a client_credentials
// token stands for no user at all (UserID 0). A resource server that serves
// third-party apps sets the option and checks Claims.ClientID and
// Claims.Scope on every request.
//
// Typical use:
//
//	v, err := verify.New(verify.Options{
//		JWKSURL:  "https://auth.example/.well-known/jwks.json",
//		Issuer:   "https://auth.example",
//		Audience: "orders",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("/orders/", v.Middleware(ordersHandler))
//
// and in the handler:
//
//	claims, _ := verify.ClaimsFromContext(r.Context())
package verify
