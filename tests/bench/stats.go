package main

import (
	"math"
	"slices"
)

// summary is what the report shows of a row's samples.
type summary struct {
	median, p95, min float64
	n                int
}

// summarize computes the median (the mean of the two middle samples when n
// is even), the 95th percentile by nearest rank (the smallest sample with
// at least 95% of the samples at or below it, so the maximum when n < 20)
// and the minimum.
func summarize(samples []float64) summary {
	n := len(samples)
	if n == 0 {
		return summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	rank := int(math.Ceil(0.95 * float64(n)))
	return summary{median: median, p95: s[rank-1], min: s[0], n: n}
}
