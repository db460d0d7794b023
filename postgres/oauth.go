package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

var _ restauth.OAuthStore = (*DB)(nil)

// joinList and splitList store a list whose items hold no white space.
func joinList(v []string) string  { return strings.Join(v, " ") }
func splitList(s string) []string { return strings.Fields(s) }

const oauthClientCols = `id, name, secret_hash, redirect_uris, logout_uris, grants, scopes, trusted, id_token_alg, created_at`

func scanOAuthClient(row pgx.Row) (*restauth.OAuthClient, error) {
	var c restauth.OAuthClient
	var redirects, logouts, grants, scopes string
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &redirects, &logouts, &grants, &scopes, &c.Trusted, &c.IDTokenAlg, &c.CreatedAt); err != nil {
		return nil, err
	}
	c.RedirectURIs, c.LogoutURIs = splitList(redirects), splitList(logouts)
	c.Grants, c.Scopes, c.CreatedAt = splitList(grants), splitList(scopes), c.CreatedAt.UTC()
	return &c, nil
}

// CreateOAuthClient stores a new client.
func (db *DB) CreateOAuthClient(ctx context.Context, cl *restauth.OAuthClient) error {
	var secret []byte
	if len(cl.SecretHash) > 0 {
		secret = cl.SecretHash
	}
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO oauth_clients (`+oauthClientCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			cl.ID, cl.Name, secret, joinList(cl.RedirectURIs), joinList(cl.LogoutURIs), joinList(cl.Grants), joinList(cl.Scopes),
			cl.Trusted, cl.IDTokenAlg, cl.CreatedAt)
		return err
	})
	if isCode(err, codeUniqueViolation) {
		return restauth.ErrOAuthClientExists
	}
	return storeErr("create oauth client", err)
}

// OAuthClient returns the client with id.
func (db *DB) OAuthClient(ctx context.Context, id string) (*restauth.OAuthClient, error) {
	var cl *restauth.OAuthClient
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		cl, err = scanOAuthClient(c.QueryRow(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE id = $1`, id))
		return err
	})
	return cl, lookupErr("get oauth client", err)
}

// OAuthClients returns every client, oldest first.
func (db *DB) OAuthClients(ctx context.Context) ([]*restauth.OAuthClient, error) {
	var out []*restauth.OAuthClient
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		out = nil
		rows, err := c.Query(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			cl, err := scanOAuthClient(rows)
			if err != nil {
				return err
			}
			out = append(out, cl)
		}
		return rows.Err()
	})
	return out, storeErr("list oauth clients", err)
}

// revokeClientSessions revokes the live sessions issued to a client (to one
// user of it when userID is not zero), returns their ids, and notifies the
// other instances when there were any.
func (db *DB) revokeClientSessions(ctx context.Context, tx pgx.Tx, clientID string, userID int64, now time.Time) ([]string, error) {
	ids, err := queryIDs(ctx, tx, `UPDATE sessions SET revoked_at = $1
		WHERE revoked_at IS NULL AND id IN (SELECT session_id FROM oauth_sessions WHERE client_id = $2 AND ($3::bigint = 0 OR user_id = $3::bigint))
		RETURNING id`, now, clientID, userID)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	return ids, db.notify(ctx, tx, kindRevoked)
}

// SetOAuthClientSecret replaces a confidential client's secret hash and
// revokes the sessions issued to it.
func (db *DB) SetOAuthClientSecret(ctx context.Context, id string, hash []byte, now time.Time) ([]string, error) {
	var ids []string
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE oauth_clients SET secret_hash = $1 WHERE id = $2 AND secret_hash IS NOT NULL`, hash, id)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			ids, err = db.revokeClientSessions(ctx, tx, id, 0, now)
			return err
		})
	})
	return ids, lookupErr("set oauth client secret", err)
}

// DeleteOAuthClient deletes the client with its consents, codes and
// requests, and revokes the sessions issued to it.
func (db *DB) DeleteOAuthClient(ctx context.Context, id string, now time.Time) ([]string, error) {
	var ids []string
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM oauth_clients WHERE id = $1`, id)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			for _, q := range []string{
				`DELETE FROM oauth_consents WHERE client_id = $1`,
				`DELETE FROM oauth_codes WHERE client_id = $1`,
				`DELETE FROM oauth_requests WHERE client_id = $1`,
				`DELETE FROM oauth_device_codes WHERE client_id = $1`,
			} {
				if _, err := tx.Exec(ctx, q, id); err != nil {
					return err
				}
			}
			ids, err = db.revokeClientSessions(ctx, tx, id, 0, now)
			return err
		})
	})
	return ids, lookupErr("delete oauth client", err)
}

const oauthRequestCols = `id, client_id, redirect_uri, scopes, state, nonce, code_challenge, prompt, max_age, created_at, expires_at`

// AddAuthorizationRequest stores r and deletes the expired requests.
func (db *DB) AddAuthorizationRequest(ctx context.Context, r *restauth.AuthorizationRequest, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM oauth_requests WHERE expires_at <= $1`, now); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO oauth_requests (`+oauthRequestCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				r.ID, r.ClientID, r.RedirectURI, joinList(r.Scopes), r.State, r.Nonce, r.CodeChallenge, r.Prompt, r.MaxAge,
				r.CreatedAt, r.ExpiresAt)
			return err
		})
	})
	return storeErr("add authorization request", err)
}

// AuthorizationRequest returns an unexpired request.
func (db *DB) AuthorizationRequest(ctx context.Context, id string, now time.Time) (*restauth.AuthorizationRequest, error) {
	var r restauth.AuthorizationRequest
	var scopes string
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT `+oauthRequestCols+` FROM oauth_requests WHERE id = $1 AND expires_at > $2`, id, now).
			Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.CodeChallenge, &r.Prompt, &r.MaxAge, &r.CreatedAt, &r.ExpiresAt)
	})
	if err != nil {
		return nil, lookupErr("get authorization request", err)
	}
	r.Scopes, r.CreatedAt, r.ExpiresAt = splitList(scopes), r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return &r, nil
}

// DeleteAuthorizationRequest deletes the request.
func (db *DB) DeleteAuthorizationRequest(ctx context.Context, id string) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM oauth_requests WHERE id = $1`, id)
		if err != nil {
			return err
		}
		return rowsAffected(tag)
	})
	return lookupErr("delete authorization request", err)
}

// AddOAuthCode stores c and deletes codes expired for longer than
// restauth.OAuthCodeKeep.
func (db *DB) AddOAuthCode(ctx context.Context, oc *restauth.OAuthCode, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM oauth_codes WHERE expires_at <= $1`, now.Add(-restauth.OAuthCodeKeep)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO oauth_codes
				(hash, client_id, redirect_uri, code_challenge, scopes, nonce, user_id, auth_time, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				oc.Hash, oc.ClientID, oc.RedirectURI, oc.CodeChallenge, joinList(oc.Scopes), oc.Nonce, oc.UserID,
				oc.AuthTime, oc.CreatedAt, oc.ExpiresAt)
			return err
		})
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("add oauth code", err)
}

const oauthCodeCols = `hash, client_id, redirect_uri, code_challenge, scopes, nonce, user_id, auth_time, created_at, expires_at, session_id, used_at`

func scanOAuthCode(row pgx.Row) (*restauth.OAuthCode, error) {
	var c restauth.OAuthCode
	var scopes string
	var sid *string
	var used *time.Time
	if err := row.Scan(&c.Hash, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &scopes, &c.Nonce, &c.UserID,
		&c.AuthTime, &c.CreatedAt, &c.ExpiresAt, &sid, &used); err != nil {
		return nil, err
	}
	c.Scopes, c.AuthTime, c.CreatedAt, c.ExpiresAt = splitList(scopes), c.AuthTime.UTC(), c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	if sid != nil {
		c.SessionID = *sid
	}
	c.UsedAt = fromNull(used)
	return &c, nil
}

// RedeemOAuthCode marks the code used with one conditional UPDATE.
func (db *DB) RedeemOAuthCode(ctx context.Context, r restauth.CodeRedemption) (*restauth.OAuthCode, error) {
	var oc *restauth.OAuthCode
	replay := false
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var err error
		replay = false
		oc, err = scanOAuthCode(c.QueryRow(ctx, `UPDATE oauth_codes SET used_at = $1, session_id = $2
			WHERE hash = $3 AND client_id = $4 AND redirect_uri = $5 AND code_challenge = $6 AND used_at IS NULL AND expires_at > $1
			RETURNING `+oauthCodeCols,
			r.Now, r.SessionID, r.Hash, r.ClientID, r.RedirectURI, r.CodeChallenge))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		replay = true
		oc, err = scanOAuthCode(c.QueryRow(ctx, `UPDATE oauth_codes SET replayed_at = $1
			WHERE hash = $2 AND used_at IS NOT NULL RETURNING `+oauthCodeCols, r.Now, r.Hash))
		return err
	})
	if err != nil {
		return nil, lookupErr("redeem oauth code", err)
	}
	if replay {
		return oc, restauth.ErrOAuthCodeUsed
	}
	return oc, nil
}

// CreateOAuthSession stores the session, its refresh token and its grant,
// unless the code was replayed meanwhile: the code's row is locked, so a
// replay marked after this check waits for the session and revokes it.
func (db *DB) CreateOAuthSession(ctx context.Context, codeHash []byte, s *restauth.Session, refresh *restauth.RefreshRecord, g *restauth.OAuthGrant) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if codeHash != nil {
				var replayed *time.Time
				if err := tx.QueryRow(ctx, `SELECT replayed_at FROM oauth_codes WHERE hash = $1 FOR UPDATE`, codeHash).Scan(&replayed); err != nil {
					return err
				}
				if replayed != nil {
					return restauth.ErrOAuthCodeUsed
				}
			}
			if s.UserID == 0 {
				// A client's session for itself has no user.
				if _, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, NULL, $2, $3, $4, $5, $6, NULL, false)`,
					s.ID, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.ClientIP, s.UserAgent); err != nil {
					return err
				}
			} else if err := insertSession(ctx, tx, s); err != nil {
				return err
			}
			if refresh != nil {
				if _, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
					refresh.Hash, s.ID, refresh.CreatedAt); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO oauth_sessions (session_id, client_id, user_id, scopes, auth_time) VALUES ($1, $2, $3, $4, $5)`,
				g.SessionID, g.ClientID, g.UserID, joinList(g.Scopes), g.AuthTime)
			return err
		})
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("create oauth session", err)
}

func scanGrant(row pgx.Row) (*restauth.OAuthGrant, error) {
	var g restauth.OAuthGrant
	var scopes string
	if err := row.Scan(&g.SessionID, &g.ClientID, &g.UserID, &scopes, &g.AuthTime); err != nil {
		return nil, err
	}
	g.Scopes, g.AuthTime = splitList(scopes), g.AuthTime.UTC()
	return &g, nil
}

// OAuthGrant returns the grant of a session.
func (db *DB) OAuthGrant(ctx context.Context, sessionID string) (*restauth.OAuthGrant, error) {
	var g *restauth.OAuthGrant
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		g, err = scanGrant(c.QueryRow(ctx,
			`SELECT session_id, client_id, user_id, scopes, auth_time FROM oauth_sessions WHERE session_id = $1`, sessionID))
		return err
	})
	return g, lookupErr("get oauth grant", err)
}

// OAuthGrantByRefresh returns the grant of the refresh token's session.
func (db *DB) OAuthGrantByRefresh(ctx context.Context, hash []byte) (*restauth.OAuthGrant, error) {
	var g restauth.OAuthGrant
	var scopes string
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT g.session_id, g.client_id, g.user_id, g.scopes, g.auth_time, r.used_at IS NOT NULL
			FROM refresh_tokens r JOIN oauth_sessions g ON g.session_id = r.session_id WHERE r.hash = $1`, hash).
			Scan(&g.SessionID, &g.ClientID, &g.UserID, &scopes, &g.AuthTime, &g.RefreshUsed)
	})
	if err != nil {
		return nil, lookupErr("get oauth grant", err)
	}
	g.Scopes, g.AuthTime = splitList(scopes), g.AuthTime.UTC()
	return &g, nil
}

// OAuthConsent returns the user's consent for the client.
func (db *DB) OAuthConsent(ctx context.Context, userID int64, clientID string) (*restauth.OAuthConsent, error) {
	var oc restauth.OAuthConsent
	var scopes string
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT user_id, client_id, scopes, created_at FROM oauth_consents WHERE user_id = $1 AND client_id = $2`,
			userID, clientID).Scan(&oc.UserID, &oc.ClientID, &scopes, &oc.CreatedAt)
	})
	if err != nil {
		return nil, lookupErr("get oauth consent", err)
	}
	oc.Scopes, oc.CreatedAt = splitList(scopes), oc.CreatedAt.UTC()
	return &oc, nil
}

// SaveOAuthConsent stores oc, replacing the user's earlier consent for the
// client.
func (db *DB) SaveOAuthConsent(ctx context.Context, oc *restauth.OAuthConsent) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, created_at = excluded.created_at`,
			oc.UserID, oc.ClientID, joinList(oc.Scopes), oc.CreatedAt)
		return err
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("save oauth consent", err)
}

// OAuthConsents returns the user's consents, oldest first.
func (db *DB) OAuthConsents(ctx context.Context, userID int64) ([]*restauth.OAuthConsent, error) {
	var out []*restauth.OAuthConsent
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		out = nil
		rows, err := c.Query(ctx,
			`SELECT user_id, client_id, scopes, created_at FROM oauth_consents WHERE user_id = $1 ORDER BY created_at, client_id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var oc restauth.OAuthConsent
			var scopes string
			if err := rows.Scan(&oc.UserID, &oc.ClientID, &scopes, &oc.CreatedAt); err != nil {
				return err
			}
			oc.Scopes, oc.CreatedAt = splitList(scopes), oc.CreatedAt.UTC()
			out = append(out, &oc)
		}
		return rows.Err()
	})
	return out, storeErr("list oauth consents", err)
}

// DeleteOAuthConsent deletes the consent and revokes the user's sessions
// issued to the client.
func (db *DB) DeleteOAuthConsent(ctx context.Context, userID int64, clientID string, now time.Time) ([]string, error) {
	var ids []string
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
			if err != nil {
				return err
			}
			if ids, err = db.revokeClientSessions(ctx, tx, clientID, userID, now); err != nil {
				return err
			}
			if tag.RowsAffected() == 0 && len(ids) == 0 {
				return restauth.ErrNotFound
			}
			return nil
		})
	})
	return ids, lookupErr("delete oauth consent", err)
}

// ClientSession returns the newest live session a client opened for
// itself.
func (db *DB) ClientSession(ctx context.Context, clientID string, now time.Time) (*restauth.Session, error) {
	var sess *restauth.Session
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		sess, err = scanSession(c.QueryRow(ctx, `SELECT `+prefixed("s.", sessionCols)+`
			FROM sessions s JOIN oauth_sessions g ON g.session_id = s.id
			WHERE g.client_id = $1 AND g.user_id = 0 AND s.revoked_at IS NULL AND s.expires_at > $2
			ORDER BY s.created_at DESC LIMIT 1`, clientID, now))
		return err
	})
	return sess, lookupErr("get client session", err)
}

// RevokeClientSession revokes a session a client opened for itself and
// notifies the other instances.
func (db *DB) RevokeClientSession(ctx context.Context, clientID, sessionID string, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1
				WHERE id = $2 AND revoked_at IS NULL AND user_id IS NULL
				AND id IN (SELECT session_id FROM oauth_sessions WHERE client_id = $3 AND user_id = 0)`,
				now, sessionID, clientID)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	return lookupErr("revoke client session", err)
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

func scanDevice(row pgx.Row) (*restauth.DeviceCode, error) {
	var d restauth.DeviceCode
	var scopes string
	var interval int64
	var polled, auth *time.Time
	var uid *int64
	var sid *string
	if err := row.Scan(&d.Hash, &d.UserCode, &d.ClientID, &scopes, &d.CreatedAt, &d.ExpiresAt, &interval, &polled, &d.Status, &uid, &auth, &sid); err != nil {
		return nil, err
	}
	d.Scopes, d.CreatedAt, d.ExpiresAt = splitList(scopes), d.CreatedAt.UTC(), d.ExpiresAt.UTC()
	d.Interval, d.LastPolledAt, d.AuthTime = time.Duration(interval)*time.Microsecond, fromNull(polled), fromNull(auth)
	if uid != nil {
		d.UserID = *uid
	}
	if sid != nil {
		d.SessionID = *sid
	}
	return &d, nil
}

// AddDeviceCode stores d and deletes the device codes expired for longer
// than restauth.DeviceCodeKeep.
func (db *DB) AddDeviceCode(ctx context.Context, d *restauth.DeviceCode, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM oauth_device_codes WHERE expires_at <= $1`, now.Add(-restauth.DeviceCodeKeep)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO oauth_device_codes (hash, user_code, client_id, scopes, created_at, expires_at, interval_us, status)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.Hash, d.UserCode, d.ClientID, joinList(d.Scopes), d.CreatedAt, d.ExpiresAt,
				d.Interval.Microseconds(), d.Status)
			return err
		})
	})
	if isCode(err, codeUniqueViolation) {
		return restauth.ErrDeviceCodeExists
	}
	return storeErr("add device code", err)
}

// DeviceCodeByUserCode returns the pending, unexpired device code.
func (db *DB) DeviceCodeByUserCode(ctx context.Context, userCode string, now time.Time) (*restauth.DeviceCode, error) {
	var d *restauth.DeviceCode
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		d, err = scanDevice(c.QueryRow(ctx, `SELECT `+deviceCols+` FROM oauth_device_codes
			WHERE user_code = $1 AND status = 'pending' AND expires_at > $2`, userCode, now))
		return err
	})
	return d, lookupErr("get device code", err)
}

// DecideDeviceCode approves or denies a pending, unexpired device code.
func (db *DB) DecideDeviceCode(ctx context.Context, userCode string, userID int64, authTime time.Time, approve bool, now time.Time) error {
	status := restauth.DeviceDenied
	if approve {
		status = restauth.DeviceApproved
	}
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE oauth_device_codes SET status = $1, user_id = $2, auth_time = $3
			WHERE user_code = $4 AND status = 'pending' AND expires_at > $5`, status, userID, authTime, userCode, now)
		if err != nil {
			return err
		}
		return rowsAffected(tag)
	})
	return lookupErr("decide device code", err)
}

// PollDeviceCode returns the device code as it was and records the poll;
// the row is locked so that concurrent polls are judged one after the
// other.
func (db *DB) PollDeviceCode(ctx context.Context, hash []byte, clientID string, now time.Time) (*restauth.DeviceCode, error) {
	var d *restauth.DeviceCode
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var err error
			if d, err = scanDevice(tx.QueryRow(ctx, `SELECT `+deviceCols+` FROM oauth_device_codes WHERE hash = $1 AND client_id = $2 FOR UPDATE`, hash, clientID)); err != nil {
				return err
			}
			interval := d.Interval
			if !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < d.Interval {
				interval += restauth.DeviceSlowDown
			}
			_, err = tx.Exec(ctx, `UPDATE oauth_device_codes SET last_polled_at = $1, interval_us = $2 WHERE hash = $3`,
				now, interval.Microseconds(), hash)
			return err
		})
	})
	return d, lookupErr("poll device code", err)
}

// RedeemDeviceCode marks an approved, unexpired device code used.
func (db *DB) RedeemDeviceCode(ctx context.Context, hash []byte, clientID, sessionID string, now time.Time) (*restauth.DeviceCode, error) {
	var d *restauth.DeviceCode
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		d, err = scanDevice(c.QueryRow(ctx, `UPDATE oauth_device_codes SET status = 'used', session_id = $1
			WHERE hash = $2 AND client_id = $3 AND status = 'approved' AND expires_at > $4 RETURNING `+deviceCols,
			sessionID, hash, clientID, now))
		return err
	})
	return d, lookupErr("redeem device code", err)
}

// IDTokenKeys returns the unexpired RSA keys of ID tokens, oldest first.
func (db *DB) IDTokenKeys(ctx context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	var keys []*restauth.SigningKey
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT id, private_key, created_at, activates_at, expires_at FROM oauth_id_keys
			WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at, id`, now)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*restauth.SigningKey, error) {
			k := restauth.SigningKey{Algorithm: "RS256"}
			var expires *time.Time
			if err := row.Scan(&k.ID, &k.PrivateKey, &k.CreatedAt, &k.ActivatesAt, &expires); err != nil {
				return nil, err
			}
			k.CreatedAt, k.ActivatesAt, k.ExpiresAt = k.CreatedAt.UTC(), k.ActivatesAt.UTC(), fromNull(expires)
			return &k, nil
		})
		return err
	})
	return keys, storeErr("list id token keys", err)
}

// idKeyLockKey is the transaction-level advisory lock key that serialises
// AddFirstIDTokenKey across instances.
const idKeyLockKey = 0x72617574_68696b31 // "rauthik1"

// AddFirstIDTokenKey stores k when no key is unexpired at now. Under READ
// COMMITTED two transactions could both see none and both insert, so they
// take an advisory lock first: the second waits, then sees the first's key.
func (db *DB) AddFirstIDTokenKey(ctx context.Context, k *restauth.SigningKey, now time.Time) (bool, error) {
	var added bool
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(idKeyLockKey)); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO oauth_id_keys (id, private_key, created_at, activates_at, expires_at)
				SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM oauth_id_keys WHERE expires_at IS NULL OR expires_at > $6)`,
				k.ID, k.PrivateKey, k.CreatedAt, k.ActivatesAt, nullTime(k.ExpiresAt), now)
			if err != nil {
				return err
			}
			if added = tag.RowsAffected() == 1; !added {
				return nil
			}
			return db.notify(ctx, tx, kindKeys)
		})
	})
	return added, storeErr("add first id token key", err)
}

// AddIDTokenKey stores an RSA key of ID tokens and tells the other
// instances, which reload their keys.
func (db *DB) AddIDTokenKey(ctx context.Context, k *restauth.SigningKey) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO oauth_id_keys (id, private_key, created_at, activates_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
				k.ID, k.PrivateKey, k.CreatedAt, k.ActivatesAt, nullTime(k.ExpiresAt)); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindKeys)
		})
	})
	return storeErr("add id token key", err)
}

// RetireIDTokenKeys sets the expiry of every unretired key but keep.
func (db *DB) RetireIDTokenKeys(ctx context.Context, keep string, expiresAt time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE oauth_id_keys SET expires_at = $1 WHERE expires_at IS NULL AND id <> $2`, expiresAt, keep)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			return db.notify(ctx, tx, kindKeys)
		})
	})
	return storeErr("retire id token keys", err)
}
