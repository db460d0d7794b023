package verify

import "time"

// Hooks for the external tests.

func SetJWKSClock(j *JWKS, now func() time.Time) { j.now = now }

func SetIntrospectionClock(v *Verifier, now func() time.Time) { v.intro.now = now }

var ParseJWKS = parseJWKS
