-- Passkeys: WebAuthn credentials of which only the public part is kept.
-- credential holds the credential record (public key, signature counter,
-- flags, transports) in the ceremonies' JSON form. Deleting the user
-- deletes its passkeys.
CREATE TABLE passkeys (
    id            text        NOT NULL PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id bytea       NOT NULL UNIQUE,
    name          text        NOT NULL,
    credential    bytea       NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- The server's half of passkey ceremonies in progress, so that a ceremony
-- begun on one instance finishes on any. A challenge is deleted when it is
-- taken (single use), and expired ones whenever a new one is stored.
CREATE TABLE passkey_challenges (
    id         text        NOT NULL PRIMARY KEY,
    user_id    bigint      NOT NULL, -- 0 for a sign-in with no username.
    kind       text        NOT NULL,
    state      bytea       NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
