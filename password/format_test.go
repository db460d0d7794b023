package password

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// vector is a known hash of password. Sources: the argon2 reference
// implementation's test.c, Drepper's SHA-crypt specification, the
// crypt_blowfish test vectors, and hashes made here with Python's
// cryptography (argon2id), glibc/libxcrypt crypt(3) (SHA-crypt, bcrypt),
// openssl passwd, htpasswd -B and Werkzeug 3.1.8's generate_password_hash.
type vector struct {
	name     string
	password string
	encoded  string
	slow     bool // Skipped with -short.
}

var vectors = []vector{
	// argon2.
	{"argon2id reference", "password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", true},
	{"argon2i reference", "password", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", true},
	{"argon2id default params", "correct horse", "$argon2id$v=19$m=19456,t=2,p=1$cmVzdGF1dGgtc2FsdC0xNg$TC1OGk1cZP2e2AB5Imv1g6OzJIGa3beyCAxUFFYEfyk", false},
	{"argon2id small", "password123", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU", false},
	{"argon2id 4 lanes 16-byte key", "correct horse", "$argon2id$v=19$m=256,t=3,p=4$bGFuZXMtc2FsdC0xNmJ5dA$BBe+gMh6g/QcfhIJxOh5Mg", false},
	{"argon2id 64-byte key", "correct horse", "$argon2id$v=19$m=32,t=1,p=2$bG9uZ2tleS1zYWx0LTE2Yg$mDRtsdFuGd+OTNFVMr2zk3vB1K52Lwg9Lfxuaq4UJ7Z2xSEYSGbhwbspksteH7oAlmoSC1X7hY6g+x+IzPcrkw", false},

	// sha256_crypt: Drepper's vectors, then glibc, openssl and passlib's default rounds.
	{"sha256 drepper implicit rounds", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", false},
	{"sha256 drepper rounds=10000", "Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", false},
	{"sha256 drepper rounds=5000", "This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5", false},
	{"sha256 drepper rounds=1400", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1", false},
	{"sha256 drepper short salt", "we have a short salt string but not a short password", "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/", true},
	{"sha256 drepper 16-char salt", "a short string", "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD", true},
	{"sha256 drepper rounds raised to 1000", "the minimum number is still observed", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC", false},
	{"sha256 glibc rounds=1000", "correct horse", "$5$rounds=1000$restauthsalt$LEt3/3HGgJDGkxY/IeLIXd6qHwSBT7Wr9gsr./NKiO0", false},
	{"sha256 glibc", "correct horse", "$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/", false},
	{"sha256 glibc UTF-8", "p\u00e4ssw\u00f6rd", "$5$rounds=1000$unicodesalt$u5S/UG.KsZGAqsf31BSG8VKcmc69jm077/oAkLNLQgD", false},
	{"sha256 openssl passwd -5", "correct horse", "$5$opensslsalt$NGvcAdUVVMJQ8e/U8iO6F6UuWL6FOQMUlW8RN1Adg2C", false},
	{"sha256 passlib default rounds", "correct horse", "$5$rounds=535000$passlibsalt16chr$gIexNA27iCSuuarnT2vwJx93.MOPK60nsMLH6P285L5", true},

	// sha512_crypt.
	{"sha512 drepper implicit rounds", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", false},
	{"sha512 drepper rounds=10000", "Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", false},
	{"sha512 drepper rounds=5000", "This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0", false},
	{"sha512 drepper rounds=1400", "a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1", false},
	{"sha512 drepper short salt", "we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0", true},
	{"sha512 drepper 16-char salt", "a short string", "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1", true},
	{"sha512 drepper rounds raised to 1000", "the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.", false},
	{"sha512 glibc rounds=1000", "correct horse", "$6$rounds=1000$restauthsalt$XC/a2nzHmOs3Wpyl9OaqNfyfhTZRosy1bzt/9ozruoYeazAtR73c1N6pVYK6JtLFFBpQveHPt98wjLUekMM/Z.", false},
	{"sha512 glibc", "correct horse", "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0", false},
	{"sha512 glibc UTF-8", "\u00fcber geheim", "$6$rounds=1000$unicode$qMI2/T.Bqw41TVLYE3lf2lywo.4c5TlKIhy6e6NRbbLs4dtXFitUu85UGG2tiOez5Qrcre/DnkYiU27Wr25nC0", false},
	{"sha512 openssl passwd -6", "correct horse", "$6$opensslsalt$MoF2A/2FvWUOfdRMZPQEn6RfKUX0/B3JbTPgbbtgMLvAHKVJJ1pOHQEzuvREdvvsW/zAd/vUnOAm1T3zNw/xY1", false},
	{"sha512 passlib default rounds", "correct horse", "$6$rounds=656000$passlibsalt16chr$Tu1/4JDpLeYdwi3buhB9vwDWhNPzEUdrL7NYinKoilkwvLMa.rc7cak8lpZdttFxg125x6rMR/M.dTRQ7bdsu1", true},

	// Werkzeug.
	{"werkzeug pbkdf2 sha256 600000", "correct horse", "pbkdf2:sha256:600000$tTFEf8fTIbfjnM2h$bced0db655e081dd5a0760a3b18720f2f71388ff05eb24e3198b93d3b520c1c6", true},
	{"werkzeug pbkdf2 sha256", "correct horse", "pbkdf2:sha256:1000$QiKDtN0ToEZRlBnm$0db90f31caa4d1a32a9b321ee3333f6e4ad4dcf3c6e31a13c2649c2286246ce0", false},
	{"werkzeug pbkdf2 sha512", "correct horse", "pbkdf2:sha512:1000$whwp7Gzgb3uZLVPG$33f45f306ecfac47518cad7d4095571fd2806599ed73f7a90168b05f6d7129673354bdda9c6843e94f7c90a8b5b150ac0bdc283c48c9bea7c01ff0bf4a580c00", false},
	{"werkzeug pbkdf2 sha1", "correct horse", "pbkdf2:sha1:1000$DGRlL4BUfR7wQZjU$4a28df24a6bc9e083cc342a1891de122a1aec299", false},
	{"werkzeug pbkdf2 UTF-8", "p\u00e4ssw\u00f6rd", "pbkdf2:sha512:1000$13KiuiCeOU3wZIjN$c40b689d3212b05109cabe204cdb6fe3c1e1c7968c1040b7805cd8dfd81ec6fa849ba608612da26ee8d2ee1f02acce920209b4f7156e39f5253a4f38b7981ad3", false},
	{"werkzeug scrypt default", "correct horse", "scrypt:32768:8:1$UZdCSqcB4v8c2a2P$cd61a19ff995bfcaa4fbd13cadcb8d179aec509f54e1af43a404aefe4cfef5e8ae901a7ceb2864a5fb9652f5bf24570f9f7b0df893693db4feee59ff150e8ab5", true},
	{"werkzeug scrypt bare", "correct horse", "scrypt$UZdCSqcB4v8c2a2P$cd61a19ff995bfcaa4fbd13cadcb8d179aec509f54e1af43a404aefe4cfef5e8ae901a7ceb2864a5fb9652f5bf24570f9f7b0df893693db4feee59ff150e8ab5", true},
	{"werkzeug scrypt N=1024", "correct horse", "scrypt:1024:8:1$zEWnsmSjNxl16lWs$97d72e7848c444114a885895c55e78f3216ee6c6d34b5eb8745ff69e703aa93382afc155bfd0451e96a828a1cc470a3e3987aeac821cc73da5f3ba2ea9546bf4", false},
	{"werkzeug scrypt p=2", "correct horse", "scrypt:16:4:2$bex1ekYiEhZBS46j$8080e853abdc38a438724913843c0c538e61a50f971796ac5ee5ffe9aab1b3510c705d6d18eda019f3defdb3f7a526afb7551fb07fe83bb71d9b2a9c40a0c1ed", false},

	// bcrypt.
	{"bcrypt 2a crypt_blowfish", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", false},
	{"bcrypt 2a over 72 bytes", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored", "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", false},
	{"bcrypt 2b empty password", "", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", false},
	{"bcrypt 2b libxcrypt", "correct horse", "$2b$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e", false},
	{"bcrypt 2y libxcrypt", "correct horse", "$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2", false},
	{"bcrypt 2y htpasswd", "correct horse", "$2y$05$JsvMgsqI1C.a2gh8GaIQCOYIdCqMd7iK6nA15F.4dKTZBzA04SEDu", false},
}

func TestCheckVectors(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			if v.slow && testing.Short() {
				t.Skip("slow vector")
			}
			for _, c := range []struct {
				password string
				want     bool
			}{
				{v.password, true},
				{"x" + v.password, false},
			} {
				got, err := Check(c.password, v.encoded)
				if err != nil || got != c.want {
					t.Errorf("Check(%q) = %v, %v; want %v, nil", c.password, got, err, c.want)
				}
			}
		})
	}
}

// TestLegacyRawPassword shows that legacy formats see the password as
// given: this hash was made by Werkzeug from the full-width form.
func TestLegacyRawPassword(t *testing.T) {
	const encoded = "pbkdf2:sha256:1000$5s8DrciFm3K8b3GG$5ab974744b63634062ec7c669b50aab3f937891c564477eb5077fc08f2b25865"
	for _, c := range []struct {
		password string
		want     bool
	}{
		{"ｐａｓｓｗｏｒｄ１２３", true},
		{"password123", false},
	} {
		got, err := Check(c.password, encoded)
		if err != nil || got != c.want {
			t.Errorf("Check(%q) = %v, %v; want %v, nil", c.password, got, err, c.want)
		}
	}
}

// TestArgon2NFKC checks that argon2 verification normalises: this hash was
// made by the reference algorithm from the ASCII form.
func TestArgon2NFKC(t *testing.T) {
	const encoded = "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU"
	for _, pw := range []string{"password123", "ｐａｓｓｗｏｒｄ１２３"} {
		if got, err := Check(pw, encoded); err != nil || !got {
			t.Errorf("Check(%q) = %v, %v; want true, nil", pw, got, err)
		}
	}
}

func TestCheckTooLongPassword(t *testing.T) {
	// A bcrypt hash of a 1025-byte password would match on its first 72
	// bytes, so a refusal shows that the length was checked first.
	const encoded = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
	pw := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + strings.Repeat("x", MaxPasswordBytes-72+1)
	if got, err := Check(pw, encoded); err != nil || got {
		t.Errorf("Check(%d bytes) = %v, %v; want false, nil", len(pw), got, err)
	}
	if got, err := Check(pw[:MaxPasswordBytes], encoded); err != nil || !got {
		t.Errorf("Check(%d bytes) = %v, %v; want true, nil", MaxPasswordBytes, got, err)
	}
}

const (
	b64Salt   = "c29tZXNhbHQ"                                 // "somesalt"
	b64Key    = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc" // 32 bytes.
	sha256Sum = "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
	hex32     = "0db90f31caa4d1a32a9b321ee3333f6e4ad4dcf3c6e31a13c2649c2286246ce0"
	hex64     = hex32 + hex32
	bcSalt    = "CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
)

var parseErrorTests = []struct {
	name    string
	encoded string
	want    error
}{
	{"empty", "", ErrMalformedHash},
	{"plain text", "hunter2", ErrUnsupportedHash},
	{"space", "$2b$05$ " + bcSalt[1:], ErrMalformedHash},
	{"newline", "$argon2id$v=19$m=64,t=1,p=1$" + b64Salt + "$" + b64Key + "\n", ErrMalformedHash},
	{"non-ASCII", "$5$sältsalt$" + sha256Sum, ErrMalformedHash},
	{"too long", "$5$" + strings.Repeat("a", 1100), ErrMalformedHash},
	{"md5-crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", ErrUnsupportedHash},
	{"werkzeug plain sha256", "sha256$salt$" + hex32, ErrUnsupportedHash},

	{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 version 16", "$argon2id$m=64,t=1,p=1$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 v=16", "$argon2id$v=16$m=64,t=1,p=1$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 v=019", "$argon2id$v=019$m=64,t=1,p=1$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 too few fields", "$argon2id$v=19$m=64,t=1,p=1$" + b64Salt, ErrMalformedHash},
	{"argon2 too many fields", "$argon2id$v=19$m=64,t=1,p=1$" + b64Salt + "$" + b64Key + "$", ErrMalformedHash},
	{"argon2 keyid", "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 order", "$argon2id$v=19$t=1,m=64,p=1$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 sign", "$argon2id$v=19$m=+64,t=1,p=1$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 memory overflow", "$argon2id$v=19$m=4294967296,t=1,p=1$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 memory 4 GiB", "$argon2id$v=19$m=4194304,t=1,p=1$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 memory just over", "$argon2id$v=19$m=262145,t=1,p=1$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 memory under 8 per lane", "$argon2id$v=19$m=15,t=1,p=2$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 time 0", "$argon2id$v=19$m=64,t=0,p=1$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 time 17", "$argon2id$v=19$m=64,t=17,p=1$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 lanes 0", "$argon2id$v=19$m=64,t=1,p=0$" + b64Salt + "$" + b64Key, ErrMalformedHash},
	{"argon2 lanes 17", "$argon2id$v=19$m=1024,t=1,p=17$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 lanes 256", "$argon2id$v=19$m=4096,t=1,p=256$" + b64Salt + "$" + b64Key, ErrUnsupportedHash},
	{"argon2 salt 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + b64Key, ErrUnsupportedHash},
	{"argon2 key 8 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + b64Salt + "$c29tZXNhbHQ", ErrUnsupportedHash},
	{"argon2 key 96 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + b64Salt + "$" + strings.Repeat("AAAA", 32), ErrUnsupportedHash},
	{"argon2 padded salt", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$" + b64Key, ErrMalformedHash},
	{"argon2 stray bits", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHR$" + b64Key, ErrMalformedHash},
	{"argon2 URL alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + b64Salt + "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPP_", ErrMalformedHash},

	{"sha-crypt rounds over limit", "$5$rounds=5000001$saltstring$" + sha256Sum, ErrUnsupportedHash},
	{"sha-crypt rounds huge", "$6$rounds=999999999999999999999$saltstring$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt rounds below minimum", "$5$rounds=999$saltstring$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt rounds not a number", "$5$rounds=1e4$saltstring$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt rounds without salt", "$5$rounds=5000", ErrMalformedHash},
	{"sha-crypt no checksum", "$5$saltstring", ErrMalformedHash},
	{"sha-crypt empty salt", "$5$$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt 17-char salt", "$5$saltstringsaltstr$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt salt alphabet", "$5$salt_string$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt short checksum", "$5$saltstring$" + sha256Sum[1:], ErrMalformedHash},
	{"sha-crypt 256 checksum on 512", "$6$saltstring$" + sha256Sum, ErrMalformedHash},
	{"sha-crypt extra field", "$5$saltstring$" + sha256Sum + "$", ErrMalformedHash},

	{"pbkdf2 without iterations", "pbkdf2:sha256$QiKDtN0ToEZRlBnm$" + hex32, ErrUnsupportedHash},
	{"pbkdf2 bare", "pbkdf2$QiKDtN0ToEZRlBnm$" + hex32, ErrUnsupportedHash},
	{"pbkdf2 iterations over limit", "pbkdf2:sha256:10000001$QiKDtN0ToEZRlBnm$" + hex32, ErrUnsupportedHash},
	{"pbkdf2 iterations 0", "pbkdf2:sha256:0$QiKDtN0ToEZRlBnm$" + hex32, ErrMalformedHash},
	{"pbkdf2 iterations negative", "pbkdf2:sha256:-1$QiKDtN0ToEZRlBnm$" + hex32, ErrMalformedHash},
	{"pbkdf2 md5", "pbkdf2:md5:1000$QiKDtN0ToEZRlBnm$" + hex32[:32], ErrUnsupportedHash},
	{"pbkdf2 extra argument", "pbkdf2:sha256:1000:32$QiKDtN0ToEZRlBnm$" + hex32, ErrMalformedHash},
	{"pbkdf2 empty salt", "pbkdf2:sha256:1000$$" + hex32, ErrMalformedHash},
	{"pbkdf2 long salt", "pbkdf2:sha256:1000$" + strings.Repeat("s", 129) + "$" + hex32, ErrMalformedHash},
	{"pbkdf2 no digest", "pbkdf2:sha256:1000$QiKDtN0ToEZRlBnm", ErrMalformedHash},
	{"pbkdf2 not hex", "pbkdf2:sha256:1000$QiKDtN0ToEZRlBnm$" + hex32[:62] + "zz", ErrMalformedHash},
	{"pbkdf2 wrong digest length", "pbkdf2:sha512:1000$QiKDtN0ToEZRlBnm$" + hex32, ErrMalformedHash},

	{"scrypt 1 GiB", "scrypt:1048576:8:1$UZdCSqcB4v8c2a2P$" + hex64, ErrUnsupportedHash},
	{"scrypt p overflows", "scrypt:2147483648:4294967295:4294967295$UZdCSqcB4v8c2a2P$" + hex64, ErrUnsupportedHash},
	{"scrypt N not power of two", "scrypt:1000:8:1$UZdCSqcB4v8c2a2P$" + hex64, ErrMalformedHash},
	{"scrypt N 1", "scrypt:1:8:1$UZdCSqcB4v8c2a2P$" + hex64, ErrMalformedHash},
	{"scrypt r 0", "scrypt:1024:0:1$UZdCSqcB4v8c2a2P$" + hex64, ErrMalformedHash},
	{"scrypt two arguments", "scrypt:1024:8$UZdCSqcB4v8c2a2P$" + hex64, ErrMalformedHash},
	{"scrypt four arguments", "scrypt:1024:8:1:1$UZdCSqcB4v8c2a2P$" + hex64, ErrMalformedHash},
	{"scrypt 32-byte digest", "scrypt:1024:8:1$UZdCSqcB4v8c2a2P$" + hex32, ErrMalformedHash},

	{"bcrypt 2x", "$2x$05$" + bcSalt, ErrUnsupportedHash},
	{"bcrypt 2", "$2$05$" + bcSalt, ErrUnsupportedHash},
	{"bcrypt cost 17", "$2b$17$" + bcSalt, ErrUnsupportedHash},
	{"bcrypt cost 31", "$2b$31$" + bcSalt, ErrUnsupportedHash},
	{"bcrypt cost 3", "$2b$03$" + bcSalt, ErrMalformedHash},
	{"bcrypt one-digit cost", "$2b$5$" + bcSalt + "C", ErrMalformedHash},
	{"bcrypt short", "$2b$05$" + bcSalt[1:], ErrMalformedHash},
	{"bcrypt long", "$2b$05$" + bcSalt + "C", ErrMalformedHash},
	{"bcrypt alphabet", "$2b$05$" + bcSalt[1:] + "+", ErrMalformedHash},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range parseErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Check("password", tt.encoded)
			if ok || !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, %v; want false, %v", ok, err, tt.want)
			}
			if err != nil && tt.encoded != "" && strings.Contains(err.Error(), tt.encoded) {
				t.Errorf("error %q contains the hash", err)
			}
		})
	}
}

// TestAbsurdCostRefusedCheaply checks that refusing an absurd hash neither
// allocates its memory nor computes.
func TestAbsurdCostRefusedCheaply(t *testing.T) {
	for _, encoded := range []string{
		"$argon2id$v=19$m=4194304,t=1,p=1$" + b64Salt + "$" + b64Key,
		"$argon2id$v=19$m=262144,t=4294967295,p=1$" + b64Salt + "$" + b64Key,
		"scrypt:1073741824:8:1$UZdCSqcB4v8c2a2P$" + hex64,
		"$6$rounds=999999999$saltstring$" + sha256Sum + sha256Sum,
		"$2b$31$" + bcSalt,
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Check("password", encoded)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrUnsupportedHash) {
			t.Errorf("Check(%.40s…) error = %v, want %v", encoded, err, ErrUnsupportedHash)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
			t.Errorf("Check(%.40s…) allocated %d bytes, want under 64 KiB", encoded, n)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	small := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	tests := []struct {
		name    string
		encoded string
		p       Params
		want    bool
	}{
		{"same params", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU", small, false},
		{"default params", "$argon2id$v=19$m=19456,t=2,p=1$cmVzdGF1dGgtc2FsdC0xNg$TC1OGk1cZP2e2AB5Imv1g6OzJIGa3beyCAxUFFYEfyk", DefaultParams, false},
		{"other memory", "$argon2id$v=19$m=64,t=1,p=1$bmZrYy1zYWx0LTE2Ynl0ZQ$IEViWdjsPbKSKf2gJiRGFaiqy1JVu/1kCj/BsoSAoVU", DefaultParams, true},
		{"other time", "$argon2id$v=19$m=19456,t=2,p=1$cmVzdGF1dGgtc2FsdC0xNg$TC1OGk1cZP2e2AB5Imv1g6OzJIGa3beyCAxUFFYEfyk", Params{19456, 3, 1, 16, 32}, true},
		{"other lanes", "$argon2id$v=19$m=19456,t=2,p=1$cmVzdGF1dGgtc2FsdC0xNg$TC1OGk1cZP2e2AB5Imv1g6OzJIGa3beyCAxUFFYEfyk", Params{19456, 2, 2, 16, 32}, true},
		{"other salt length", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", Params{65536, 2, 1, 16, 32}, true},
		{"other key length", "$argon2id$v=19$m=256,t=3,p=4$bGFuZXMtc2FsdC0xNmJ5dA$BBe+gMh6g/QcfhIJxOh5Mg", Params{256, 3, 4, 16, 32}, true},
		{"argon2i", "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA", Params{65536, 2, 1, 8, 32}, true},
		{"sha512_crypt", "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0", DefaultParams, true},
		{"werkzeug", "pbkdf2:sha256:600000$tTFEf8fTIbfjnM2h$bced0db655e081dd5a0760a3b18720f2f71388ff05eb24e3198b93d3b520c1c6", DefaultParams, true},
		{"bcrypt", "$2b$04$abcdefghijklmnopqrstuujydOTSfIH/d5oUHpsygqV5X9xJLQc6e", DefaultParams, true},
		{"malformed", "$argon2id$v=19$m=19456,t=2,p=1$", DefaultParams, true},
		{"empty", "", DefaultParams, true},
	}
	for _, tt := range tests {
		if got := NeedsRehash(tt.encoded, tt.p); got != tt.want {
			t.Errorf("%s: NeedsRehash(%+v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}

func TestParseUint(t *testing.T) {
	tests := []struct {
		in     string
		want   uint64
		wantOK bool
	}{
		{"0", 0, true},
		{"7", 7, true},
		{"4294967295", 4294967295, true},
		{"4294967296", 0, false},
		{"", 0, false},
		{"07", 0, false},
		{"+7", 0, false},
		{"-7", 0, false},
		{"7a", 0, false},
		{" 7", 0, false},
		{"1_000", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseUint(tt.in, 32)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseUint(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// BenchmarkCheckLegacy measures the legacy formats at the parameters their
// writers used by default, which bound login latency until users rehash.
func BenchmarkCheckLegacy(b *testing.B) {
	for _, name := range []string{
		"sha256 passlib default rounds",
		"sha512 passlib default rounds",
		"werkzeug pbkdf2 sha256 600000",
		"werkzeug scrypt default",
	} {
		var v vector
		for _, v = range vectors {
			if v.name == name {
				break
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := Check(v.password, v.encoded); !ok || err != nil {
					b.Fatalf("Check = %v, %v", ok, err)
				}
			}
		})
	}
}
