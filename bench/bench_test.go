package bench

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// TestReducedS1 runs the benchmark on an s1-shaped tenant a twentieth of
// the size, with budgets scaled so that it stays budget-bound, on a clock
// running 60 times faster, and checks the ratios (never wall time). Links
// found through the sharing groups cost about a fifth of per-item reads,
// so the SharePoint budget is low enough that the half-budget run still
// waits on the budget rather than on a loaded machine's CPU.
func TestReducedS1(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmark run")
	}
	spec := m365test.Spec{Seed: 7, Sites: 50, ItemsPerDrive: 1000, SharedPerDrive: 100, LinksPerShared: 1, Guests: 500}
	// Progress as `bench --progress` shows it: followed in each run.
	var mu sync.Mutex
	followed := map[string]scanner.ProgressTotals{}
	progress := func(run string, p *scanner.Progress) func() {
		return func() {
			mu.Lock()
			defer mu.Unlock()
			followed[run] = p.Totals(time.Now())
		}
	}
	rep, err := Execute(context.Background(), Config{Spec: &spec, Budget: 400, EntraBudget: 400, TimeScale: 60,
		Latency: 2 * time.Millisecond, Halved: true, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Runs {
		got, ok := followed[r.Name]
		if !ok || got.Done != got.Sections || got.Requests != r.Calls {
			t.Errorf("run %s: progress %+v, %d calls reported", r.Name, got, r.Calls)
		}
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
