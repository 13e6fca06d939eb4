package loadgen

import (
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets, as HdrHistogram does: each
// power of two of nanoseconds is split into subBuckets equal parts, so a
// recorded value is known to within 1/subBuckets (under 1%) at any magnitude,
// from a microsecond to minutes, in a fixed 8 KiB array and with no allocation
// per sample. Not safe for concurrent use: each worker has its own, merged at
// the end (and for the live view, under the worker's lock).
type histogram struct {
	counts [64 * subBuckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

const subBits = 7
const subBuckets = 1 << subBits

// bucketOf returns the index of d's bucket.
func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < subBuckets {
		return int(v) // exact below 128 ns
	}
	exp := bits.Len64(v) - subBits // ≥ 1
	mant := v >> (exp - 1)         // in [subBuckets, 2*subBuckets)
	return exp*subBuckets + int(mant-subBuckets)
}

// bucketValue returns the middle of bucket i's range.
func bucketValue(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	exp := i / subBuckets
	mant := uint64(i%subBuckets + subBuckets)
	lo := mant << (exp - 1)
	width := uint64(1) << (exp - 1)
	return time.Duration(lo + width/2)
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the value at or below which fraction q of the samples lie
// (the bucket's middle; the maximum for q = 1).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(q * float64(h.n))
	if rank >= h.n {
		rank = h.n - 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}

// Latency is a latency summary (what the receipt and --json show).
type Latency struct {
	P50  time.Duration `json:"-"`
	P90  time.Duration `json:"-"`
	P99  time.Duration `json:"-"`
	Max  time.Duration `json:"-"`
	Mean time.Duration `json:"-"`
}

func (h *histogram) latency() Latency {
	l := Latency{P50: h.quantile(0.50), P90: h.quantile(0.90), P99: h.quantile(0.99), Max: h.max}
	if h.n > 0 {
		l.Mean = h.sum / time.Duration(h.n)
	}
	return l
}
