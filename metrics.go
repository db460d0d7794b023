package restauth

import "time"

// LastSync returns when Sync last succeeded, the zero time before it ever
// has. How long ago that was is how far behind the revocation feed this
// instance may be: monitoring alerts on it.
func (r *RevocationSet) LastSync() time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.lastOK
}
