-- Second factors. totp holds one authenticator per user: its secret (not
-- encrypted; see docs/security.md), confirmed_at NULL while the enrolment
-- awaits its first code, and the last time step whose code was accepted, so
-- that no code is accepted twice, on any instance. Recovery codes are kept
-- as SHA-256 hashes only. An MFA challenge is a password login waiting for
-- its second factor, found by the SHA-256 of its token.
CREATE TABLE totp (
    user_id      bigint      NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint      NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    bytea  NOT NULL,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE mfa_challenges (
    hash       bytea       NOT NULL PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_ip  text        NOT NULL DEFAULT '',
    user_agent text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
