package main

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two is split into
// 2^subBits buckets, so a recorded value is off by less than 1/2^subBits
// (0.8%) of itself, whatever its magnitude, in a fixed 30 KiB.
const (
	subBits  = 7
	subCount = 1 << subBits
	// maxShift caps the range at about 2^(maxShift+subBits+1) ns (over a
	// minute); longer latencies land in the last bucket.
	maxShift = 28
	nBuckets = (maxShift + 2) * subCount
)

// histogram records latencies in nanoseconds with bounded relative error,
// in the manner of HdrHistogram: exact below 2^(subBits+1) ns, log-linear
// above. The zero value is not usable; call newHistogram.
type histogram struct {
	counts   []uint64
	n        uint64
	min, max int64
	sum      float64
}

func newHistogram() *histogram {
	return &histogram{counts: make([]uint64, nBuckets), min: math.MaxInt64}
}

// bucket returns the index of the bucket holding v.
func bucket(v int64) int {
	if v < 0 {
		v = 0
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	if shift < 0 {
		shift = 0
	}
	if shift > maxShift {
		return nBuckets - 1
	}
	return shift*subCount + int(uint64(v)>>shift)
}

// bucketRange returns the smallest value of bucket i and its width.
func bucketRange(i int) (lo, width int64) {
	if i < 2*subCount {
		return int64(i), 1
	}
	shift := i/subCount - 1
	top := int64(i - shift*subCount)
	return top << shift, 1 << shift
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.counts[bucket(v)]++
	h.n++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0 < q <= 1) by the nearest-rank
// method: the smallest recorded value such that at least q of all values
// are at or below it, to the histogram's precision. It is 0 when empty.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			lo, w := bucketRange(i)
			// The middle of the bucket halves the worst-case error; the
			// true extremes are known exactly.
			v := lo + (w-1)/2
			return time.Duration(max(h.min, min(v, h.max)))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}
