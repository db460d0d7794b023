package password

import (
	_ "embed"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// commonList is one common password a line, most common first. See
// common-passwords.LICENSE for its origin and gen_common.sh to regenerate it.
//
//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// loadCommon builds the lookup set on first use, so that programs that
// never check a password do not pay for it.
func loadCommon() {
	commonSet = make(map[string]struct{}, 50_000)
	for line := range strings.Lines(commonList) {
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			commonSet[foldCommon(p)] = struct{}{}
		}
	}
}

// foldCommon is the form in which passwords are compared with the list.
func foldCommon(s string) string {
	return strings.ToLower(norm.NFKC.String(s))
}

// IsCommon reports whether password, NFKC-normalised and lower-cased, is on
// the common-password list.
func IsCommon(password string) bool {
	commonOnce.Do(loadCommon)
	_, ok := commonSet[foldCommon(password)]
	return ok
}

// CommonCount returns how many distinct passwords the list holds.
func CommonCount() int {
	commonOnce.Do(loadCommon)
	return len(commonSet)
}
