package password

// GateStats is a snapshot of a Gate's occupancy, for monitoring.
type GateStats struct {
	Busy     int // Slots held by running computations.
	Slots    int // Computations admitted at once.
	Waiting  int // Callers waiting for a slot.
	MaxQueue int // Callers allowed to wait.
}

// Stats returns the gate's current occupancy. It only reads counters, so
// monitoring never holds up a computation.
func (g *Gate) Stats() GateStats {
	return GateStats{
		Busy: len(g.slots), Slots: cap(g.slots),
		Waiting: int(min(g.waiting.Load(), g.maxQueue)), MaxQueue: int(g.maxQueue),
	}
}

// GateStats returns the occupancy of the Hasher's admission gate.
func (h *Hasher) GateStats() GateStats { return h.gate.Stats() }
