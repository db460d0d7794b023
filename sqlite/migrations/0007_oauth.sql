-- OAuth 2.1 and OpenID Connect: registered clients, authorization requests
-- waiting for a person, authorization codes, the binding of a session to
-- the client it was issued to, and remembered consents. Lists (redirect
-- URIs, grants, scopes) are space-separated: none of their items may hold
-- white space.
CREATE TABLE oauth_clients (
    id            TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL,
    secret_hash   BLOB,   -- SHA-256 of the secret; NULL for a public client.
    redirect_uris TEXT    NOT NULL,
    logout_uris   TEXT    NOT NULL,
    grants        TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    trusted       INTEGER NOT NULL,
    id_token_alg  TEXT    NOT NULL, -- RS256 or EdDSA.
    created_at    INTEGER NOT NULL
) STRICT;

-- Authorization requests are deleted when answered, and expired ones
-- whenever a new one is stored.
CREATE TABLE oauth_requests (
    id             TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    prompt         TEXT    NOT NULL,
    max_age        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX oauth_requests_expiry ON oauth_requests (expires_at);

-- Codes are kept by hash. One conditional UPDATE sets used_at and
-- session_id; a later attempt sets replayed_at, which stops the session of
-- the first redemption being created if it has not been yet.
CREATE TABLE oauth_codes (
    hash           BLOB    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    nonce          TEXT    NOT NULL,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    session_id     TEXT,
    used_at        INTEGER,
    replayed_at    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- The client a session was issued to. A session without a row here is one
-- of restauth's own API or pages. Sweeping the session deletes the row.
CREATE TABLE oauth_sessions (
    session_id TEXT    NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    scopes     TEXT    NOT NULL,
    auth_time  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX oauth_sessions_client ON oauth_sessions (client_id, user_id);

CREATE TABLE oauth_consents (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;

-- Device authorizations (RFC 8628), by the hash of the device code. The
-- user code is unique among the stored ones; expired rows are deleted
-- whenever a new one is stored.
CREATE TABLE oauth_device_codes (
    hash           BLOB    NOT NULL PRIMARY KEY,
    user_code      TEXT    NOT NULL UNIQUE,
    client_id      TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    interval_us    INTEGER NOT NULL,
    last_polled_at INTEGER,
    status         TEXT    NOT NULL,
    user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
    auth_time      INTEGER,
    session_id     TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX oauth_device_codes_expiry ON oauth_device_codes (expires_at);

-- The RSA keys that sign ID tokens, staged like signing_keys: published
-- from created_at, signing from activates_at, dropped after expires_at.
-- private_key is PKCS #8 DER.
CREATE TABLE oauth_id_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    private_key  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    expires_at   INTEGER
) STRICT;
