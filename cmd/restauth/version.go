package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// buildVersion and buildCommit are stamped at link time by the release
// script and the Dockerfile (-ldflags "-X main.buildVersion=v1.2.0"). A
// plain go build leaves them empty, and the build info answers instead.
var (
	buildVersion string
	// buildCommit is used only when the build info carries no vcs.revision,
	// as in a container build whose context leaves out .git.
	buildCommit string
)

// version is the version alone, as restauth version's first line gives it:
// the stamped one, else the module version go install records, else "dev".
// It is the one-word form for other reports, such as a build-info metric.
func version() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(buildVersion, info)
}

func versionOf(stamped string, info *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// versionText is what restauth version prints: the version, the commit it
// was built from (with "-dirty" when the work tree had uncommitted changes)
// and the Go release and platform, one per line.
func versionText(stampedVersion, stampedCommit string, info *debug.BuildInfo) string {
	commit, goVersion := "", runtime.Version()
	goos, goarch := runtime.GOOS, runtime.GOARCH
	modified := false
	if info != nil {
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
	}
	switch {
	case commit != "" && modified:
		commit += "-dirty"
	case commit == "" && stampedCommit != "":
		commit = stampedCommit
	case commit == "":
		commit = "unknown"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "restauth %s\n", versionOf(stampedVersion, info))
	fmt.Fprintf(&b, "commit   %s\n", commit)
	fmt.Fprintf(&b, "go       %s %s/%s\n", goVersion, goos, goarch)
	return b.String()
}

// buildVersionText is versionText for this binary.
func buildVersionText() string {
	info, _ := debug.ReadBuildInfo()
	return versionText(buildVersion, buildCommit, info)
}
