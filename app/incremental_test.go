package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// scanCalls runs one daemon scan and returns it with the requests the
// fake tenant received meanwhile, by endpoint key.
func scanCalls(t *testing.T, svc *Service, fake *m365test.Server) (store.Scan, map[string]int) {
	t.Helper()
	ctx := context.Background()
	before := fake.Calls()
	var res daemon.ScanResult
	var err error
	// Slots are whole seconds: a scan in the same second as the previous
	// one waits for the next.
	for range 30 {
		if res, err = svc.Daemon.ScanNow(ctx, "fabrikam"); !errors.Is(err, daemon.ErrBusy) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	sc, err := svc.Store.Scan(ctx, res.ScanID)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for k, v := range fake.Calls() {
		if d := v - before[k]; d > 0 {
			calls[k] = d
		}
	}
	return sc, calls
}

func countCalls(calls map[string]int, substr string) int {
	n := 0
	for k, v := range calls {
		if strings.Contains(k, substr) {
			n += v
		}
	}
	return n
}

func linkTokens(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range []string{"b!Qx1-fin", "b!Rt7-mktg", "b!Sv3-sales", "b!Tw9-od"} {
		tok, err := st.DeltaToken(context.Background(), "fabrikam", "links/drive/"+d)
		if err != nil {
			t.Fatal(err)
		}
		out[d] = tok
	}
	return out
}

func activeLinkFindings(t *testing.T, st store.Store) map[string]bool {
	t.Helper()
	fs, err := st.FindingsList(context.Background(), store.FindingFilter{Tenant: "fabrikam", Section: tenant.SectionLinks,
		States: []store.FindingState{store.FindingOpen}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fs {
		out[f.ObjectKey+" "+f.RuleID] = true
	}
	return out
}

// TestIncrementalDaemonScans: the daemon's second scan of an unchanged
// tenant reads drive deltas only, a new link is found incrementally, a
// failed links section neither advances the tokens nor resolves link
// findings, and the next good scan catches up.
func TestIncrementalDaemonScans(t *testing.T) {
	ctx := context.Background()
	svc, err := Open(ctx, fabrikamConfig(t, t.TempDir()), ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	fake := fakeOf(svc.Pipeline, "fabrikam")
	client := svc.Pipeline.Client("fabrikam")

	first, calls := scanCalls(t, svc, fake)
	if first.Status != store.ScanComplete || countCalls(calls, "/permissions") == 0 {
		t.Fatalf("first scan: %s, calls %v", first.Status, calls)
	}
	toks := linkTokens(t, svc.Store)
	for d, tok := range toks {
		if tok == "" {
			t.Fatalf("no delta token stored for drive %s", d)
		}
	}

	unchanged, calls := scanCalls(t, svc, fake)
	if unchanged.Status != store.ScanComplete || unchanged.Changes != 0 || unchanged.ObjectsWritten != 0 {
		t.Errorf("unchanged re-scan: status %s, %d changes, %d objects written", unchanged.Status, unchanged.Changes, unchanged.ObjectsWritten)
	}
	if n := countCalls(calls, "/permissions"); n != 0 {
		t.Errorf("unchanged re-scan: %d permission calls, want 0 (%v)", n, calls)
	}
	if n := countCalls(calls, "/root/delta"); n != len(toks) {
		t.Errorf("unchanged re-scan: %d drive delta calls, want one per drive (%d)", n, len(toks))
	}
	if unchanged.FindingsResolved != 0 || unchanged.FindingsOpen != first.FindingsOpen {
		t.Errorf("unchanged re-scan: %d resolved, %d open; first scan had %d open", unchanged.FindingsResolved, unchanged.FindingsOpen, first.FindingsOpen)
	}

	// Someone shares an item with an Anyone link without expiry.
	const item = "/drives/b!Rt7-mktg/items/01MKTG2BRANDKIT/permissions"
	var created struct {
		ID string `json:"id"`
	}
	perm := map[string]any{"roles": []string{"write"}, "link": map[string]any{"scope": "anonymous", "type": "edit",
		"webUrl": "https://fabrikam.sharepoint.com/:u:/s/Marketing/EeNew"}}
	if err := client.GraphWrite(ctx, http.MethodPost, "v1.0", item, perm, &created); err != nil || created.ID == "" {
		t.Fatalf("add a link: %v (id %q)", err, created.ID)
	}
	key := "link:b!Rt7-mktg/01MKTG2BRANDKIT/" + created.ID
	changed, calls := scanCalls(t, svc, fake)
	if n := countCalls(calls, "/permissions"); n != 1 {
		t.Errorf("re-scan after one change: %d permission calls, want 1 (%v)", n, calls)
	}
	if changed.Status != store.ScanComplete || changed.Changes != 1 {
		t.Errorf("re-scan after a new link: status %s, %d changes, want 1", changed.Status, changed.Changes)
	}
	if changed.FindingsNew == 0 || changed.FindingsResolved != 0 {
		t.Errorf("re-scan after a new Anyone link: %d new, %d resolved findings", changed.FindingsNew, changed.FindingsResolved)
	}
	found := false
	for k := range activeLinkFindings(t, svc.Store) {
		found = found || strings.HasPrefix(k, key+" ")
	}
	if !found {
		t.Fatalf("no open finding on %s: %v", key, activeLinkFindings(t, svc.Store))
	}
	toks = linkTokens(t, svc.Store)
	openBefore := activeLinkFindings(t, svc.Store)

	// The link goes again, but the links section fails: nothing of it may
	// be taken for a removal, and its tokens stay.
	if err := client.GraphWrite(ctx, http.MethodDelete, "v1.0", item+"/"+created.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	fake.Faults.Add("GET /v1.0/drives/*Rt7-mktg/root/delta", m365test.Fault{Status: http.StatusForbidden})
	failed, _ := scanCalls(t, svc, fake)
	if failed.Sections[tenant.SectionLinks].State == tenant.StateComplete {
		t.Fatalf("links section complete despite the fault: %+v", failed.Sections[tenant.SectionLinks])
	}
	if failed.FindingsResolved != 0 {
		t.Errorf("scan with a failed links section resolved %d findings", failed.FindingsResolved)
	}
	if got := linkTokens(t, svc.Store); !mapsEqual(got, toks) {
		t.Errorf("a failed links section advanced the drive tokens:\n before %v\n after  %v", toks, got)
	}
	if got := activeLinkFindings(t, svc.Store); !mapsEqual(got, openBefore) {
		t.Errorf("open link findings changed with a failed links section:\n before %v\n after  %v", openBefore, got)
	}

	fake.Faults.Clear()
	recovered, calls := scanCalls(t, svc, fake)
	if recovered.Status != store.ScanComplete || recovered.FindingsResolved == 0 || recovered.Changes != 1 {
		t.Errorf("recovered scan: status %s, %d resolved, %d changes (want 1)", recovered.Status, recovered.FindingsResolved, recovered.Changes)
	}
	if n := countCalls(calls, "/permissions"); n != 1 {
		t.Errorf("recovered scan: %d permission calls, want 1 (%v)", n, calls)
	}
	for k := range activeLinkFindings(t, svc.Store) {
		if strings.HasPrefix(k, key+" ") {
			t.Errorf("finding %s still open after the link was removed", k)
		}
	}
}

// TestFullScanEvery: when full_scan_every has passed, the next scan reads
// everything again.
func TestFullScanEvery(t *testing.T) {
	ctx := context.Background()
	cfg := fabrikamConfig(t, t.TempDir())
	tc := cfg.Tenants["fabrikam"]
	tc.FullScanEvery = config.Duration(time.Millisecond)
	cfg.Tenants["fabrikam"] = tc
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	fake := fakeOf(svc.Pipeline, "fabrikam")
	_, first := scanCalls(t, svc, fake)
	second, calls := scanCalls(t, svc, fake)
	if second.Status != store.ScanComplete || second.Changes != 0 {
		t.Errorf("second scan: status %s, %d changes", second.Status, second.Changes)
	}
	if a, b := countCalls(first, "/permissions"), countCalls(calls, "/permissions"); a == 0 || a != b {
		t.Errorf("full re-scan read %d permissions, the first scan %d", b, a)
	}
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
