package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// TestParseStat parses /proc/PID/stat lines whose command names hold
// spaces and parentheses.
func TestParseStat(t *testing.T) {
	tail := " S 4242 4300 4242 0 -1 4194560 1000 0 0 0 123 45 0 0 20 0 9 0 987654 1000000 2000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	tests := []struct {
		name string
		line string
		want procStat
		ok   bool
	}{
		{"plain", "4301 (restauth)" + tail, procStat{pid: 4301, ppid: 4242, ticks: 168, start: 987654}, true},
		{"spaces and parentheses", "4302 (hash worker) (2) )" + tail, procStat{pid: 4302, ppid: 4242, ticks: 168, start: 987654}, true},
		{"a name that looks like fields", "4303 (x) S 1 2 3)" + tail, procStat{pid: 4303, ppid: 4242, ticks: 168, start: 987654}, true},
		{"truncated", "4304 (restauth) S 4242 4300", procStat{}, false},
		{"no name", "4305 restauth" + tail, procStat{}, false},
		{"bad ppid", "4306 (restauth) S x" + tail[len(" S 4242"):], procStat{}, false},
	}
	for _, tc := range tests {
		got, ok := parseStat(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: parseStat(%q) = %+v, %v; want %+v, %v", tc.name, tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// TestChildren starts a sleep as a child of the test process and checks
// that the /proc scan finds it, that its memory and CPU time count in the
// tree's readings, and that it is gone from the scan once it has exited.
func TestChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep: %v", err)
	}
	// Long enough never to end by itself before the test kills it: an
	// exited, unreaped child has no memory to read.
	cmd := exec.Command(sleep, "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	self, child := os.Getpid(), cmd.Process.Pid

	pids := func() []int {
		var out []int
		for _, c := range children(self) {
			if c.ppid != self {
				t.Errorf("children(%d) holds %+v, whose ppid is not %d", self, c, self)
			}
			out = append(out, c.pid)
		}
		return out
	}
	if got := pids(); !slices.Contains(got, child) {
		t.Errorf("children(%d) = %v; want it to contain the sleep's pid %d", self, got, child)
	}
	if got := children(child); len(got) != 0 {
		t.Errorf("children(%d) of the sleep = %+v; want none", child, got)
	}

	// The tree's RSS is at least the test process's and the sleep's.
	// The readings are not simultaneous, so allow the test process's RSS
	// to move between them.
	ownRSS, _, err := memStatus(self)
	if err != nil {
		t.Fatal(err)
	}
	childRSS, childHWM, err := memStatus(child)
	if err != nil {
		t.Fatal(err)
	}
	treeRSS, treeHWM, err := treeMem(self)
	if err != nil {
		t.Fatal(err)
	}
	if want := ownRSS/2 + childRSS; treeRSS < want || childRSS <= 0 {
		t.Errorf("treeMem(%d) RSS = %d; want at least %d (half this process's %d plus the sleep's %d, which must be positive)", self, treeRSS, want, ownRSS, childRSS)
	}
	if treeHWM < treeRSS/2+childHWM {
		t.Errorf("treeMem(%d) HWM = %d; want at least %d (half its RSS %d plus the sleep's HWM %d)", self, treeHWM, treeRSS/2+childHWM, treeRSS, childHWM)
	}
	if ok := resetTreePeak(self); !ok {
		t.Logf("resetTreePeak(%d) = false (the kernel refused clear_refs); got false, want true where allowed", self)
	}

	c := readCPU(self, self)
	if len(c.server) < 2 {
		t.Errorf("readCPU(%d, %d) read %d processes of the tree (%+v); want at least 2: this process and the sleep", self, self, len(c.server), c.server)
	}

	cmd.Process.Kill()
	cmd.Wait()
	waited = true
	// Reaped: the kernel has removed /proc/PID by the time Wait returns.
	if got := pids(); slices.Contains(got, child) {
		t.Errorf("children(%d) after the sleep exited = %v; want it without %d", self, got, child)
	}
}
