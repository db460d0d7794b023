package pages

import "github.com/restauth/restauth/internal/teststore"

// The stores the pages' tests run on come from teststore, which the API's
// tests share; these names keep the tests short.
type (
	testStore = teststore.Store
	storeKind = teststore.Kind
)

const postgresEnv = teststore.PostgresEnv

var (
	sqliteStore   = teststore.SQLite
	postgresStore = teststore.Postgres
	forEachStore  = teststore.ForEach
)

// fastParams is the shared test hashing cost.
var fastParams = teststore.FastParams
