package teststore

import (
	"context"
	"log/slog"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

// FastParams keeps tests quick; the production parameters are exercised by
// the password package's own tests and the end-to-end test.
var FastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// NewService wires a Service on st the way the server does (package
// instance), with its own signing-key ring and revocation view, as each
// instance sharing a database has. A nil logger discards the Service's
// logs.
func NewService(t testing.TB, st Store, cfg restauth.Config, hasher restauth.PasswordHasher, logger *slog.Logger) (*restauth.Service, *token.Ring) {
	t.Helper()
	inst, err := instance.New(context.Background(), st, instance.Options{Config: cfg, Hasher: hasher, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return inst.Service, inst.Ring
}
