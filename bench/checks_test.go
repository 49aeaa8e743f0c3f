package bench

import "testing"

// The memory target applies to s2 only, covers every run, and an
// unreadable resident set (0) does not pass it.
func TestRSSCheck(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name  string
		size  string
		rss   []int64
		found bool
		ok    bool
	}{
		{"s2 within", "s2", []int64{200 * mib, 256 * mib}, true, true},
		{"s2 one run over", "s2", []int64{200 * mib, 257 * mib, 100 * mib}, true, false},
		{"s2 unreadable", "s2", []int64{0, 0}, true, false},
		{"s1 has no memory target", "s1", []int64{900 * mib}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Size: tc.size}
			for _, r := range tc.rss {
				rep.Runs = append(rep.Runs, Run{Name: "x", PeakRSSBytes: r})
			}
			var got *Check
			for _, c := range checks(rep) {
				if c.Name == "s2: peak RSS MiB" {
					got = &c
				}
			}
			if (got != nil) != tc.found {
				t.Fatalf("RSS check present = %v, want %v", got != nil, tc.found)
			}
			if got != nil && got.OK != tc.ok {
				t.Errorf("RSS check %+v, want ok = %v", *got, tc.ok)
			}
		})
	}
}
