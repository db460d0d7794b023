// Package procstat reads what restauth's tests and benchmark harness need
// of Linux's /proc: from /proc/PID/stat a process's parent, state, CPU
// time, start time and nice value, its children, and the nice value of
// each of its threads; from /proc/PID/environ the environment it started
// with. Where there is no /proc, every reading fails or finds nothing.
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stat is one process's (or thread's) /proc stat line, as far as restauth
// reads it.
type Stat struct {
	PID, PPID int
	State     string // "R", "S", "Z", ...
	Ticks     int64  // utime+stime, in clock ticks (USER_HZ).
	Start     int64  // starttime: clock ticks after boot.
	Nice      int
}

// Parse parses the text of a /proc stat file.
func Parse(s string) (Stat, bool) {
	// The command name, in parentheses, may hold spaces and parentheses;
	// the fields after its last ')' are fixed.
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 1 || closing < open {
		return Stat{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return Stat{}, false
	}
	// Fields 3 on: state (3), ppid (4), ..., utime (14), stime (15), ...,
	// nice (19), ..., starttime (22).
	f := strings.Fields(s[closing+1:])
	if len(f) < 20 {
		return Stat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseInt(f[11], 10, 64)
	stime, err3 := strconv.ParseInt(f[12], 10, 64)
	nice, err4 := strconv.Atoi(f[16])
	start, err5 := strconv.ParseInt(f[19], 10, 64)
	if errors.Join(err1, err2, err3, err4, err5) != nil {
		return Stat{}, false
	}
	return Stat{PID: pid, PPID: ppid, State: f[0], Ticks: utime + stime, Start: start, Nice: nice}, true
}

// Read reads and parses the stat file at path: /proc/PID/stat,
// /proc/PID/task/TID/stat or /proc/thread-self/stat.
func Read(path string) (Stat, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, false
	}
	return Parse(string(b))
}

// Process reads /proc/PID/stat.
func Process(pid int) (Stat, bool) { return Read(fmt.Sprintf("/proc/%d/stat", pid)) }

// Children scans /proc/[0-9]*/stat for the processes whose parent is pid.
// A child that exits during the scan is left out.
func Children(pid int) []Stat {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Stat
	for _, e := range ents {
		name := e.Name()
		if name == "" || strings.Trim(name, "0123456789") != "" {
			continue
		}
		if st, ok := Read("/proc/" + name + "/stat"); ok && st.PPID == pid && st.PID != pid {
			out = append(out, st)
		}
	}
	return out
}

// ThreadNices returns the nice value of each thread of pid. A thread that
// exits during the scan is left out.
func ThreadNices(pid int) ([]int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	var nices []int
	for _, task := range tasks {
		if st, ok := Read(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name())); ok {
			nices = append(nices, st.Nice)
		}
	}
	return nices, nil
}

// Environ returns the environment pid was started with, one "NAME=value"
// a string, from /proc/PID/environ.
func Environ(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"), nil
}
