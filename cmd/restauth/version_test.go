package main

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersionText(t *testing.T) {
	const rev = "4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name                          string
		stampedVersion, stampedCommit string
		info                          *debug.BuildInfo
		want                          string
	}{
		{"release build, clean tree", "v1.2.0", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: settings("GOOS", "linux", "GOARCH", "arm64", "vcs.revision", rev, "vcs.modified", "false")},
			"restauth v1.2.0\ncommit   " + rev + "\ngo       go1.26.8 linux/arm64\n"},
		{"uncommitted changes", "v1.2.0", "",
			&debug.BuildInfo{GoVersion: "go1.26.8",
				Settings: settings("GOOS", "darwin", "GOARCH", "arm64", "vcs.revision", rev, "vcs.modified", "true")},
			"restauth v1.2.0\ncommit   " + rev + "-dirty\ngo       go1.26.8 darwin/arm64\n"},
		{"go install of a tagged module", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.3.1"},
				Settings: settings("GOOS", "windows", "GOARCH", "amd64")},
			"restauth v1.3.1\ncommit   unknown\ngo       go1.26.8 windows/amd64\n"},
		{"container build without .git: the stamped commit", "v1.2.0", rev,
			&debug.BuildInfo{GoVersion: "go1.26.8", Settings: settings("GOOS", "linux", "GOARCH", "amd64")},
			"restauth v1.2.0\ncommit   " + rev + "\ngo       go1.26.8 linux/amd64\n"},
		{"the recorded revision wins over a stamped one", "v1.2.0", "0000000",
			&debug.BuildInfo{GoVersion: "go1.26.8",
				Settings: settings("GOOS", "linux", "GOARCH", "amd64", "vcs.revision", rev)},
			"restauth v1.2.0\ncommit   " + rev + "\ngo       go1.26.8 linux/amd64\n"},
		{"go run: nothing recorded", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"restauth dev\ncommit   unknown\ngo       go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
		{"no build info at all", "", "", nil,
			"restauth dev\ncommit   unknown\ngo       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(tt.stampedVersion, tt.stampedCommit, tt.info); got != tt.want {
				t.Errorf("versionText:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestVersionCommand checks the shape of what restauth version, and its
// --version spelling, print from this test binary's own build info.
func TestVersionCommand(t *testing.T) {
	want := regexp.MustCompile(`\Arestauth \S+\ncommit   (unknown|[0-9a-f]{40}(-dirty)?)\ngo       go\S+ [a-z0-9]+/[a-z0-9]+\n\z`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := cli(t, "", nil, "", args...)
		if r.code != 0 || !want.MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("restauth %v: got status %d, stdout %q, stderr %q; want 0 and stdout matching %s",
				args, r.code, r.stdout, r.stderr, want)
		}
	}
}
