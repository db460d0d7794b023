package main

import (
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/restauth/restauth/password"
)

// ownsRuntime is set by main: the process is restauth's alone, so serve may
// tune the Go runtime's garbage collector for it. Tests call run inside a
// shared test binary, whose collector they leave alone.
var ownsRuntime bool

// Garbage-collector defaults for a serving process.
const (
	// gcPercent is GOGC's default for serve. A token request allocates
	// little, but restauth's live heap (caches, the revocation view, the
	// store's state) is larger than a bare server's, and with GOGC=100 the
	// collector's fixed per-cycle work took about a tenth of the server's
	// CPU on the token path. 400 makes cycles four times rarer; the
	// memory limit below keeps the heap bounded when argon2id's 19 MiB per
	// hash would otherwise let it grow fivefold under a login flood.
	gcPercent = 400
	// gcBaseLimit is the memory limit's share for everything but hashing.
	gcBaseLimit = 128 << 20
)

// gcSettings returns the collector settings serve applies: GOGC 400 and a
// soft memory limit of 128 MiB plus twice what the hashing slots can hold
// at once (each slot's argon2id memory, once in use and once as garbage
// not yet collected): 204 MiB with the defaults on 2 CPUs. An operator's
// GOGC or GOMEMLIMIT wins: each is applied only when its variable is unset.
func gcSettings(getenv func(string) string, hash password.Options) (percent int, setPercent bool, limit int64, setLimit bool) {
	mem := int64(hash.Params.Memory)
	if mem == 0 {
		mem = int64(password.DefaultParams.Memory)
	}
	limit = gcBaseLimit + 2*int64(max(hash.MaxConcurrent, 1))*mem<<10
	return gcPercent, getenv("GOGC") == "", limit, getenv("GOMEMLIMIT") == ""
}

// tuneGC applies gcSettings when the process is restauth's own, and logs
// what it chose, so that an operator sees which settings came from the
// environment.
func tuneGC(logger *slog.Logger, getenv func(string) string, hash password.Options) {
	if !ownsRuntime {
		return
	}
	percent, setPercent, limit, setLimit := gcSettings(getenv, hash)
	gogc, memLimit := "from GOGC", "from GOMEMLIMIT"
	if setPercent {
		debug.SetGCPercent(percent)
		gogc = strconv.Itoa(percent)
	}
	if setLimit {
		debug.SetMemoryLimit(limit)
		memLimit = strconv.FormatInt(limit>>20, 10) + " MiB"
	}
	logger.Debug("garbage collector", "gogc", gogc, "memory_limit", memLimit)
}
