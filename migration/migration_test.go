package migration

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0002_more.sql": {Data: []byte("B")},
		"migrations/0001_init.sql": {Data: []byte("A")},
		"migrations/README.md":     {Data: []byte("ignored")},
	}
	ms, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].Version != 2 || ms[0].SQL != "A" || ms[1].Name != "0002_more.sql" {
		t.Fatalf("Load = %+v, want 0001_init.sql then 0002_more.sql", ms)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"unnumbered":     {"migrations/init.sql": {}},
		"zero":           {"migrations/0000_init.sql": {}},
		"shared version": {"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
	} {
		if _, err := Load(fsys); err == nil {
			t.Errorf("%s: Load succeeded, want an error", name)
		}
	}
}

func TestCheckOwner(t *testing.T) {
	tests := []struct {
		name   string
		tables []string
		cols   []string
		want   string // "" for nil, else in the message.
	}{
		{"empty", nil, nil, ""},
		{"restauth's", []string{"users", Table, "sessions"}, Columns, ""},
		{"restauth's with an operator's table", []string{Table, "notes"}, Columns, ""},
		{"another program's", []string{"users", "posts"}, nil, "(posts, users)"},
		{"another tool's schema_migrations", []string{Table, "posts"}, []string{"version", "dirty"}, "(posts, schema_migrations)"},
		{"columns in another order", []string{Table}, []string{"applied_at", "version"}, "(schema_migrations)"},
		{"many tables", []string{"a", "b", "c", "d", "e", "f", "g"}, nil, "(a, b, c, d, e and 2 more)"},
	}
	for _, tt := range tests {
		err := CheckOwner(tt.tables, tt.cols)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckOwner(%s) = %v, want nil", tt.name, err)
		case tt.want != "" && (!errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckOwner(%s) = %v, want an error wrapping ErrForeign that contains %q", tt.name, err, tt.want)
		}
	}
}
