package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// passwordHasher mirrors restauth.PasswordHasher, which this package may not
// import, so that a change to either side shows up here.
type passwordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, hash string) (ok, rehash bool, err error)
}

var _ passwordHasher = (*Hasher)(nil)

// testParams keep hashing fast in tests.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashFormat(t *testing.T) {
	h := New(Options{Params: testParams})
	encoded, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	const prefix = "$argon2id$v=19$m=64,t=1,p=1$"
	fields := strings.Split(strings.TrimPrefix(encoded, prefix), "$")
	if !strings.HasPrefix(encoded, prefix) || len(fields) != 2 || len(fields[0]) != 22 || len(fields[1]) != 43 {
		t.Errorf("Hash = %q, want %s<22 base64>$<43 base64>", encoded, prefix)
	}
	again, _ := h.Hash(t.Context(), "correct horse")
	if again == encoded {
		t.Errorf("two hashes of one password are equal (%q); the salt is not random", encoded)
	}
}

func TestHasherRoundTrip(t *testing.T) {
	h := New(Options{Params: testParams})
	tests := []struct {
		name, hashed, given string
		want                bool
	}{
		{"same", "correct horse", "correct horse", true},
		{"wrong", "correct horse", "correct horsf", false},
		{"prefix", "correct horse", "correct hors", false},
		{"empty", "", "", true},
		{"empty against non-empty", "correct horse", "", false},
		{"full-width against ASCII", "ｐａｓｓｗｏｒｄ１２３", "password123", true},
		{"ASCII against full-width", "password123", "ｐａｓｓｗｏｒｄ１２３", true},
		{"ligature", "ﬁnal answer", "final answer", true},
		{"composed against decomposed", "caf\u00e9", "cafe\u0301", true},
		{"case is kept", "Password123", "password123", false},
		{"long", strings.Repeat("é", MaxPasswordBytes/2), strings.Repeat("é", MaxPasswordBytes/2), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := h.Hash(t.Context(), tt.hashed)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			ok, rehash, err := h.Verify(t.Context(), tt.given, encoded)
			if ok != tt.want || rehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want %v, false, nil", ok, rehash, err, tt.want)
			}
		})
	}
}

func TestHasherVerifyRehash(t *testing.T) {
	h := New(Options{Params: testParams})
	tests := []struct {
		name, password, encoded string
		wantOK, wantRehash      bool
	}{
		{"current argon2id", "password123", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU", true, false},
		{"current argon2id, wrong password", "password124", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU", false, false},
		{"other argon2id params", "correct horse", "$argon2id$v=19$m=256,t=3,p=4$bGFuZXMtc2FsdC0xNmJ5dA$BBe+gMh6g/QcfhIJxOh5Mg", true, true},
		{"sha256_crypt", "correct horse", "$5$rounds=1000$restauthsalt$LEt3/3HGgJDGkxY/IeLIXd6qHwSBT7Wr9gsr./NKiO0", true, true},
		{"sha512_crypt", "correct horse", "$6$rounds=1000$restauthsalt$XC/a2nzHmOs3Wpyl9OaqNfyfhTZRosy1bzt/9ozruoYeazAtR73c1N6pVYK6JtLFFBpQveHPt98wjLUekMM/Z.", true, true},
		{"werkzeug pbkdf2", "correct horse", "pbkdf2:sha256:1000$QiKDtN0ToEZRlBnm$0db90f31caa4d1a32a9b321ee3333f6e4ad4dcf3c6e31a13c2649c2286246ce0", true, true},
		{"werkzeug scrypt", "correct horse", "scrypt:16:4:2$bex1ekYiEhZBS46j$8080e853abdc38a438724913843c0c538e61a50f971796ac5ee5ffe9aab1b3510c705d6d18eda019f3defdb3f7a526afb7551fb07fe83bb71d9b2a9c40a0c1ed", true, true},
		{"bcrypt", "correct horse", "$2y$05$JsvMgsqI1C.a2gh8GaIQCOYIdCqMd7iK6nA15F.4dKTZBzA04SEDu", true, true},
		{"bcrypt, wrong password", "correct horsE", "$2y$05$JsvMgsqI1C.a2gh8GaIQCOYIdCqMd7iK6nA15F.4dKTZBzA04SEDu", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(t.Context(), tt.password, tt.encoded)
			if ok != tt.wantOK || rehash != tt.wantRehash || err != nil {
				t.Errorf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.wantOK, tt.wantRehash)
			}
		})
	}
}

func TestHasherErrors(t *testing.T) {
	h := New(Options{Params: testParams})
	ctx := t.Context()

	ok, rehash, err := h.Verify(ctx, "password", "$argon2id$v=19$m=4194304,t=1,p=1$"+b64Salt+"$"+b64Key)
	if ok || rehash || !errors.Is(err, ErrUnsupportedHash) {
		t.Errorf("Verify(absurd hash) = %v, %v, %v; want false, false, %v", ok, rehash, err, ErrUnsupportedHash)
	}
	ok, rehash, err = h.Verify(ctx, "password", "$argon2id$v=19$")
	if ok || rehash || !errors.Is(err, ErrMalformedHash) {
		t.Errorf("Verify(malformed hash) = %v, %v, %v; want false, false, %v", ok, rehash, err, ErrMalformedHash)
	}

	long := strings.Repeat("a", MaxPasswordBytes+1)
	if _, err := h.Hash(ctx, long); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(%d bytes) error = %v, want %v", len(long), err, ErrPasswordTooLong)
	}
	encoded, err := h.Hash(ctx, long[:MaxPasswordBytes])
	if err != nil {
		t.Fatalf("Hash(%d bytes): %v", MaxPasswordBytes, err)
	}
	ok, rehash, err = h.Verify(ctx, long, encoded)
	if ok || rehash || err != nil {
		t.Errorf("Verify(%d bytes) = %v, %v, %v; want false, false, nil", len(long), ok, rehash, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h.Hash(cancelled, "password"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled ctx) error = %v, want %v", err, context.Canceled)
	}
	if _, _, err := h.Verify(cancelled, "password123", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled ctx) error = %v, want %v", err, context.Canceled)
	}
}

// TestHasherBusy fills the gate and checks that Hash and Verify give up
// with a *BusyError instead of queueing without bound.
func TestHasherBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Options{Params: testParams, MaxConcurrent: 1, MaxQueue: 1, QueueTimeout: time.Second})
		if err := h.gate.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		queued := make(chan error, 1)
		go func() {
			_, err := h.Hash(t.Context(), "queued")
			queued <- err
		}()
		synctest.Wait() // The goroutine is now waiting in the queue.

		var busy *BusyError
		ok, rehash, err := h.Verify(t.Context(), "password123", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU")
		if ok || rehash || !errors.As(err, &busy) {
			t.Errorf("Verify with full queue = %v, %v, %v; want false, false, *BusyError", ok, rehash, err)
		}
		if _, err := h.Hash(t.Context(), "password"); !errors.As(err, &busy) {
			t.Errorf("Hash with full queue error = %v, want *BusyError", err)
		}

		h.gate.Release()
		if err := <-queued; err != nil {
			t.Errorf("queued Hash error = %v, want nil once a slot is released", err)
		}
	})
}

func TestNewDefaults(t *testing.T) {
	h := New(Options{})
	if got := h.Params(); got != DefaultParams {
		t.Errorf("Params() = %+v, want %+v", got, DefaultParams)
	}
	if got, want := cap(h.gate.slots), runtime.NumCPU(); got != want {
		t.Errorf("slots = %d, want %d", got, want)
	}
	if h.gate.maxQueue != DefaultMaxQueue || h.gate.timeout != DefaultQueueTimeout {
		t.Errorf("queue = %d, %v; want %d, %v", h.gate.maxQueue, h.gate.timeout, DefaultMaxQueue, DefaultQueueTimeout)
	}
	want := DefaultParams
	want.Memory = 65536
	if got := New(Options{Params: Params{Memory: 65536}}).Params(); got != want {
		t.Errorf("Params() with only Memory set = %+v, want %+v", got, want)
	}
}

func TestNewPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New with 4 GiB of memory did not panic")
		}
	}()
	New(Options{Params: Params{Memory: 4 << 20}})
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		p    Params
		want bool
	}{
		{DefaultParams, true},
		{testParams, true},
		{Params{Memory: 262144, Time: 16, Threads: 16, SaltLen: 64, KeyLen: 64}, true},
		{Params{Memory: 262145, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 17, Threads: 1, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 17, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 15, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 7, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 1 << 31, KeyLen: 32}, false},
		{Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 15}, false},
		{Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 65}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.want {
			t.Errorf("%+v.Validate() = %v, want valid %v", tt.p, err, tt.want)
		}
	}
}

// TestHasherConcurrent runs more callers than slots under the race
// detector.
func TestHasherConcurrent(t *testing.T) {
	h := New(Options{Params: testParams, MaxConcurrent: 2, MaxQueue: 16, QueueTimeout: time.Minute})
	encoded, err := h.Hash(t.Context(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if ok, _, err := h.Verify(t.Context(), "correct horse", encoded); !ok || err != nil {
				t.Errorf("Verify = %v, %v; want true, nil", ok, err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkHashDefault(b *testing.B) {
	h := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := New(Options{})
	encoded, err := h.Hash(b.Context(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := h.Verify(b.Context(), "correct horse battery staple", encoded); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}
