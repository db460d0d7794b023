package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/restauth/restauth/internal/procstat"
)

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
		for _, c := range procstat.Children(self) {
			if c.PPID != self {
				t.Errorf("procstat.Children(%d) holds %+v, whose ppid is not %d", self, c, self)
			}
			out = append(out, c.PID)
		}
		return out
	}
	if got := pids(); !slices.Contains(got, child) {
		t.Errorf("procstat.Children(%d) = %v; want it to contain the sleep's pid %d", self, got, child)
	}
	if got := procstat.Children(child); len(got) != 0 {
		t.Errorf("procstat.Children(%d) of the sleep = %+v; want none", child, got)
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
		t.Errorf("procstat.Children(%d) after the sleep exited = %v; want it without %d", self, got, child)
	}
}
