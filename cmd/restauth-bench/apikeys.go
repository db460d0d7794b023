package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// apiKeyScenario serves GET /api/resource with a personal API key per
// connection as the Bearer credential (a script's usual call), compared
// with the bare baseline like the token scenarios. Each key is made once,
// with its user's access token, before the measured window: the window
// measures the key path's common case, a key already verified on this
// instance.
func (h *harness) apiKeyScenario(ctx context.Context, db *database) error {
	const name = "api-key"
	p, toks, err := h.startLoggedIn(ctx, db, name)
	if err != nil {
		return err
	}
	defer p.stop()
	keys := make([]pair, len(toks))
	client := &http.Client{Timeout: h.opts.timeout}
	defer client.CloseIdleConnections()
	for i, t := range toks {
		key, status, err := createKey(ctx, client, p.addr, t.access)
		if err != nil {
			return err
		}
		if status == http.StatusNotFound {
			h.notRun(name, "the server has no POST /api/keys")
			return nil
		}
		if status != http.StatusCreated {
			return fmt.Errorf("%s: POST /api/keys: status %d", name, status)
		}
		keys[i] = pair{access: key}
	}
	jobs := tokenJobs(p.addr, keys, false)
	h.vsBaseline(ctx, p, db, name, jobs)
	h.alternatingRounds(ctx, p, db, name, jobs)
	return nil
}

// createKey makes a personal API key with an access token and returns it
// with the answer's status.
func createKey(ctx context.Context, client *http.Client, addr, access string) (string, int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/keys", bytes.NewReader([]byte(`{"name":"restauth-bench"}`)))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	var body struct {
		Key string `json:"key"`
	}
	if res.StatusCode == http.StatusCreated {
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Key == "" {
			return "", 0, fmt.Errorf("POST /api/keys: unreadable answer (%v)", err)
		}
	}
	return body.Key, res.StatusCode, nil
}
