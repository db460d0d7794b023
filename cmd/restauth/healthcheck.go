package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"
)

// healthcheckTimeout bounds the whole probe, so a hung server fails the
// check instead of hanging the container runtime's probe.
const healthcheckTimeout = 5 * time.Second

// healthcheck asks the local server for GET /healthz. It exists because the
// container image has no shell and no curl: the binary probes itself.
func healthcheck(ctx context.Context, in *invocation) error {
	target, client, err := healthcheckClient(in.cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", target, resp.Status)
	}
	return nil
}

// healthcheckClient returns the /healthz URL for the listen address and a
// client that goes straight to it: no proxy from the environment, no
// redirects. With a TLS certificate, the server must present exactly that
// certificate; its name cannot be checked, since the probe dials loopback.
func healthcheckClient(cfg *config) (string, *http.Client, error) {
	host, port, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return "", nil, usagef("--addr %q: %v", cfg.addr, err)
	}
	// A server bound to every interface is asked on loopback.
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
		if err == nil && a.Is6() {
			host = "::1"
		}
	}
	transport := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	scheme := "http"
	if cfg.tlsCert != "" {
		want, err := firstCertificate(cfg.tlsCert)
		if err != nil {
			return "", nil, err
		}
		scheme = "https"
		transport.TLSClientConfig = &tls.Config{
			// The chain and name are not verified: the server is this
			// host's own, reached on loopback, and VerifyConnection pins
			// the certificate it must serve instead. Nothing secret is sent.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, want) {
					return errors.New("the server's certificate is not the one in --tls-cert")
				}
				return nil
			},
		}
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz", client, nil
}

// firstCertificate returns the DER bytes of the first certificate in a PEM
// file: the leaf, which the server presents first.
func firstCertificate(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, fmt.Errorf("--tls-cert: no certificate in %s", file)
		}
		if block.Type == "CERTIFICATE" {
			return block.Bytes, nil
		}
	}
}
