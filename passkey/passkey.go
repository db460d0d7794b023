// Package passkey runs the WebAuthn ceremonies for restauth's passkeys with
// github.com/go-webauthn/webauthn, so that the domain (package restauth)
// keeps to the standard library. It implements restauth.PasskeyCeremonies
// for one relying party, derived from the server's public URL: the relying
// party id is the URL's host, and the one allowed origin its
// scheme://host[:port]. Assertions and attestations made for any other
// origin or relying party are refused.
package passkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/restauth/restauth"
)

// Ceremonies implements restauth.PasskeyCeremonies.
type Ceremonies struct {
	w *webauthn.WebAuthn
}

var _ restauth.PasskeyCeremonies = (*Ceremonies)(nil)

// New returns the ceremonies for the relying party at publicURL, shown to
// people as displayName. The URL must be http or https with a domain name
// for host: browsers refuse an IP address as a relying party id.
func New(publicURL, displayName string) (*Ceremonies, error) {
	rpID, origin, err := RelyingParty(publicURL)
	if err != nil {
		return nil, err
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: restauth.PasskeyChallengeTTL, TimeoutUVD: restauth.PasskeyChallengeTTL}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: displayName,
		RPOrigins:     []string{origin},
		Timeouts:      webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Ceremonies{w: w}, nil
}

// RelyingParty returns the relying party id and the origin of publicURL.
func RelyingParty(publicURL string) (rpID, origin string, err error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return "", "", fmt.Errorf("passkey: public URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
		return "", "", errors.New("passkey: the public URL must be http:// or https:// with a host")
	}
	rpID = strings.ToLower(u.Hostname())
	if err := protocol.ValidateRPID(rpID); err != nil {
		return "", "", fmt.Errorf("passkey: the public URL's host %q cannot be a relying party id (an IP address never can): %w", rpID, err)
	}
	return rpID, u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// user is a restauth user as the library sees it.
type user struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newUser decodes the stored credential records of u.
func newUser(u *restauth.PasskeyUser) (*user, error) {
	out := &user{handle: u.Handle, name: u.Name}
	for _, p := range u.Passkeys {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return nil, fmt.Errorf("passkey: stored credential %s: %w", p.ID, err)
		}
		out.creds = append(out.creds, c)
	}
	return out, nil
}

func descriptors(u *user) []protocol.CredentialDescriptor {
	out := make([]protocol.CredentialDescriptor, 0, len(u.creds))
	for i := range u.creds {
		out = append(out, u.creds[i].Descriptor())
	}
	return out
}

// refused wraps the library's verdict on a response as the domain's
// refusal; the library's words stay in the error chain for the logs.
func refused(err error) error {
	var re *restauth.Error
	if errors.As(err, &re) && re.Code != restauth.ENotFound && re.Code != restauth.EPasskeyRefused {
		// The store failed while the response was checked.
		return err
	}
	return &restauth.Error{Code: restauth.EPasskeyRefused, Message: "the passkey was refused", Err: err}
}

// BeginRegistration asks for a discoverable credential (a resident key),
// with user verification preferred and no attestation, excluding the
// user's passkeys so that one authenticator is not registered twice.
func (c *Ceremonies) BeginRegistration(pu *restauth.PasskeyUser) (options, state []byte, err error) {
	u, err := newUser(pu)
	if err != nil {
		return nil, nil, err
	}
	yes := true
	creation, session, err := c.w.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &yes,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(descriptors(u)))
	if err != nil {
		return nil, nil, err
	}
	return marshal(creation, session)
}

// FinishRegistration checks the attestation response.
func (c *Ceremonies) FinishRegistration(pu *restauth.PasskeyUser, state, response []byte) (credentialID, credential []byte, err error) {
	u, err := newUser(pu)
	if err != nil {
		return nil, nil, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, nil, refused(err)
	}
	cred, err := c.w.CreateCredential(u, session, parsed)
	if err != nil {
		return nil, nil, refused(err)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, err
	}
	return cred.ID, record, nil
}

// BeginLogin asks for an assertion from pu's passkeys or, when pu is nil,
// from any discoverable credential, with user verification preferred.
func (c *Ceremonies) BeginLogin(pu *restauth.PasskeyUser) (options, state []byte, err error) {
	uv := webauthn.WithUserVerification(protocol.VerificationPreferred)
	if pu == nil {
		assertion, session, err := c.w.BeginDiscoverableLogin(uv)
		if err != nil {
			return nil, nil, err
		}
		return marshal(assertion, session)
	}
	u, err := newUser(pu)
	if err != nil {
		return nil, nil, err
	}
	assertion, session, err := c.w.BeginLogin(u, uv)
	if err != nil {
		return nil, nil, err
	}
	return marshal(assertion, session)
}

// FinishLogin checks the assertion, and refuses a credential whose
// signature counter did not move forward (a sign of a cloned
// authenticator; authenticators that keep no counter send 0 every time).
func (c *Ceremonies) FinishLogin(state, response []byte, find func(credentialID, userHandle []byte) (*restauth.PasskeyUser, error)) (credentialID, credential []byte, err error) {
	var session webauthn.SessionData
	if err := json.Unmarshal(state, &session); err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, nil, refused(err)
	}
	// findErr keeps what find said, so that a store failure is not
	// mistaken for a refused passkey.
	var findErr error
	lookup := func(rawID, handle []byte) (webauthn.User, error) {
		pu, err := find(rawID, handle)
		if err != nil {
			findErr = err
			return nil, err
		}
		u, err := newUser(pu)
		if err != nil {
			findErr = err
		}
		return u, err
	}
	var cred *webauthn.Credential
	if len(session.UserID) == 0 {
		_, cred, err = c.w.ValidatePasskeyLogin(lookup, session, parsed)
	} else {
		var u webauthn.User
		if u, err = lookup(parsed.RawID, session.UserID); err == nil {
			cred, err = c.w.ValidateLogin(u, session, parsed)
		}
	}
	if findErr != nil {
		return nil, nil, refused(findErr)
	}
	if err != nil {
		return nil, nil, refused(err)
	}
	if cred.Authenticator.CloneWarning {
		return nil, nil, refused(errors.New("the signature counter did not increase: the authenticator may be cloned"))
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, err
	}
	return cred.ID, record, nil
}

func marshal(options, session any) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, err
	}
	s, err := json.Marshal(session)
	if err != nil {
		return nil, nil, err
	}
	return o, s, nil
}
