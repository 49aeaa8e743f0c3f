package bench

import (
	"context"
	"testing"
	"time"
)

// TestAnyoneLinksScenario runs a short anyone-links scenario and checks
// what does not depend on the machine's speed: every link is recorded
// with its alert enqueued, nothing is refused, and the phases are told
// apart. The timing checks are the command's (see docs/scale.md).
func TestAnyoneLinksScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a daemon against the fake for a few seconds")
	}
	rep, err := ExecuteAnyoneLinks(context.Background(), AnyoneConfig{Links: 4, Every: 40 * time.Second, DroppedLinks: 1,
		SafetyNet: 3 * time.Minute, TimeScale: 120, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missed) != 0 {
		t.Fatalf("links without finding or alert: %v", rep.Missed)
	}
	if rep.Refused != 0 {
		t.Fatalf("refused notifications: %d", rep.Refused)
	}
	if got := rep.Notified.Count + rep.DroppedCovered.Count; got != 4 {
		t.Fatalf("first phase links measured: %d, want 4", got)
	}
	if rep.Dropped.Count != 1 || rep.LongestScanSecs <= 0 {
		t.Fatalf("safety net phase: %d links, longest scheduled scan %vs", rep.Dropped.Count, rep.LongestScanSecs)
	}
	if rep.Processings == 0 || len(rep.Checks) != 6 {
		t.Fatalf("processings %d, checks %d", rep.Processings, len(rep.Checks))
	}
	for _, c := range rep.Checks[:2] {
		if !c.OK {
			t.Errorf("check %q failed: %v %s", c.Name, c.Value, c.Limit)
		}
	}
}
