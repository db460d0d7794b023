package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// maxBody bounds a response body the load generator will read; restauth's
// answers are a few hundred bytes.
const maxBody = 1 << 20

// response is one parsed HTTP/1.1 response. body is reused between
// requests on a connection.
type response struct {
	status int
	body   []byte
	close  bool // The server asked to close the connection.
}

// readResponse parses one HTTP/1.1 response from br: the status line,
// headers, and a body framed by Content-Length or chunked encoding. It
// allocates nothing in the common case, so that the load generator takes as
// little of the shared CPU as it can.
func readResponse(br *bufio.Reader, res *response) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return fmt.Errorf("malformed status line %q", trim(line))
	}
	status, ok := atoi(line[9:12])
	if !ok || status < 100 {
		return fmt.Errorf("malformed status line %q", trim(line))
	}
	res.status = status
	res.close = line[7] == '0' // HTTP/1.0 closes unless told otherwise.
	length, chunked := -1, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return noEOF(err)
		}
		line = trim(line)
		if len(line) == 0 {
			break
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found {
			return fmt.Errorf("malformed header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := atoi(value)
			if !ok || n > maxBody {
				return fmt.Errorf("bad Content-Length %q", value)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			res.close = bytes.EqualFold(value, []byte("close"))
		}
	}
	res.body = res.body[:0]
	switch {
	case status == 204 || status == 304 || status < 200:
		return nil
	case chunked:
		return readChunked(br, res)
	case length >= 0:
		res.body = grow(res.body, length)
		_, err := io.ReadFull(br, res.body)
		return noEOF(err)
	default:
		// No framing: the body runs to the end of the connection.
		res.close = true
		b, err := io.ReadAll(io.LimitReader(br, maxBody))
		res.body = append(res.body, b...)
		return err
	}
}

func readChunked(br *bufio.Reader, res *response) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return noEOF(err)
		}
		size, _, _ := bytes.Cut(trim(line), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 32)
		if err != nil || len(res.body)+int(n) > maxBody {
			return fmt.Errorf("bad chunk size %q", size)
		}
		if n == 0 {
			// Trailers, then the final empty line.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return noEOF(err)
				}
				if len(trim(line)) == 0 {
					return nil
				}
			}
		}
		start := len(res.body)
		res.body = grow(res.body, start+int(n))
		if _, err := io.ReadFull(br, res.body[start:]); err != nil {
			return noEOF(err)
		}
		crlf, err := br.ReadSlice('\n')
		if err != nil {
			return noEOF(err)
		}
		if len(trim(crlf)) != 0 {
			return errors.New("chunk not followed by CRLF")
		}
	}
}

// grow returns b resized to n, reusing its array when it is big enough.
func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return append(b[:cap(b)], make([]byte, n-cap(b))...)
}

func trim(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

// atoi parses a non-negative decimal without allocating.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// conn is one keep-alive connection of the load generator.
type conn struct {
	addr    string
	timeout time.Duration
	nc      net.Conn
	br      *bufio.Reader
	res     response
}

// roundTrip sends req (a whole HTTP/1.1 request) and reads the response
// into c.res, dialing first when needed. A failed or closed connection is
// dropped, to be redialled by the next call.
func (c *conn) roundTrip(req []byte) error {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return err
		}
		c.nc = nc
		if c.br == nil {
			c.br = bufio.NewReaderSize(nc, 8<<10)
		} else {
			c.br.Reset(nc)
		}
	}
	c.nc.SetDeadline(time.Now().Add(c.timeout))
	_, err := c.nc.Write(req)
	if err == nil {
		err = readResponse(c.br, &c.res)
	}
	if err != nil || c.res.close {
		c.close()
	}
	return err
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
}

// outcome is how a job judges a response.
type outcome int

const (
	okOutcome   outcome = iota // The expected answer.
	shedOutcome                // 503 with Retry-After: admission control at work.
	badOutcome                 // Anything else: an error.
)

// job makes one connection's requests and judges the answers. A job is
// used by one goroutine at a time.
type job interface {
	request() []byte
	judge(res *response) outcome
}

// workerStats are one connection's counts; merged into a group's at the
// end, so that workers share nothing while they run.
type workerStats struct {
	hist     *histogram
	ok, shed uint64
	errs     uint64 // Whole run, warm-up included.
	statuses map[int]uint64
	firstErr string
}

func (s *workerStats) fail(msg string) {
	s.errs++
	if s.firstErr == "" {
		s.firstErr = msg
	}
}

// group is a set of connections driving one kind of request at one server.
type group struct {
	name    string
	addr    string
	jobs    []job // One per connection.
	timeout time.Duration

	// Results, for the measured window.
	hist     *histogram
	ok, shed uint64
	errs     uint64
	statuses map[int]uint64 // Unexpected statuses.
	firstErr string
	window   time.Duration
}

// rps is the rate of expected answers in the measured window.
func (g *group) rps() float64 {
	if g.window <= 0 {
		return 0
	}
	return float64(g.ok) / g.window.Seconds()
}

// drive runs every group's connections at once, closed-loop: each
// connection sends its next request as soon as the previous answer is in.
// Answers that arrive during warm-up or after the measured window are not
// measured, whenever their request was sent, so that slow requests (a
// login queued behind hashing) count when they complete; errors are counted
// throughout. No request is sent after the window; drive returns when every
// connection has its last answer (or has timed out).
func drive(ctx context.Context, warmup, duration time.Duration, groups ...*group) {
	start := time.Now()
	winStart, end := start.Add(warmup), start.Add(warmup+duration)
	var wg sync.WaitGroup
	stats := make([][]*workerStats, len(groups))
	for gi, g := range groups {
		stats[gi] = make([]*workerStats, len(g.jobs))
		for wi, j := range g.jobs {
			st := &workerStats{hist: newHistogram(), statuses: map[int]uint64{}}
			stats[gi][wi] = st
			wg.Go(func() {
				c := &conn{addr: g.addr, timeout: g.timeout}
				defer c.close()
				for ctx.Err() == nil {
					t0 := time.Now()
					if !t0.Before(end) {
						return
					}
					err := c.roundTrip(j.request())
					t1 := time.Now()
					measured := !t1.Before(winStart) && !t1.After(end)
					if err != nil {
						st.fail(err.Error())
						// Do not spin on a refused connection.
						time.Sleep(10 * time.Millisecond)
						continue
					}
					switch j.judge(&c.res) {
					case okOutcome:
						if measured {
							st.ok++
							st.hist.record(t1.Sub(t0))
						}
					case shedOutcome:
						if measured {
							st.shed++
						}
					default:
						st.statuses[c.res.status]++
						st.fail(fmt.Sprintf("unexpected status %d: %.200s", c.res.status, bytes.TrimSpace(c.res.body)))
					}
				}
			})
		}
	}
	wg.Wait()
	window := min(time.Since(winStart), duration)
	for gi, g := range groups {
		g.hist, g.statuses, g.window = newHistogram(), map[int]uint64{}, window
		for _, st := range stats[gi] {
			g.hist.merge(st.hist)
			g.ok += st.ok
			g.shed += st.shed
			g.errs += st.errs
			for k, v := range st.statuses {
				g.statuses[k] += v
			}
			if g.firstErr == "" {
				g.firstErr = st.firstErr
			}
		}
	}
}

// statusJob sends a fixed request and expects one status; 503 counts as
// shed load when allowShed is set.
type statusJob struct {
	req       []byte
	want      int
	allowShed bool
}

func (j *statusJob) request() []byte { return j.req }

func (j *statusJob) judge(res *response) outcome {
	switch {
	case res.status == j.want:
		return okOutcome
	case j.allowShed && isShed(res):
		return shedOutcome
	}
	return badOutcome
}

// refreshJob chains one session's refresh tokens: each answer carries the
// token for the next request. A failed request is retried with the same
// token, which the server's grace window answers with the same child.
type refreshJob struct {
	host  string
	token string
	buf   []byte
}

func (j *refreshJob) request() []byte {
	body := `{"refresh_token":"` + j.token + `"}`
	j.buf = fmt.Appendf(j.buf[:0], "POST /api/tokens/refresh HTTP/1.1\r\nHost: %s\r\nUser-Agent: restauth-bench\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", j.host, len(body), body)
	return j.buf
}

func (j *refreshJob) judge(res *response) outcome {
	if res.status != 200 {
		return badOutcome
	}
	tok, ok := jsonString(res.body, "refresh_token")
	if !ok {
		return badOutcome
	}
	j.token = tok
	return okOutcome
}

// jsonString finds "key":"value" in a flat JSON object without decoding
// it. Token values never contain escapes.
func jsonString(body []byte, key string) (string, bool) {
	needle := `"` + key + `":"`
	i := bytes.Index(body, []byte(needle))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(needle):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return "", false
	}
	return string(rest[:end]), true
}

// registerJob registers a new, unique user with every request.
type registerJob struct {
	host, prefix, password string
	seq                    int
	buf                    []byte
}

func (j *registerJob) request() []byte {
	j.seq++
	body := fmt.Sprintf(`{"username":"%s%d","password":"%s"}`, j.prefix, j.seq, j.password)
	j.buf = fmt.Appendf(j.buf[:0], "POST /api/users HTTP/1.1\r\nHost: %s\r\nUser-Agent: restauth-bench\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", j.host, len(body), body)
	return j.buf
}

func (j *registerJob) judge(res *response) outcome {
	switch {
	case res.status == 201:
		return okOutcome
	case isShed(res):
		return shedOutcome
	}
	return badOutcome
}

// isShed reports whether res is the hashing gate refusing work: 503 with
// the "overloaded" code.
func isShed(res *response) bool {
	return res.status == 503 && bytes.Contains(res.body, []byte(`"overloaded"`))
}

// getRequest builds a GET with an Authorization header.
func getRequest(host, path, auth string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: restauth-bench\r\nAuthorization: %s\r\n\r\n", path, host, auth)
}

// loginRequest builds a POST /api/tokens with Basic credentials.
func loginRequest(host, auth string) []byte {
	return fmt.Appendf(nil, "POST /api/tokens HTTP/1.1\r\nHost: %s\r\nUser-Agent: restauth-bench\r\nAuthorization: %s\r\nContent-Length: 0\r\n\r\n", host, auth)
}
