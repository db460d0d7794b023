//go:build unix

package postgres

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
)

// closedPort returns a local address where nothing listens, held for the
// rest of the test by a socket bound to it that never listens: a dial gets
// "connection refused". A port merely closed again could be taken by the
// next listener, this test's own silent one among them, before it is
// dialled, and the dial would then wait for an answer instead.
func closedPort(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// TestClosedPortHeld checks the helper itself: a dial to the address is
// refused at once, and no listener can take the port while the test runs.
func TestClosedPortHeld(t *testing.T) {
	addr := closedPort(t)
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded; want connection refused", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s = %v; want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Errorf("listen on %s succeeded; want the port held", addr)
	}
}
