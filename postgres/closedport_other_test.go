//go:build !unix

package postgres

import (
	"net"
	"testing"
)

// closedPort returns a local address where nothing listens: one a listener
// just gave up. Unlike the Unix version it does not hold the port, so
// another listener may take it before it is dialled.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
