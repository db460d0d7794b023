package sqlite

import "database/sql"

// PoolStats returns the statistics of the store's two connection pools: the
// single-connection writer and the query-only readers.
func (db *DB) PoolStats() (write, read sql.DBStats) {
	return db.write.Stats(), db.read.Stats()
}
