package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestFabrikamTwoScans records the fabrikam fixture, then the same tenant
// with one link changed (made editable, expiry shortened): exactly one
// change, one new finding (Anyone link with edit rights), one resolved
// (Anyone link without a short expiry), everything else still open with
// last_seen moved.
func TestFabrikamTwoScans(t *testing.T) {
	const linkKey = "link:b!Tw9-od/01OD6NOTES/8e2d4b6a-1c3f-4a5e-b7d9-2f4a6c8e0b13"
	b, err := baselines.Load("recommended")
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := be.open(t, store.Options{})
			snap1, err := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
			if err != nil {
				t.Fatal(err)
			}
			res1 := rules.Evaluate(snap1, b)
			sc1, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap1, Results: res1, Baseline: "recommended"})
			if err != nil {
				t.Fatal(err)
			}
			failing := 0
			for _, r := range res1 {
				if r.Outcome == tenant.Fail && r.Exception == "" {
					failing++
				}
			}
			if sc1.FindingsNew != int64(failing) || failing == 0 {
				t.Fatalf("first scan: %d new findings for %d failures", sc1.FindingsNew, failing)
			}

			snap2, _ := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
			snap2.CollectedAt = snap1.CollectedAt.Add(time.Hour)
			changed := false
			for i := range snap2.Links {
				if snap2.Links[i].Key() == linkKey {
					snap2.Links[i].Type = tenant.LinkTypeEdit
					snap2.Links[i].Expires = tenant.Ptr(snap2.CollectedAt.Add(3 * 24 * time.Hour))
					changed = true
				}
			}
			if !changed {
				t.Fatalf("fixture has no %s", linkKey)
			}
			sc2, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap2, Results: rules.Evaluate(snap2, b), Baseline: "recommended"})
			if err != nil {
				t.Fatal(err)
			}

			cs, err := s.Changes(ctx, store.ChangeFilter{ScanID: sc2.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 || cs[0].Key != linkKey || cs[0].Kind != "modified" {
				t.Fatalf("changes = %+v", cs)
			}
			var paths []string
			for _, f := range cs[0].Fields {
				paths = append(paths, f.Path)
			}
			if !reflect.DeepEqual(paths, []string{"expires", "type"}) {
				t.Errorf("changed fields = %v", paths)
			}
			if sc2.ObjectsWritten != 1 {
				t.Errorf("objects written = %d, want 1", sc2.ObjectsWritten)
			}

			trs, err := s.Transitions(ctx, sc2.ID)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tr := range trs {
				got = append(got, string(tr.Kind)+" "+tr.Finding.RuleID+" "+tr.Finding.ObjectKey)
			}
			sort.Strings(got)
			want := []string{"new links.anyone_link_edit " + linkKey, "resolved links.anyone_link_expiry " + linkKey}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("transitions = %q\nwant %q", got, want)
			}
			// Streamed, an error from the callback stops the read and is
			// returned as it is.
			stop, calls := errors.New("stop"), 0
			if err := s.EachTransition(ctx, sc2.ID, func(*store.Transition) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("EachTransition stopped after %d calls with %v", calls, err)
			}
			if sc2.FindingsNew != 1 || sc2.FindingsResolved != 1 || sc2.FindingsOpen != sc1.FindingsOpen {
				t.Errorf("counters new=%d resolved=%d open=%d (first open=%d)", sc2.FindingsNew, sc2.FindingsResolved, sc2.FindingsOpen, sc1.FindingsOpen)
			}
			fs, err := s.FindingsList(ctx, store.FindingFilter{Tenant: snap1.Tenant})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				switch {
				case f.RuleID == "links.anyone_link_expiry" && f.ObjectKey == linkKey:
					if f.State != store.FindingResolved {
						t.Errorf("%s %s: state %s", f.RuleID, f.ObjectKey, f.State)
					}
				default:
					if f.State != store.FindingOpen || !f.LastSeen.Equal(snap2.CollectedAt) {
						t.Errorf("%s %s: state %s last seen %v", f.RuleID, f.ObjectKey, f.State, f.LastSeen)
					}
				}
			}
		})
	}
}

// TestFabrikamSitesIncomplete: with the sites section incomplete, the rules
// that read site labels give one rule-wide unknown each, and the store
// holds their findings (per-link findings of a complete links section
// among them): nothing is resolved or rewritten, last_seen stays.
func TestFabrikamSitesIncomplete(t *testing.T) {
	b, err := baselines.Load("recommended")
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := be.open(t, store.Options{})
			snap1, err := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap1, Results: rules.Evaluate(snap1, b), Baseline: "recommended"}); err != nil {
				t.Fatal(err)
			}
			before, err := s.FindingsList(ctx, store.FindingFilter{Tenant: snap1.Tenant})
			if err != nil {
				t.Fatal(err)
			}

			snap2, _ := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
			snap2.CollectedAt = snap1.CollectedAt.Add(time.Hour)
			snap2.Status[tenant.SectionSites] = tenant.SectionStatus{State: tenant.StatePartial, Error: "site properties page 2 timed out"}
			res2 := rules.Evaluate(snap2, b)
			wide := map[string]bool{}
			for _, r := range res2 {
				if r.Blocks() {
					wide[r.RuleID] = true
				}
			}
			if !wide["links.anyone_on_confidential"] {
				t.Fatalf("links.anyone_on_confidential is not rule-wide unknown with sites partial (rule-wide: %v)", wide)
			}
			sc2, err := s.RecordScan(ctx, store.ScanInput{Snapshot: snap2, Results: res2, Baseline: "recommended"})
			if err != nil {
				t.Fatal(err)
			}
			if sc2.FindingsResolved != 0 || sc2.FindingsReopened != 0 {
				t.Errorf("resolved %d, reopened %d, want none", sc2.FindingsResolved, sc2.FindingsReopened)
			}
			after, err := s.FindingsList(ctx, store.FindingFilter{Tenant: snap1.Tenant})
			if err != nil {
				t.Fatal(err)
			}
			byFP := map[string]store.Finding{}
			for _, f := range after {
				byFP[f.Fingerprint] = f
			}
			held := 0
			for _, f := range before {
				if !wide[f.RuleID] {
					continue
				}
				held++
				if !reflect.DeepEqual(byFP[f.Fingerprint], f) {
					t.Errorf("%s %s changed:\n%+v\nwas\n%+v", f.RuleID, f.ObjectKey, byFP[f.Fingerprint], f)
				}
			}
			if held == 0 {
				t.Fatal("fixture has no finding of a rule that reads sites")
			}
		})
	}
}
