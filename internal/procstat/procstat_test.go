package procstat

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// TestParse parses stat lines whose command names hold spaces and
// parentheses.
func TestParse(t *testing.T) {
	tail := " S 4242 4300 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 7 9 0 987654 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	want := func(pid int) Stat {
		return Stat{PID: pid, PPID: 4242, State: "S", Ticks: 168, Start: 987654, Nice: 7}
	}
	tests := []struct {
		name string
		line string
		want Stat
		ok   bool
	}{
		{"plain", "4301 (restauth)" + tail, want(4301), true},
		{"spaces and parentheses", "4302 (hash worker) (2) )" + tail, want(4302), true},
		{"a name that looks like fields", "4303 (x) S 1 2 3)" + tail, want(4303), true},
		{"truncated", "4304 (restauth) S 4242 4300", Stat{}, false},
		{"no name", "4305 restauth" + tail, Stat{}, false},
		{"bad ppid", "4306 (restauth) S x" + tail[len(" S 4242"):], Stat{}, false},
		{"bad nice", "4307 (restauth)" + tail[:len(" S 4242 4300 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 ")] + "x" + tail[len(" S 4242 4300 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 7"):], Stat{}, false},
	}
	for _, tc := range tests {
		got, ok := Parse(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Parse(%q) = %+v, %v; want %+v, %v", tc.name, tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// TestSelf reads this process's own stat and threads.
func TestSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	st, ok := Process(os.Getpid())
	if !ok || st.PID != os.Getpid() || st.PPID != os.Getppid() {
		t.Fatalf("Process(self) = %+v, %v; want pid %d, ppid %d", st, ok, os.Getpid(), os.Getppid())
	}
	nices, err := ThreadNices(os.Getpid())
	if err != nil || len(nices) == 0 {
		t.Fatalf("ThreadNices(self) = %v, %v; want at least one thread", nices, err)
	}
}

// TestEnviron starts a child with a known environment, empty values and
// an "=" inside a value included, and reads it back.
func TestEnviron(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, want := range [][]string{{"A=1", "EMPTY=", "EQ=x=y"}, {}} {
		cmd := exec.Command("sleep", "10")
		cmd.Env = want
		if err := cmd.Start(); err != nil {
			t.Skipf("cannot start sleep: %v", err)
		}
		got, err := Environ(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Environ(child started with %q) = %q, %v; want %q", want, got, err, want)
		}
	}
	if _, err := Environ(-1); err == nil {
		t.Error("Environ(-1) = nil error, want one")
	}
}

// FuzzParse checks that Parse never panics on any line, and that a line
// it accepts has a state.
func FuzzParse(f *testing.F) {
	f.Add("4301 (restauth) S 4242 4300 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 7 9 0 987654 1000000")
	f.Add("1 ()))) S")
	f.Fuzz(func(t *testing.T, s string) {
		if st, ok := Parse(s); ok && st.State == "" {
			t.Fatalf("Parse(%q) = %+v: accepted without a state", s, st)
		}
	})
}
