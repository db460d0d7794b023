-- Passkeys: WebAuthn credentials of which only the public part is kept.
-- credential holds the credential record (public key, signature counter,
-- flags, transports) in the ceremonies' JSON form. Deleting the user
-- deletes its passkeys.
CREATE TABLE passkeys (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    credential    BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id);

-- The server's half of passkey ceremonies in progress, so that a ceremony
-- begun on one instance finishes on any. A challenge is deleted when it is
-- taken (single use), and expired ones whenever a new one is stored.
CREATE TABLE passkey_challenges (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL, -- 0 for a sign-in with no username.
    kind       TEXT    NOT NULL,
    state      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);
