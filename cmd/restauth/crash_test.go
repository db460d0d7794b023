package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// process is a restauth binary running in a child process.
type process struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan struct{} // Closed once the process has exited and err is set.
	err  error         // What Wait returned.
}

// startBinary runs bin serve on db and waits until /readyz answers. The
// process is killed when the test ends if it is still running.
func startBinary(t *testing.T, bin, db string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", db,
		"--register-ip-limit", "0", "--login-ip-limit", "0")
	cmd.Env = []string{} // No RESTAUTH_* setting from the test's environment.
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, base: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	go func() {
		// Copy the log until the process exits, then reap it.
		_, _ = io.Copy(p.logs, bufio.NewReader(stderr))
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // An error means it has already exited.
		<-p.done
	})
	waitReady(t, p.base, p.done, p.logs)
	return p
}

// checkDatabase opens the SQLite file read-only and checks its integrity
// and that no account lacks a password hash.
func checkDatabase(t *testing.T, db string) (users int) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		problems = append(problems, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(problems) != 1 || problems[0] != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, want [ok]", problems)
	}
	var empty int
	if err := conn.QueryRow("SELECT count(*) FROM users WHERE password_hash IS NULL OR password_hash = ''").Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if empty != 0 {
		t.Errorf("%d users have an empty password hash, want 0", empty)
	}
	if err := conn.QueryRow("SELECT count(*) FROM users").Scan(&users); err != nil {
		t.Fatal(err)
	}
	return users
}

// TestCrashSafety kills the real binary with SIGKILL in the middle of
// concurrent registrations and logins, restarts it on the same database,
// and checks that every acknowledged registration survived intact. It uses
// the production hash parameters, so the load is what a real server sees.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it under load")
	}
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "restauth")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "crash.db")
	srv := startBinary(t, bin, db)

	type account struct{ name, password string }
	var (
		mu        sync.Mutex
		created   []account // Every registration answered 201.
		stop      atomic.Bool
		wg        sync.WaitGroup
		loginsOK  atomic.Int64
		failures  atomic.Int64
		badStatus = make(chan string, 100)
	)
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []account
			for i := 0; !stop.Load(); i++ {
				a := account{fmt.Sprintf("w%d-u%d", w, i), fmt.Sprintf("crash test passphrase %d-%d", w, i)}
				status, err := statusOf(send("POST", srv.base+"/api/users", `{"username":"`+a.name+`","password":"`+a.password+`"}`, ""))
				switch {
				case err != nil:
					failures.Add(1)
					continue // Killed mid-request: the outcome is unknown.
				case status == 201:
					mu.Lock()
					created = append(created, a)
					mu.Unlock()
					mine = append(mine, a)
				default:
					badStatus <- fmt.Sprintf("register %s: %d", a.name, status)
					return
				}
				// Log in as an account registered earlier.
				b := mine[i%len(mine)]
				status, err = statusOf(send("POST", srv.base+"/api/tokens", "", basicAuth(b.name, b.password)))
				switch {
				case err != nil:
					failures.Add(1)
				case status == 200:
					loginsOK.Add(1)
				default:
					badStatus <- fmt.Sprintf("login %s: %d", b.name, status)
					return
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	// Requests in flight now are cut off; the workers start no more.
	stop.Store(true)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	wg.Wait()
	close(badStatus)
	for s := range badStatus {
		t.Errorf("before the kill: %s", s)
	}
	t.Logf("before SIGKILL: %d registrations acknowledged, %d logins, %d requests cut off by the kill",
		len(created), loginsOK.Load(), failures.Load())
	if len(created) == 0 {
		t.Fatal("no registration succeeded before the kill")
	}

	// The file as the crash left it, with its write-ahead log.
	if n := checkDatabase(t, db); n < len(created) {
		t.Errorf("after SIGKILL: %d users stored, want at least the %d acknowledged", n, len(created))
	}

	srv = startBinary(t, bin, db)
	for _, a := range created {
		status, err := statusOf(send("POST", srv.base+"/api/tokens", "", basicAuth(a.name, a.password)))
		if err != nil || status != 200 {
			t.Errorf("after restart, login %s: %d %v, want 200", a.name, status, err)
		}
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	if srv.err != nil {
		t.Errorf("restauth after SIGTERM: %v\n%s", srv.err, srv.logs.String())
	}
	checkDatabase(t, db)
}

// statusOf keeps only the status of send's answer.
func statusOf(c call, err error) (int, error) { return c.status, err }
