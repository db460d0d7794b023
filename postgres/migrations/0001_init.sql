-- Initial schema. Tables are created unqualified, so they land in the first
-- schema of the connection's search_path. Times are timestamptz, whose
-- microsecond precision every restauth store shares; a nullable time column
-- holds NULL for the zero time.

-- Usernames are unique case-insensitively through username_key, which the
-- store computes as strings.ToLower of the NFC-normalised name (in Go, so that
-- the folding does not depend on the database's collation); the UNIQUE
-- constraint, not a prior lookup, decides between concurrent registrations.
CREATE TABLE users (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- Never reused, so stale session rows cannot point at a new account.
    username      text        NOT NULL,
    username_key  text        NOT NULL UNIQUE,
    password_hash text        NOT NULL CHECK (password_hash <> ''),
    created_at    timestamptz NOT NULL
);

-- Sessions outlive their user: deleting a user sets user_id to NULL instead
-- of deleting the rows, so that RevokedSince still reports the revocations
-- and other instances drop the sessions' access tokens. The foreign key still
-- stops a session being created for a user that no longer exists.
CREATE TABLE sessions (
    id           text        NOT NULL PRIMARY KEY,
    user_id      bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    client_ip    text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    revoked_at   timestamptz
);

CREATE INDEX sessions_user_id ON sessions (user_id);
-- Partial: only revoked rows are ever searched by revocation time.
CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- One row per refresh token ever issued, keyed by the token's hash. used_at
-- and child_sealed are set together by the one conditional UPDATE that
-- consumes the token.
CREATE TABLE refresh_tokens (
    hash         bytea       NOT NULL PRIMARY KEY,
    session_id   text        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    used_at      timestamptz,
    child_sealed bytea
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

CREATE TABLE counters (
    key          text        NOT NULL PRIMARY KEY,
    count        integer     NOT NULL,
    window_start timestamptz NOT NULL,
    last         timestamptz NOT NULL
);

CREATE TABLE signing_keys (
    id           text        NOT NULL PRIMARY KEY,
    algorithm    text        NOT NULL,
    private_key  bytea       NOT NULL,
    public_key   bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL,
    expires_at   timestamptz
);

CREATE TABLE secrets (
    name  text  NOT NULL PRIMARY KEY,
    value bytea NOT NULL
);
