package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// TestReducedS1 runs the benchmark on an s1-shaped tenant a twentieth of
// the size, with budgets scaled so that it stays budget-bound, on a clock
// running 60 times faster, and checks the ratios (never wall time).
func TestReducedS1(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark run")
	}
	spec := m365test.Spec{Seed: 7, Sites: 50, ItemsPerDrive: 1000, SharedPerDrive: 100, LinksPerShared: 1, Guests: 500}
	rep, err := Execute(context.Background(), Config{Spec: &spec, Budget: 1200, EntraBudget: 400, TimeScale: 60,
		Latency: 2 * time.Millisecond, Halved: true})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("%s", b)
	for _, c := range rep.Checks {
		t.Run(c.Name, func(t *testing.T) {
			if !c.OK {
				t.Errorf("%s = %v, want %s", c.Name, c.Value, c.Limit)
			}
		})
	}
}
