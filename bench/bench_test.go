package bench

import (
	"context"
	"encoding/json"
	"strings"
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
	// The notification phase, short: a few links, a short safety net.
	notify := AnyoneConfig{Links: 4, Every: 40 * time.Second, DropRate: 0.25, DroppedLinks: 1, SafetyNet: 3 * time.Minute, TimeScale: 120}
	rep, err := Execute(context.Background(), Config{Spec: &spec, Budget: 400, EntraBudget: 400, TimeScale: 60,
		Latency: 2 * time.Millisecond, Halved: true, Progress: progress, Notifications: notify})
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
	n := rep.Notifications
	if n == nil {
		t.Fatal("no notification phase")
	}
	// The phase ran on this tenant and store: every drive subscribed,
	// every link recorded with its alert, the safety net measured.
	if n.Subscriptions != spec.Sites || len(n.Missed) != 0 || n.Notified.Count+n.DroppedCovered.Count != 4 || n.Dropped.Count != 1 || n.Refused != 0 {
		t.Errorf("notification phase: %d subscriptions, missed %v, %d+%d notified, %d dropped, %d refused",
			n.Subscriptions, n.Missed, n.Notified.Count, n.DroppedCovered.Count, n.Dropped.Count, n.Refused)
	}
	for _, c := range rep.Checks {
		// The phase's latencies depend on the machine's speed at this
		// size (see docs/scale.md); the command checks them.
		if strings.HasPrefix(c.Name, "notifications: ") && strings.HasSuffix(c.Name, "(s)") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			if !c.OK {
				t.Errorf("%s = %v, want %s", c.Name, c.Value, c.Limit)
			}
		})
	}
}
