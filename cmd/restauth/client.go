package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/token"
)

// clientOptions are the flags of restauth client add.
type clientOptions struct {
	redirectURIs []string
	logoutURIs   []string
	grants       []string
	scopes       []string
	public       bool
	trusted      bool
	idTokenAlg   string
}

// listFlag is a flag that may be given several times, each value holding
// one or more items separated by commas or spaces.
func listFlag(name, arg, usage string, p func(*config) *[]string) *flagDef {
	return toolOnlyFlag(&flagDef{name: name, arg: arg, usage: usage,
		set: func(c *config, s string) error {
			items := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
			if len(items) == 0 {
				return errors.New("must not be empty")
			}
			*p(c) = append(*p(c), items...)
			return nil
		},
		get: func(c *config) string { return strings.Join(*p(c), ",") },
	})
}

// clientFlags are the flags of restauth client add, which only it takes.
var clientFlags = []*flagDef{
	listFlag("redirect-uri", "URI", "a redirect URI of the client (repeatable): https, http on 127.0.0.1 or [::1] (any port), or a private-use scheme",
		func(c *config) *[]string { return &c.client.redirectURIs }),
	listFlag("logout-uri", "URI", "a post-logout redirect URI of the client (repeatable), matched exactly",
		func(c *config) *[]string { return &c.client.logoutURIs }),
	listFlag("grant", "GRANT", "a grant the client may use (repeatable): authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:device_code; default the first two",
		func(c *config) *[]string { return &c.client.grants }),
	listFlag("scope", "SCOPE", "a scope the client may ask for (repeatable); default openid and profile",
		func(c *config) *[]string { return &c.client.scopes }),
	toolOnlyFlag(boolFlag("public", "register a public client (a browser or native app) that has no secret",
		func(c *config) *bool { return &c.client.public })),
	toolOnlyFlag(boolFlag("trusted", "mark the client first-party: its users are not asked to consent",
		func(c *config) *bool { return &c.client.trusted })),
	toolOnlyFlag(choiceFlag("id-token-alg", "the algorithm of the client's ID tokens", []string{"RS256", "EdDSA"},
		func(c *config) *string { return &c.client.idTokenAlg })),
}

func init() {
	flagTable = append(flagTable, clientFlags...)
	commands = append(commands,
		&command{name: "client add", args: []string{"NAME"}, summary: "register an OpenID Connect client and print its id and secret",
			flags: []string{"db", "redirect-uri", "logout-uri", "grant", "scope", "public", "trusted", "id-token-alg"}, run: clientAdd,
			about: "Register the OAuth 2.1 / OpenID Connect client NAME (the name shown on the consent\n" +
				"page) and print its client_id and, for a confidential client, its secret, shown this\n" +
				"once: only its SHA-256 is stored. Redirect URIs match exactly, except that one on\n" +
				"http://127.0.0.1 or http://[::1] accepts any port (RFC 8252). Every client must use\n" +
				"PKCE (S256)."},
		&command{name: "client list", summary: "list OpenID Connect clients", flags: dbFlags, run: clientList,
			about: "List the clients: id, name, type, grants, scopes and redirect URIs."},
		&command{name: "client delete", args: []string{"ID"}, summary: "delete a client and revoke its tokens", flags: dbFlags, run: clientDelete,
			about: "Delete the client with the id ID, forget the consents given to it, and revoke every\n" +
				"token it holds at once, on every instance."},
		&command{name: "client rotate-secret", args: []string{"ID"}, summary: "give a client a new secret and revoke its tokens", flags: dbFlags, run: clientRotate,
			about: "Give the confidential client ID a new secret, printed this once; the old secret stops\n" +
				"working and every token the client holds is revoked at once."},
	)
	groups = append(groups, "client")
}

// clientService opens the database for a client command: the Service with
// the OAuth store, which needs no issuer.
func clientService(ctx context.Context, in *invocation) (*restauth.Service, func(), error) {
	if err := requireDatabase(ctx, in.cfg.db); err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, in.cfg.db)
	if err != nil {
		return nil, nil, openErr(in.cfg.db, err)
	}
	svc := restauth.NewService(in.cfg.domain, restauth.Deps{
		Users: st, Sessions: st, Counters: st,
		Logger: slog.New(slog.NewTextHandler(in.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		NewID:  instance.NewSessionID, OIDC: restauth.OIDC{Store: st},
	})
	return svc, func() { st.Close() }, nil
}

func clientAdd(ctx context.Context, in *invocation) error {
	svc, done, err := clientService(ctx, in)
	if err != nil {
		return err
	}
	defer done()
	o := in.cfg.client
	c, secret, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{
		Name: in.args[0], RedirectURIs: o.redirectURIs, LogoutURIs: o.logoutURIs,
		Public: o.public, Grants: o.grants, Scopes: o.scopes, Trusted: o.trusted, IDTokenAlg: o.idTokenAlg,
	})
	if err != nil {
		return errors.New(describe(err))
	}
	fmt.Fprintf(in.stdout, "client_id: %s\n", c.ID)
	if secret != "" {
		fmt.Fprintf(in.stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(in.stderr, "The secret is shown this once; only its hash is stored. Keep it in the client's configuration.")
	}
	return nil
}

func clientList(ctx context.Context, in *invocation) error {
	svc, done, err := clientService(ctx, in)
	if err != nil {
		return err
	}
	defer done()
	cs, err := svc.OAuthClients(ctx)
	if err != nil {
		return errors.New(describe(err))
	}
	tw := tabwriter.NewWriter(in.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTYPE\tGRANTS\tSCOPES\tREDIRECT URIS")
	for _, c := range cs {
		typ := "confidential"
		if c.Public() {
			typ = "public"
		}
		if c.Trusted {
			typ += ",trusted"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, typ, strings.Join(c.Grants, ","),
			strings.Join(c.Scopes, ","), strings.Join(c.RedirectURIs, " "))
	}
	return tw.Flush()
}

func clientDelete(ctx context.Context, in *invocation) error {
	svc, done, err := clientService(ctx, in)
	if err != nil {
		return err
	}
	defer done()
	if err := svc.DeleteOAuthClient(ctx, in.args[0]); err != nil {
		if errors.Is(err, restauth.ErrNotFound) {
			return fmt.Errorf("no client with id %q", in.args[0])
		}
		return errors.New(describe(err))
	}
	fmt.Fprintf(in.stdout, "deleted client %s; its tokens are revoked\n", in.args[0])
	return nil
}

func clientRotate(ctx context.Context, in *invocation) error {
	svc, done, err := clientService(ctx, in)
	if err != nil {
		return err
	}
	defer done()
	secret, err := svc.RotateOAuthClientSecret(ctx, in.args[0])
	if err != nil {
		if errors.Is(err, restauth.ErrNotFound) {
			return fmt.Errorf("no client with id %q", in.args[0])
		}
		return errors.New(describe(err))
	}
	fmt.Fprintf(in.stdout, "client_secret: %s\n", secret)
	fmt.Fprintln(in.stderr, "The new secret is shown this once; the old one no longer works and the client's tokens are revoked.")
	return nil
}

// rotateIDKeys is restauth keys rotate's part for OpenID Connect: when the
// database holds ID-token keys, a new RSA key is published at once and
// signs five minutes later, and the older ones retire once every ID token
// they signed has expired.
func rotateIDKeys(ctx context.Context, in *invocation, a *app) error {
	keys, err := a.store.IDTokenKeys(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("list ID-token keys: %s", describe(err))
	}
	if len(keys) == 0 {
		return nil // OpenID Connect has never been on: nothing to rotate.
	}
	idt, err := token.LoadIDTokens(ctx, a.store, a.ring)
	if err != nil {
		return err
	}
	kid, err := idt.Rotate(ctx, token.DefaultPublishDelay, restauth.IDTokenTTL+in.cfg.domain.Leeway)
	if err != nil {
		return err
	}
	fmt.Fprintf(in.stdout, "added ID-token key %s (RS256): published now, signs in %s; older ones retire once their ID tokens have expired\n",
		kid, token.DefaultPublishDelay)
	return nil
}
