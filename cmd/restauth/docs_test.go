package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// flagRE finds a flag of restauth as the documentation writes it.
var flagRE = regexp.MustCompile("--[a-z0-9]+(?:-[a-z0-9]+)*")

// TestFlagsDocumented keeps docs/operations.md and the README in step with
// the flag table: every flag that exists is documented, with its variable,
// and no flag that does not exist is mentioned.
func TestFlagsDocumented(t *testing.T) {
	var names []string
	for _, f := range flagTable {
		names = append(names, f.name)
	}
	for _, doc := range []string{"../../docs/operations.md", "../../README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		// Command lines of other programs (pg_dump, go test, the bench
		// harness) are not restauth's flags.
		var own []string
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, "pg_dump") || strings.Contains(line, "go test") || strings.Contains(line, "restauth-bench") {
				continue
			}
			own = append(own, line)
		}
		seen := map[string]bool{}
		for _, m := range flagRE.FindAllString(strings.Join(own, "\n"), -1) {
			name := strings.TrimPrefix(m, "--")
			if name == "help" {
				continue
			}
			seen[name] = true
			if !slices.Contains(names, name) {
				t.Errorf("%s mentions %s, which is not a flag", doc, m)
			}
		}
		for _, f := range flagTable {
			if !seen[f.name] {
				t.Errorf("%s does not mention --%s", doc, f.name)
			}
		}
		if doc == "../../docs/operations.md" {
			for _, f := range flagTable {
				if !strings.Contains(text, "`"+f.env()+"`") {
					t.Errorf("%s does not name %s", doc, f.env())
				}
			}
		}
	}
}
