-- Browser sessions: a restauth session reached through a cookie instead of
-- tokens. The session itself is an ordinary row of sessions (listed, ended
-- and revoked like any other); this table maps the SHA-256 of the cookie to
-- it, so that the cookie itself is never stored. Sweeping the session
-- deletes its cookie row with it.
CREATE TABLE browser_sessions (
    cookie_hash bytea       NOT NULL PRIMARY KEY,
    session_id  text        NOT NULL UNIQUE REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL
);
