package httpapi

import (
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/internal/teststore"
)

// The stores the HTTP tests run on, and the row snapshots that prove a
// refused request stored nothing, come from teststore, which the pages'
// tests share; these names keep the tests short.
type (
	testStore = teststore.Store
	storeKind = teststore.Kind
	snapshot  = teststore.Snapshot
)

const postgresEnv = teststore.PostgresEnv

var (
	sqliteStore   = teststore.SQLite
	postgresStore = teststore.Postgres
	forEachStore  = teststore.ForEach
	takeSnapshot  = teststore.TakeSnapshot
)

// testNorm and fastParams are the shared Normalizer and test hashing cost.
type testNorm = instance.Norm

var fastParams = teststore.FastParams
