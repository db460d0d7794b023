-- Second factors. totp holds one authenticator per user: its secret (not
-- encrypted; see docs/security.md), confirmed_at NULL while the enrolment
-- awaits its first code, and the last time step whose code was accepted, so
-- that no code is accepted twice, on any instance. Recovery codes are kept
-- as SHA-256 hashes only. An MFA challenge is a password login waiting for
-- its second factor, found by the SHA-256 of its token.
CREATE TABLE totp (
    user_id      INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BLOB    NOT NULL,
    PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE mfa_challenges (
    hash       BLOB    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_ip  TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
