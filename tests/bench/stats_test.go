package main

import "testing"

func TestSummarize(t *testing.T) {
	// 1..40 shuffled: the 95th percentile by nearest rank is the 38th.
	var forty []float64
	for i := 40; i >= 1; i-- {
		forty = append(forty, float64((i*7)%40+1))
	}
	var thirty []float64
	for i := 1; i <= 30; i++ {
		thirty = append(thirty, float64(i))
	}
	tests := []struct {
		name    string
		samples []float64
		want    summary
	}{
		{"none", nil, summary{}},
		{"one", []float64{4}, summary{median: 4, p95: 4, min: 4, n: 1}},
		{"odd", []float64{5, 1, 3}, summary{median: 3, p95: 5, min: 1, n: 3}},
		{"even", []float64{4, 1, 3, 2}, summary{median: 2.5, p95: 4, min: 1, n: 4}},
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, summary{median: 5.5, p95: 10, min: 1, n: 10}},
		{"thirty", thirty, summary{median: 15.5, p95: 29, min: 1, n: 30}},
		{"forty", forty, summary{median: 20.5, p95: 38, min: 1, n: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.samples...)
			if got := summarize(tt.samples); got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.samples, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.samples[i] {
					t.Fatalf("summarize reordered its input: %v", tt.samples)
				}
			}
		})
	}
}
