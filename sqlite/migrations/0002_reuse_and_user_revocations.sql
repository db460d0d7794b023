-- Sessions opened by a password-authenticated GET /api/token (the REST-auth
-- flow) are marked reusable: the next such request from the same user, client
-- address and user agent reuses the live one instead of opening another, so a
-- client renewing every few minutes keeps one session. The partial index
-- holds only the rows that lookup can return.
ALTER TABLE sessions ADD COLUMN reusable INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_reuse ON sessions (user_id, client_ip, user_agent, last_used_at)
    WHERE reusable = 1 AND revoked_at IS NULL;

-- User-level revocations: a password change, a deletion, or the revocation
-- of all of a user's sessions. Other instances read them (UserRevocationsSince)
-- to drop the user's cached password verifications. No foreign key: the rows
-- of a deleted user must outlive it, as its revoked sessions do.
CREATE TABLE user_revocations (
    user_id    INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
) STRICT;

CREATE INDEX user_revocations_revoked_at ON user_revocations (revoked_at);
