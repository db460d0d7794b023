package password

import (
	"errors"
	"testing"
)

func TestCheckFormat(t *testing.T) {
	tests := []struct {
		name, hash string
		want       error
	}{
		{"passlib sha256_crypt", "$5$rounds=535000$QqC2//7Z8cCKnhhG$n2nCMHtTe6VL3Oq1vfx.sdBB7i9SRXYgyvITOj2hI/5", nil},
		{"werkzeug pbkdf2", "pbkdf2:sha256:260000$FwgSECw10X7ASiB0$6a022a2b70c7f87371c7fd5e72640ad3fb94e853400b3d1deeb9355bdc1b8a97", nil},
		{"argon2id", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$qdpGGo4OmCBXd4o7jLzxzVWgNlnV6i1yC7E9PjjwL5Q", nil},
		{"empty", "", ErrMalformedHash},
		{"plain text", "hunter2", ErrUnsupportedHash},
		{"md5_crypt", "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0", ErrUnsupportedHash},
		{"werkzeug pbkdf2 digest cut short", "pbkdf2:sha256:260000$FwgSECw10X7ASiB0$6a02", ErrMalformedHash},
	}
	for _, tt := range tests {
		err := CheckFormat(tt.hash)
		if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
			t.Errorf("%s: CheckFormat = %v, want %v", tt.name, err, tt.want)
		}
	}
}
