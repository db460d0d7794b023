-- Personal API keys. Only the SHA-256 of a key is stored, under a unique
-- index, so that a key presented once is found with one lookup and a copy
-- of the database authenticates nothing. Keys belong to their user and go
-- with it; revoking a key deletes its row (a user-level revocation recorded
-- in the same transaction tells the other instances). scopes is the
-- space-separated list of the key's scopes; last_used_at and expires_at
-- are NULL for never and for no expiry.
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    key_hash     BLOB    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER
) STRICT;

CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);
