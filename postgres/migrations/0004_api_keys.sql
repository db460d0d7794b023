-- Personal API keys. Only the SHA-256 of a key is stored, under a unique
-- index, so that a key presented once is found with one lookup and a copy
-- of the database authenticates nothing. Keys belong to their user and go
-- with it; revoking a key deletes its row (a user-level revocation recorded
-- in the same transaction, with a notification, tells the other instances).
-- scopes is the space-separated list of the key's scopes; last_used_at and
-- expires_at are NULL for never and for no expiry.
CREATE TABLE api_keys (
    id           text        NOT NULL PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    key_hash     bytea       NOT NULL UNIQUE,
    scopes       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    expires_at   timestamptz
);

CREATE INDEX api_keys_user_id ON api_keys (user_id, created_at);
