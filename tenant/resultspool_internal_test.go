package tenant

import (
	"fmt"
	"testing"
)

// TestResultSpoolSealFrees: sealing a spool that has a file writes the
// results still in memory to it and lets their run's memory go; one that
// never needed a file keeps its results in memory, sorted. Either way
// every result reads back.
func TestResultSpoolSealFrees(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n, run int
		held   bool
	}{
		{"on disk", 100, 30, false},
		{"in memory", 20, 30, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := NewResultSpool(t.TempDir(), tc.run)
			defer rs.Close()
			for i := range tc.n {
				r := Result{RuleID: "links.r", Section: SectionLinks, Outcome: Fail, ObjectKey: fmt.Sprintf("link:%03d", i)}
				if err := rs.Add(&r); err != nil {
					t.Fatal(err)
				}
			}
			if cap(rs.sp.mem) == 0 {
				t.Fatal("nothing held before sealing: the test shows nothing")
			}
			if err := rs.Seal(); err != nil {
				t.Fatal(err)
			}
			if held := rs.sp.mem != nil; held != tc.held {
				t.Errorf("results held in memory after Seal: %v, want %v", held, tc.held)
			}
			n := 0
			if err := rs.Each(func(string, *Result) error { n++; return nil }); err != nil || n != tc.n {
				t.Errorf("read %d results (%v), added %d", n, err, tc.n)
			}
		})
	}
}
