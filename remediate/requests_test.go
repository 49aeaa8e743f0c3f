package remediate_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/remediate"
)

// TestEveryRequestAccepted scans fabrikam, applies every non-destructive
// fix and scans again through the strict fake: no request the collector or
// remediation sent was refused (400) by it.
func TestEveryRequestAccepted(t *testing.T) {
	r := newRig(t, remediate.Policy{Mode: remediate.ModeDryRun})
	first := r.scan()
	probe, _ := remediate.Build(first.snap, r.baseline, first.results)
	r.policy = autoFor(nonDestructive(probe)...)
	r.plan(first)
	rep := r.apply()
	if rep.Changes == 0 {
		t.Fatal("nothing was applied: the test would see no write")
	}
	r.scan()

	r.mu.Lock()
	defer r.mu.Unlock()
	methods := map[string]int{}
	for _, e := range r.exchanges {
		methods[e.Method]++
		if strings.Contains(e.URI, "ProcessQuery") && strings.Contains(string(e.Body), `"ErrorInfo":{`) {
			t.Errorf("%s %s: CSOM error %s", e.Method, e.URI, e.Body)
		}
		if e.Status == http.StatusBadRequest || e.Status == http.StatusMethodNotAllowed {
			t.Errorf("%s %s (batch %v): %d %s", e.Method, e.URI, e.Batch, e.Status, e.Body)
		}
	}
	if methods[http.MethodGet] == 0 || methods[http.MethodPatch] == 0 || methods[http.MethodPost] == 0 {
		t.Errorf("requests by method %v: want reads, Graph writes and CSOM/Exchange posts", methods)
	}
	t.Logf("%d requests, by method %v", len(r.exchanges), methods)
}
