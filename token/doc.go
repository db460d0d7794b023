// Package token issues and verifies restauth access tokens and makes the
// opaque refresh tokens.
//
// Access tokens are JWTs (RFC 9068, "typ":"at+jwt") signed with Ed25519
// ("alg":"EdDSA"). The signing keys live in a restauth.KeyStore and are held
// in memory by a Ring, which generates the first key on an empty store,
// publishes every unexpired key as a JWKS, and rotates keys so that a new key
// is published before it signs and an old key keeps verifying until every
// token it signed has expired.
//
// Verifier is the single place where an access token is judged. It refuses
// anything that is not exactly what a Signer produces (alg EdDSA, typ
// at+jwt, a well-formed kid, no key-fetching or critical headers, the
// expected issuer and audience, a positive numeric subject, a session id and
// a token id) and reports every refusal as a *restauth.Error with code
// restauth.EInvalidToken and a short client-safe message. Verified tokens are
// cached until they expire, so the common path costs a map lookup instead of
// a signature check. The same Verifier backs restauth's own routes and, via
// package verify, other services that only see the public JWKS.
//
// Refresh tokens are random strings ("rt_" + 43 base64url characters) that
// are stored only as SHA-256 hashes; RefreshCodec also seals a rotated child
// token with AES-256-GCM for the rotation grace window.
package token
