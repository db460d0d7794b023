package token

// CacheStats counts the lookups of a Verifier's cache of verified tokens.
type CacheStats struct {
	Hits    uint64 // Tokens found verified in the cache.
	Misses  uint64 // Tokens verified afresh (absent or expired).
	Entries int    // Tokens held now.
}

// CacheStats returns the cache's counters; all zero when the cache is
// disabled. The counters are kept per shard, so reading them sums the
// shards without stopping any lookup.
func (v *Verifier) CacheStats() CacheStats {
	var s CacheStats
	if v.cache == nil {
		return s
	}
	for i := range v.cache.shards {
		sh := &v.cache.shards[i]
		s.Hits += sh.hits.Load()
		s.Misses += sh.misses.Load()
	}
	s.Entries = v.cache.len()
	return s
}
