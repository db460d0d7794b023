package main

import (
	"log/slog"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/passkey"
)

// passkeyCeremonies returns the passkey ceremonies for the public URL: its
// host is the relying party id and its origin the one origin allowed.
// Without a public URL, or with one whose host is an IP address (which
// browsers refuse as a relying party id), it returns nil, which leaves
// passkeys off.
func passkeyCeremonies(cfg *config, logger *slog.Logger) restauth.PasskeyCeremonies {
	if cfg.publicURL == "" {
		return nil
	}
	c, err := passkey.New(cfg.publicURL, cfg.pages.productName)
	if err != nil {
		logger.Warn("passkeys are off", "err", err)
		return nil
	}
	return c
}
