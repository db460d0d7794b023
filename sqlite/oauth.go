package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ restauth.OAuthStore = (*DB)(nil)

// joinList and splitList store a list whose items hold no white space.
func joinList(v []string) string  { return strings.Join(v, " ") }
func splitList(s string) []string { return strings.Fields(s) }

const oauthClientCols = `id, name, secret_hash, redirect_uris, logout_uris, grants, scopes, trusted, id_token_alg, created_at`

func scanOAuthClient(row interface{ Scan(...any) error }) (*restauth.OAuthClient, error) {
	var c restauth.OAuthClient
	var redirects, logouts, grants, scopes string
	var created int64
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &grants, &scopes, &c.Trusted, &c.IDTokenAlg, &created); err != nil {
		return nil, err
	}
	c.RedirectURIs, c.LogoutURIs = splitList(redirects), splitList(logouts)
	c.Grants, c.Scopes, c.CreatedAt = splitList(grants), splitList(scopes), fromMicros(created)
	return &c, nil
}

// CreateOAuthClient stores a new client.
func (db *DB) CreateOAuthClient(ctx context.Context, c *restauth.OAuthClient) error {
	var secret any
	if len(c.SecretHash) > 0 {
		secret = c.SecretHash
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO oauth_clients (`+oauthClientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, secret, joinList(c.RedirectURIs), joinList(c.LogoutURIs), joinList(c.Grants), joinList(c.Scopes),
		c.Trusted, c.IDTokenAlg, micros(c.CreatedAt))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return restauth.ErrOAuthClientExists
	}
	return storeErr("create oauth client", err)
}

// OAuthClient returns the client with id.
func (db *DB) OAuthClient(ctx context.Context, id string) (*restauth.OAuthClient, error) {
	c, err := scanOAuthClient(db.read.QueryRowContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE id = ?`, id))
	return c, lookupErr("get oauth client", err)
}

// OAuthClients returns every client, oldest first.
func (db *DB) OAuthClients(ctx context.Context) ([]*restauth.OAuthClient, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients ORDER BY created_at, id`)
	if err != nil {
		return nil, storeErr("list oauth clients", err)
	}
	defer rows.Close()
	var out []*restauth.OAuthClient
	for rows.Next() {
		c, err := scanOAuthClient(rows)
		if err != nil {
			return nil, storeErr("list oauth clients", err)
		}
		out = append(out, c)
	}
	return out, storeErr("list oauth clients", rows.Err())
}

// revokeClientSessions revokes the live sessions issued to a client (to one
// user of it when userID is not zero) and returns their ids.
func revokeClientSessions(ctx context.Context, tx *sql.Tx, clientID string, userID int64, now time.Time) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE revoked_at IS NULL AND id IN (SELECT session_id FROM oauth_sessions WHERE client_id = ? AND (? = 0 OR user_id = ?))
		RETURNING id`, micros(now), clientID, userID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetOAuthClientSecret replaces a confidential client's secret hash and
// revokes the sessions issued to it.
func (db *DB) SetOAuthClientSecret(ctx context.Context, id string, hash []byte, now time.Time) ([]string, error) {
	var ids []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oauth_clients SET secret_hash = ? WHERE id = ? AND secret_hash IS NOT NULL`, hash, id)
		if err != nil {
			return err
		}
		if err := rowsAffected(res); err != nil {
			return err
		}
		ids, err = revokeClientSessions(ctx, tx, id, 0, now)
		return err
	})
	return ids, lookupErr("set oauth client secret", err)
}

// DeleteOAuthClient deletes the client with its consents, codes and
// requests, and revokes the sessions issued to it.
func (db *DB) DeleteOAuthClient(ctx context.Context, id string, now time.Time) ([]string, error) {
	var ids []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_clients WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if err := rowsAffected(res); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM oauth_consents WHERE client_id = ?`,
			`DELETE FROM oauth_codes WHERE client_id = ?`,
			`DELETE FROM oauth_requests WHERE client_id = ?`,
			`DELETE FROM oauth_device_codes WHERE client_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		ids, err = revokeClientSessions(ctx, tx, id, 0, now)
		return err
	})
	return ids, lookupErr("delete oauth client", err)
}

const oauthRequestCols = `id, client_id, redirect_uri, scopes, state, nonce, code_challenge, prompt, max_age, created_at, expires_at`

// AddAuthorizationRequest stores r and deletes the expired requests.
func (db *DB) AddAuthorizationRequest(ctx context.Context, r *restauth.AuthorizationRequest, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_requests WHERE expires_at <= ?`, micros(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_requests (`+oauthRequestCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.ClientID, r.RedirectURI, joinList(r.Scopes), r.State, r.Nonce, r.CodeChallenge, r.Prompt, r.MaxAge,
			micros(r.CreatedAt), micros(r.ExpiresAt))
		return err
	})
	return storeErr("add authorization request", err)
}

// AuthorizationRequest returns an unexpired request.
func (db *DB) AuthorizationRequest(ctx context.Context, id string, now time.Time) (*restauth.AuthorizationRequest, error) {
	var r restauth.AuthorizationRequest
	var scopes string
	var created, expires int64
	err := db.read.QueryRowContext(ctx, `SELECT `+oauthRequestCols+` FROM oauth_requests WHERE id = ? AND expires_at > ?`, id, micros(now)).
		Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.CodeChallenge, &r.Prompt, &r.MaxAge, &created, &expires)
	if err != nil {
		return nil, lookupErr("get authorization request", err)
	}
	r.Scopes, r.CreatedAt, r.ExpiresAt = splitList(scopes), fromMicros(created), fromMicros(expires)
	return &r, nil
}

// DeleteAuthorizationRequest deletes the request.
func (db *DB) DeleteAuthorizationRequest(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM oauth_requests WHERE id = ?`, id)
	if err != nil {
		return lookupErr("delete authorization request", err)
	}
	return rowsAffected(res)
}

// AddOAuthCode stores c and deletes codes expired for longer than
// restauth.OAuthCodeKeep.
func (db *DB) AddOAuthCode(ctx context.Context, c *restauth.OAuthCode, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_codes WHERE expires_at <= ?`, micros(now.Add(-restauth.OAuthCodeKeep))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_codes
			(hash, client_id, redirect_uri, code_challenge, scopes, nonce, user_id, auth_time, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Hash, c.ClientID, c.RedirectURI, c.CodeChallenge, joinList(c.Scopes), c.Nonce, c.UserID,
			micros(c.AuthTime), micros(c.CreatedAt), micros(c.ExpiresAt))
		return err
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("add oauth code", err)
}

const oauthCodeCols = `hash, client_id, redirect_uri, code_challenge, scopes, nonce, user_id, auth_time, created_at, expires_at, session_id, used_at`

func scanOAuthCode(row interface{ Scan(...any) error }) (*restauth.OAuthCode, error) {
	var c restauth.OAuthCode
	var scopes string
	var auth, created, expires int64
	var sid sql.NullString
	var used sql.NullInt64
	if err := row.Scan(&c.Hash, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &scopes, &c.Nonce, &c.UserID,
		&auth, &created, &expires, &sid, &used); err != nil {
		return nil, err
	}
	c.Scopes, c.AuthTime, c.CreatedAt, c.ExpiresAt = splitList(scopes), fromMicros(auth), fromMicros(created), fromMicros(expires)
	c.SessionID, c.UsedAt = sid.String, fromNullMicros(used)
	return &c, nil
}

// RedeemOAuthCode marks the code used with one conditional UPDATE.
func (db *DB) RedeemOAuthCode(ctx context.Context, r restauth.CodeRedemption) (*restauth.OAuthCode, error) {
	c, err := scanOAuthCode(db.write.QueryRowContext(ctx, `UPDATE oauth_codes SET used_at = ?, session_id = ?
		WHERE hash = ? AND client_id = ? AND redirect_uri = ? AND code_challenge = ? AND used_at IS NULL AND expires_at > ?
		RETURNING `+oauthCodeCols,
		micros(r.Now), r.SessionID, r.Hash, r.ClientID, r.RedirectURI, r.CodeChallenge, micros(r.Now)))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, lookupErr("redeem oauth code", err)
	}
	c, err = scanOAuthCode(db.write.QueryRowContext(ctx, `UPDATE oauth_codes SET replayed_at = ?
		WHERE hash = ? AND used_at IS NOT NULL RETURNING `+oauthCodeCols, micros(r.Now), r.Hash))
	if err != nil {
		return nil, lookupErr("redeem oauth code", err)
	}
	return c, restauth.ErrOAuthCodeUsed
}

// CreateOAuthSession stores the session, its refresh token and its grant,
// unless the code was replayed meanwhile.
func (db *DB) CreateOAuthSession(ctx context.Context, codeHash []byte, s *restauth.Session, refresh *restauth.RefreshRecord, g *restauth.OAuthGrant) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if codeHash != nil {
			var replayed sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT replayed_at FROM oauth_codes WHERE hash = ?`, codeHash).Scan(&replayed); err != nil {
				return err
			}
			if replayed.Valid {
				return restauth.ErrOAuthCodeUsed
			}
		}
		if s.UserID == 0 {
			// A client's session for itself has no user.
			if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, NULL, ?, ?, ?, ?, ?, NULL, 0)`,
				s.ID, micros(s.CreatedAt), micros(s.LastUsedAt), micros(s.ExpiresAt), s.ClientIP, s.UserAgent); err != nil {
				return err
			}
		} else if err := db.insertSession(ctx, tx, s); err != nil {
			return err
		}
		if refresh != nil {
			if _, err := db.stmts.insertRefresh.exec(ctx, tx, refresh.Hash, s.ID, micros(refresh.CreatedAt)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_sessions (session_id, client_id, user_id, scopes, auth_time) VALUES (?, ?, ?, ?, ?)`,
			g.SessionID, g.ClientID, g.UserID, joinList(g.Scopes), micros(g.AuthTime))
		return err
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("create oauth session", err)
}

func scanGrant(row interface{ Scan(...any) error }) (*restauth.OAuthGrant, error) {
	var g restauth.OAuthGrant
	var scopes string
	var auth int64
	if err := row.Scan(&g.SessionID, &g.ClientID, &g.UserID, &scopes, &auth); err != nil {
		return nil, err
	}
	g.Scopes, g.AuthTime = splitList(scopes), fromMicros(auth)
	return &g, nil
}

// OAuthGrant returns the grant of a session.
func (db *DB) OAuthGrant(ctx context.Context, sessionID string) (*restauth.OAuthGrant, error) {
	g, err := scanGrant(db.read.QueryRowContext(ctx,
		`SELECT session_id, client_id, user_id, scopes, auth_time FROM oauth_sessions WHERE session_id = ?`, sessionID))
	return g, lookupErr("get oauth grant", err)
}

// OAuthGrantByRefresh returns the grant of the refresh token's session.
func (db *DB) OAuthGrantByRefresh(ctx context.Context, hash []byte) (*restauth.OAuthGrant, error) {
	var g restauth.OAuthGrant
	var scopes string
	var auth int64
	err := db.read.QueryRowContext(ctx,
		`SELECT g.session_id, g.client_id, g.user_id, g.scopes, g.auth_time, r.used_at IS NOT NULL
		FROM refresh_tokens r JOIN oauth_sessions g ON g.session_id = r.session_id WHERE r.hash = ?`, hash).
		Scan(&g.SessionID, &g.ClientID, &g.UserID, &scopes, &auth, &g.RefreshUsed)
	if err != nil {
		return nil, lookupErr("get oauth grant", err)
	}
	g.Scopes, g.AuthTime = splitList(scopes), fromMicros(auth)
	return &g, nil
}

// OAuthConsent returns the user's consent for the client.
func (db *DB) OAuthConsent(ctx context.Context, userID int64, clientID string) (*restauth.OAuthConsent, error) {
	var c restauth.OAuthConsent
	var scopes string
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT user_id, client_id, scopes, created_at FROM oauth_consents WHERE user_id = ? AND client_id = ?`,
		userID, clientID).Scan(&c.UserID, &c.ClientID, &scopes, &created)
	if err != nil {
		return nil, lookupErr("get oauth consent", err)
	}
	c.Scopes, c.CreatedAt = splitList(scopes), fromMicros(created)
	return &c, nil
}

// SaveOAuthConsent stores c, replacing the user's earlier consent for the
// client.
func (db *DB) SaveOAuthConsent(ctx context.Context, c *restauth.OAuthConsent) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
		c.UserID, c.ClientID, joinList(c.Scopes), micros(c.CreatedAt))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("save oauth consent", err)
}

// OAuthConsents returns the user's consents, oldest first.
func (db *DB) OAuthConsents(ctx context.Context, userID int64) ([]*restauth.OAuthConsent, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT user_id, client_id, scopes, created_at FROM oauth_consents WHERE user_id = ? ORDER BY created_at, client_id`, userID)
	if err != nil {
		return nil, storeErr("list oauth consents", err)
	}
	defer rows.Close()
	var out []*restauth.OAuthConsent
	for rows.Next() {
		var c restauth.OAuthConsent
		var scopes string
		var created int64
		if err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &created); err != nil {
			return nil, storeErr("list oauth consents", err)
		}
		c.Scopes, c.CreatedAt = splitList(scopes), fromMicros(created)
		out = append(out, &c)
	}
	return out, storeErr("list oauth consents", rows.Err())
}

// DeleteOAuthConsent deletes the consent and revokes the user's sessions
// issued to the client.
func (db *DB) DeleteOAuthConsent(ctx context.Context, userID int64, clientID string, now time.Time) ([]string, error) {
	var ids []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if ids, err = revokeClientSessions(ctx, tx, clientID, userID, now); err != nil {
			return err
		}
		if n == 0 && len(ids) == 0 {
			return restauth.ErrNotFound
		}
		return nil
	})
	return ids, lookupErr("delete oauth consent", err)
}

// ClientSession returns the newest live session a client opened for
// itself.
func (db *DB) ClientSession(ctx context.Context, clientID string, now time.Time) (*restauth.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx, `SELECT `+prefixed("s.", sessionCols)+`
		FROM sessions s JOIN oauth_sessions g ON g.session_id = s.id
		WHERE g.client_id = ? AND g.user_id = 0 AND s.revoked_at IS NULL AND s.expires_at > ?
		ORDER BY s.created_at DESC LIMIT 1`, clientID, micros(now)))
	return s, lookupErr("get client session", err)
}

// RevokeClientSession revokes a session a client opened for itself.
func (db *DB) RevokeClientSession(ctx context.Context, clientID, sessionID string, now time.Time) error {
	res, err := db.write.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE id = ? AND revoked_at IS NULL AND user_id IS NULL
		AND id IN (SELECT session_id FROM oauth_sessions WHERE client_id = ? AND user_id = 0)`,
		micros(now), sessionID, clientID)
	if err != nil {
		return lookupErr("revoke client session", err)
	}
	return rowsAffected(res)
}

// prefixed qualifies each of a comma-separated column list.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

const deviceCols = `hash, user_code, client_id, scopes, created_at, expires_at, interval_us, last_polled_at, status, user_id, auth_time, session_id`

func scanDevice(row interface{ Scan(...any) error }) (*restauth.DeviceCode, error) {
	var d restauth.DeviceCode
	var scopes string
	var created, expires, interval int64
	var polled, uid, auth sql.NullInt64
	var sid sql.NullString
	if err := row.Scan(&d.Hash, &d.UserCode, &d.ClientID, &scopes, &created, &expires, &interval, &polled, &d.Status, &uid, &auth, &sid); err != nil {
		return nil, err
	}
	d.Scopes, d.CreatedAt, d.ExpiresAt = splitList(scopes), fromMicros(created), fromMicros(expires)
	d.Interval, d.LastPolledAt = time.Duration(interval)*time.Microsecond, fromNullMicros(polled)
	d.UserID, d.AuthTime, d.SessionID = uid.Int64, fromNullMicros(auth), sid.String
	return &d, nil
}

// AddDeviceCode stores d and deletes the device codes expired for longer
// than restauth.DeviceCodeKeep.
func (db *DB) AddDeviceCode(ctx context.Context, d *restauth.DeviceCode, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_device_codes WHERE expires_at <= ?`, micros(now.Add(-restauth.DeviceCodeKeep))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_device_codes (hash, user_code, client_id, scopes, created_at, expires_at, interval_us, status)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, d.Hash, d.UserCode, d.ClientID, joinList(d.Scopes), micros(d.CreatedAt), micros(d.ExpiresAt),
			d.Interval.Microseconds(), d.Status)
		return err
	})
	if c := sqliteCode(err); c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return restauth.ErrDeviceCodeExists
	}
	return storeErr("add device code", err)
}

// DeviceCodeByUserCode returns the pending, unexpired device code.
func (db *DB) DeviceCodeByUserCode(ctx context.Context, userCode string, now time.Time) (*restauth.DeviceCode, error) {
	d, err := scanDevice(db.read.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM oauth_device_codes
		WHERE user_code = ? AND status = 'pending' AND expires_at > ?`, userCode, micros(now)))
	return d, lookupErr("get device code", err)
}

// DecideDeviceCode approves or denies a pending, unexpired device code.
func (db *DB) DecideDeviceCode(ctx context.Context, userCode string, userID int64, authTime time.Time, approve bool, now time.Time) error {
	status := restauth.DeviceDenied
	if approve {
		status = restauth.DeviceApproved
	}
	res, err := db.write.ExecContext(ctx, `UPDATE oauth_device_codes SET status = ?, user_id = ?, auth_time = ?
		WHERE user_code = ? AND status = 'pending' AND expires_at > ?`, status, userID, micros(authTime), userCode, micros(now))
	if err != nil {
		return lookupErr("decide device code", err)
	}
	return rowsAffected(res)
}

// PollDeviceCode returns the device code as it was and records the poll.
func (db *DB) PollDeviceCode(ctx context.Context, hash []byte, clientID string, now time.Time) (*restauth.DeviceCode, error) {
	var d *restauth.DeviceCode
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM oauth_device_codes WHERE hash = ? AND client_id = ?`, hash, clientID)); err != nil {
			return err
		}
		interval := d.Interval
		if !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < d.Interval {
			interval += restauth.DeviceSlowDown
		}
		_, err = tx.ExecContext(ctx, `UPDATE oauth_device_codes SET last_polled_at = ?, interval_us = ? WHERE hash = ?`,
			micros(now), interval.Microseconds(), hash)
		return err
	})
	return d, lookupErr("poll device code", err)
}

// RedeemDeviceCode marks an approved, unexpired device code used.
func (db *DB) RedeemDeviceCode(ctx context.Context, hash []byte, clientID, sessionID string, now time.Time) (*restauth.DeviceCode, error) {
	d, err := scanDevice(db.write.QueryRowContext(ctx, `UPDATE oauth_device_codes SET status = 'used', session_id = ?
		WHERE hash = ? AND client_id = ? AND status = 'approved' AND expires_at > ? RETURNING `+deviceCols,
		sessionID, hash, clientID, micros(now)))
	return d, lookupErr("redeem device code", err)
}

// IDTokenKeys returns the unexpired RSA keys of ID tokens, oldest first.
func (db *DB) IDTokenKeys(ctx context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, private_key, created_at, activates_at, expires_at FROM oauth_id_keys
		WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at, id`, micros(now))
	if err != nil {
		return nil, storeErr("list id token keys", err)
	}
	defer rows.Close()
	var out []*restauth.SigningKey
	for rows.Next() {
		k := restauth.SigningKey{Algorithm: "RS256"}
		var created, activates int64
		var expires sql.NullInt64
		if err := rows.Scan(&k.ID, &k.PrivateKey, &created, &activates, &expires); err != nil {
			return nil, storeErr("list id token keys", err)
		}
		k.CreatedAt, k.ActivatesAt, k.ExpiresAt = fromMicros(created), fromMicros(activates), fromNullMicros(expires)
		out = append(out, &k)
	}
	return out, storeErr("list id token keys", rows.Err())
}

// AddIDTokenKey stores an RSA key of ID tokens.
func (db *DB) AddIDTokenKey(ctx context.Context, k *restauth.SigningKey) error {
	_, err := db.write.ExecContext(ctx, `INSERT INTO oauth_id_keys (id, private_key, created_at, activates_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.PrivateKey, micros(k.CreatedAt), micros(k.ActivatesAt), nullMicros(k.ExpiresAt))
	return storeErr("add id token key", err)
}

// AddFirstIDTokenKey stores k when no key is unexpired at now; one
// statement, and SQLite has one writer, so two instances cannot both.
func (db *DB) AddFirstIDTokenKey(ctx context.Context, k *restauth.SigningKey, now time.Time) (bool, error) {
	res, err := db.write.ExecContext(ctx, `INSERT INTO oauth_id_keys (id, private_key, created_at, activates_at, expires_at)
		SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM oauth_id_keys WHERE expires_at IS NULL OR expires_at > ?)`,
		k.ID, k.PrivateKey, micros(k.CreatedAt), micros(k.ActivatesAt), nullMicros(k.ExpiresAt), micros(now))
	if err != nil {
		return false, storeErr("add first id token key", err)
	}
	n, err := res.RowsAffected()
	return n == 1, storeErr("add first id token key", err)
}

// RetireIDTokenKeys sets the expiry of every unretired key but keep.
func (db *DB) RetireIDTokenKeys(ctx context.Context, keep string, expiresAt time.Time) error {
	_, err := db.write.ExecContext(ctx, `UPDATE oauth_id_keys SET expires_at = ? WHERE expires_at IS NULL AND id <> ?`, micros(expiresAt), keep)
	return storeErr("retire id token keys", err)
}
