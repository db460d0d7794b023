package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// PoolStat returns the statistics of the store's connection pool.
func (db *DB) PoolStat() *pgxpool.Stat { return db.pool.Stat() }
