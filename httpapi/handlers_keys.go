package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/restauth/restauth"
)

// createKeyRequest is the body of POST /api/keys. expires_at is an RFC 3339
// time (empty for a key that does not expire); scopes is a space-separated
// list, as OAuth writes scopes (empty for every scope).
type createKeyRequest struct {
	Name      string `json:"name,required"`
	ExpiresAt string `json:"expires_at"`
	Scopes    string `json:"scopes"`
}

// keyResponse describes a key; Key is set only in the answer that made it.
type keyResponse struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Key        string     `json:"key,omitempty"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func newKeyResponse(k *restauth.APIKey, key string) keyResponse {
	return keyResponse{
		ID: k.ID, Name: k.Name, Key: key, Scopes: k.Scopes, CreatedAt: k.CreatedAt.UTC(),
		LastUsedAt: optionalTime(k.LastUsedAt), ExpiresAt: optionalTime(k.ExpiresAt),
	}
}

// optionalTime renders the zero time as JSON null.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

var errBadExpiry = restauth.Errorf(restauth.EInvalid, "expires_at must be an RFC 3339 time, such as 2030-01-02T15:04:05Z")

// handleCreateKey serves POST /api/keys: the key is in this answer and
// nowhere else, ever.
func handleCreateKey(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[createKeyRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		nk := restauth.NewAPIKeyRequest{Name: req.Name, Scopes: restauth.ParseScopes(req.Scopes)}
		if req.ExpiresAt != "" {
			if nk.ExpiresAt, err = time.Parse(time.RFC3339, req.ExpiresAt); err != nil {
				writeError(w, r, logger, errBadExpiry)
				return
			}
		}
		k, key, err := svc.CreateAPIKey(r.Context(), principalFrom(r.Context()), nk)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		encode(w, http.StatusCreated, newKeyResponse(k, key))
	})
}

// handleListKeys serves GET /api/keys.
func handleListKeys(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys, err := svc.ListAPIKeys(r.Context(), principalFrom(r.Context()))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		out := make([]keyResponse, 0, len(keys))
		for _, k := range keys {
			out = append(out, newKeyResponse(k, ""))
		}
		encode(w, http.StatusOK, map[string]any{"keys": out})
	})
}

// handleRevokeKey serves DELETE /api/keys/{id}.
func handleRevokeKey(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.RevokeAPIKey(r.Context(), principalFrom(r.Context()), r.PathValue("id")); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

var errBadKeysParam = restauth.Errorf(restauth.EInvalid, "keys must be true or false")

// revokeKeysParam reads the keys query parameter of DELETE /api/sessions:
// absent or "false" leaves API keys alone, "true" revokes them too.
func revokeKeysParam(r *http.Request) (bool, error) {
	q := r.URL.Query()
	vals, ok := q["keys"]
	if !ok {
		return false, nil
	}
	if len(vals) != 1 {
		return false, errBadKeysParam
	}
	switch vals[0] {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errBadKeysParam
}
