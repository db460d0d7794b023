package password

import (
	"strings"
	"testing"
)

func TestIsCommon(t *testing.T) {
	tests := []struct {
		password string
		want     bool
	}{
		{"password", true},
		{"123456", true},
		{"PassWord", true},
		{"ｐａｓｓｗｏｒｄ", true}, // Full-width, folded by NFKC.
		{"dragon", true},
		{"qwertyuiop", true},
		{"password ", false},
		{"kT8#vQ2!mZ9@xR4w", false},
		{"correct horse battery staple", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsCommon(tt.password); got != tt.want {
			t.Errorf("IsCommon(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
}

func TestCommonCount(t *testing.T) {
	lines := strings.Count(commonList, "\n")
	if got := CommonCount(); got != lines || got < 49000 {
		t.Errorf("CommonCount() = %d, want %d (the list's lines, about 49k)", got, lines)
	}
}

func BenchmarkIsCommon(b *testing.B) {
	IsCommon("") // Load the list outside the measurement.
	b.ReportAllocs()
	for b.Loop() {
		IsCommon("Tr0ub4dor&3")
	}
}
