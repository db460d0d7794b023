-- Initial schema. Times are INTEGER unix microseconds (the precision of a
-- PostgreSQL timestamptz, so every store rounds alike); a nullable time column
-- holds NULL for the zero time. Tables are STRICT so a wrong type fails loudly.

-- Usernames are unique case-insensitively through username_key, which the
-- store computes as strings.ToLower of the NFC-normalised name; the UNIQUE
-- constraint, not a prior lookup, decides between concurrent registrations.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT, -- Never reused, so stale session rows cannot point at a new account.
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL CHECK (password_hash <> ''),
    created_at    INTEGER NOT NULL
) STRICT;

-- Sessions outlive their user: deleting a user sets user_id to NULL instead
-- of deleting the rows, so that RevokedSince still reports the revocations
-- and other instances drop the sessions' access tokens. The foreign key still
-- stops a session being created for a user that no longer exists.
CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    client_ip    TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    revoked_at   INTEGER
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
-- Partial: only revoked rows are ever searched by revocation time.
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- One row per refresh token ever issued, keyed by the token's hash. used_at
-- and child_sealed are set together by the one conditional UPDATE that
-- consumes the token.
CREATE TABLE refresh_tokens (
    hash         BLOB    NOT NULL PRIMARY KEY,
    session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    used_at      INTEGER,
    child_sealed BLOB
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

CREATE TABLE counters (
    key          TEXT    NOT NULL PRIMARY KEY,
    count        INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    last         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE signing_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    algorithm    TEXT    NOT NULL,
    private_key  BLOB    NOT NULL,
    public_key   BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    expires_at   INTEGER
) STRICT;

CREATE TABLE secrets (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
