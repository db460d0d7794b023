package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted values.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() int64
	}{
		{"exact range", func() int64 { return rng.Int64N(200) }},
		{"uniform µs to ms", func() int64 { return 1000 + rng.Int64N(5_000_000) }},
		{"log-normal around 300µs", func() int64 { return int64(300_000 * math.Exp(rng.NormFloat64())) }},
		{"bimodal with a slow tail", func() int64 {
			if rng.IntN(100) == 0 {
				return 50_000_000 + rng.Int64N(10_000_000)
			}
			return 200_000 + rng.Int64N(100_000)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHistogram()
			vals := make([]int64, 100_000)
			for i := range vals {
				vals[i] = tc.gen()
				h.record(time.Duration(vals[i]))
			}
			slices.Sort(vals)
			for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := int64(h.quantile(q)), exactQuantile(vals, q)
				// Half a bucket either way: under 1/2^subBits of the value.
				if diff := math.Abs(float64(got - want)); diff > float64(want)/subCount+1 {
					t.Errorf("quantile(%v) = %d, want %d within %.2f%%", q, got, want, 100.0/subCount)
				}
			}
			if h.n != uint64(len(vals)) || h.min != vals[0] || h.max != vals[len(vals)-1] {
				t.Errorf("n, min, max = %d, %d, %d; want %d, %d, %d", h.n, h.min, h.max, len(vals), vals[0], vals[len(vals)-1])
			}
		})
	}
}

func TestHistogramBuckets(t *testing.T) {
	// Every value falls in a bucket whose range holds it, and buckets are
	// contiguous and increasing.
	prevHi := int64(0)
	for i := 0; i < nBuckets-1; i++ {
		lo, w := bucketRange(i)
		if lo != prevHi {
			t.Fatalf("bucket %d starts at %d, want %d (contiguous)", i, lo, prevHi)
		}
		for _, v := range []int64{lo, lo + w - 1} {
			if got := bucket(v); got != i {
				t.Fatalf("bucket(%d) = %d, want %d", v, got, i)
			}
		}
		prevHi = lo + w
	}
	if got := bucket(math.MaxInt64); got != nBuckets-1 {
		t.Errorf("bucket(MaxInt64) = %d, want the last bucket %d", got, nBuckets-1)
	}
	if got := bucket(-5); got != 0 {
		t.Errorf("bucket(-5) = %d, want 0", got)
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	empty := newHistogram()
	if q, m := empty.quantile(0.99), empty.mean(); q != 0 || m != 0 {
		t.Errorf("empty quantile, mean = %v, %v; want 0, 0", q, m)
	}
	a, b, all := newHistogram(), newHistogram(), newHistogram()
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		if i%3 == 0 {
			a.record(d)
		} else {
			b.record(d)
		}
		all.record(d)
	}
	a.merge(b)
	a.merge(empty)
	for _, q := range []float64{0.5, 0.99, 1} {
		if got, want := a.quantile(q), all.quantile(q); got != want {
			t.Errorf("merged quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if a.n != all.n || a.min != all.min || a.max != all.max || a.mean() != all.mean() {
		t.Errorf("merged n, min, max, mean = %d %d %d %v; want %d %d %d %v", a.n, a.min, a.max, a.mean(), all.n, all.min, all.max, all.mean())
	}
	one := newHistogram()
	one.record(1234567 * time.Nanosecond)
	if got := one.quantile(0.5); got != 1234567 {
		t.Errorf("single value quantile = %d, want 1234567 (clamped to min and max)", got)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5}, 5},
		{[]time.Duration{9, 1, 5}, 5},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds.
	}
	for _, tc := range tests {
		in := slices.Clone(tc.in)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("median modified its input: %v, want %v", tc.in, in)
		}
	}
}
