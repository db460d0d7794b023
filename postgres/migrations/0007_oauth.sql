-- OAuth 2.1 and OpenID Connect: registered clients, authorization requests
-- waiting for a person, authorization codes, the binding of a session to
-- the client it was issued to, and remembered consents. Lists (redirect
-- URIs, grants, scopes) are space-separated: none of their items may hold
-- white space.
CREATE TABLE oauth_clients (
    id            text        NOT NULL PRIMARY KEY,
    name          text        NOT NULL,
    secret_hash   bytea,      -- SHA-256 of the secret; NULL for a public client.
    redirect_uris text        NOT NULL,
    logout_uris   text        NOT NULL,
    grants        text        NOT NULL,
    scopes        text        NOT NULL,
    trusted       boolean     NOT NULL,
    id_token_alg  text        NOT NULL, -- RS256 or EdDSA.
    created_at    timestamptz NOT NULL
);

-- Authorization requests are deleted when answered, and expired ones
-- whenever a new one is stored.
CREATE TABLE oauth_requests (
    id             text        NOT NULL PRIMARY KEY,
    client_id      text        NOT NULL,
    redirect_uri   text        NOT NULL,
    scopes         text        NOT NULL,
    state          text        NOT NULL,
    nonce          text        NOT NULL,
    code_challenge text        NOT NULL,
    prompt         text        NOT NULL,
    max_age        integer     NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX oauth_requests_expiry ON oauth_requests (expires_at);

-- Codes are kept by hash. One conditional UPDATE sets used_at and
-- session_id; a later attempt sets replayed_at, which stops the session of
-- the first redemption being created if it has not been yet.
CREATE TABLE oauth_codes (
    hash           bytea       NOT NULL PRIMARY KEY,
    client_id      text        NOT NULL,
    redirect_uri   text        NOT NULL,
    code_challenge text        NOT NULL,
    scopes         text        NOT NULL,
    nonce          text        NOT NULL,
    user_id        bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    session_id     text,
    used_at        timestamptz,
    replayed_at    timestamptz
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- The client a session was issued to. A session without a row here is one
-- of restauth's own API or pages. Sweeping the session deletes the row.
CREATE TABLE oauth_sessions (
    session_id text        NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  text        NOT NULL,
    user_id    bigint      NOT NULL,
    scopes     text        NOT NULL,
    auth_time  timestamptz NOT NULL
);
CREATE INDEX oauth_sessions_client ON oauth_sessions (client_id, user_id);

CREATE TABLE oauth_consents (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  text        NOT NULL,
    scopes     text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Device authorizations (RFC 8628), by the hash of the device code. The
-- user code is unique among the stored ones; expired rows are deleted
-- whenever a new one is stored.
CREATE TABLE oauth_device_codes (
    hash           bytea       NOT NULL PRIMARY KEY,
    user_code      text        NOT NULL UNIQUE,
    client_id      text        NOT NULL,
    scopes         text        NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    interval_us    bigint      NOT NULL,
    last_polled_at timestamptz,
    status         text        NOT NULL,
    user_id        bigint      REFERENCES users (id) ON DELETE CASCADE,
    auth_time      timestamptz,
    session_id     text
);
CREATE INDEX oauth_device_codes_expiry ON oauth_device_codes (expires_at);

-- The RSA keys that sign ID tokens, staged like signing_keys: published
-- from created_at, signing from activates_at, dropped after expires_at.
-- private_key is PKCS #8 DER.
CREATE TABLE oauth_id_keys (
    id           text        NOT NULL PRIMARY KEY,
    private_key  bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    activates_at timestamptz NOT NULL,
    expires_at   timestamptz
);
