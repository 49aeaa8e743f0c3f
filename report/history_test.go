package report

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestFromStoreMatchesOffline records fabrikam's previous and current
// snapshots in an SQLite store and checks that the report read back from
// history says what the offline report of the same two snapshots says.
func TestFromStoreMatchesOffline(t *testing.T) {
	ctx := context.Background()
	st, b, ref, prev, cur := fabrikamHistory(t)
	now := cur.CollectedAt.Add(time.Hour)
	hist, err := FromStore(ctx, st, cur.Tenant, cur.CollectedAt.AddDate(0, 0, -15), now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	off, err := Offline(cur, prev, b, ref)
	if err != nil {
		t.Fatal(err)
	}
	hv, err := build(hist)
	if err != nil {
		t.Fatal(err)
	}
	ov, err := build(off)
	if err != nil {
		t.Fatal(err)
	}

	statuses := func(v *view) map[string]tenant.Outcome {
		m := map[string]tenant.Outcome{}
		for _, r := range v.Rules {
			if r.Status != tenant.NotApplicable {
				m[r.Info.ID] = r.Status
			}
		}
		return m
	}
	if got, want := statuses(hv), statuses(ov); !reflect.DeepEqual(got, want) {
		t.Errorf("rule statuses from history %v, offline %v", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"score", scoreText(hv.Summary.Score), scoreText(ov.Summary.Score)},
		{"previous score", scoreText(hv.Summary.PreviousScore), scoreText(ov.Summary.PreviousScore)},
		{"result counts", hv.Summary.Results, ov.Summary.Results},
		{"new failing", hv.Summary.NewFails, ov.Summary.NewFails},
		{"changes", hv.Timeline.Total, ov.Timeline.Total},
		{"anyone links", hv.Links.Anyone, ov.Links.Anyone},
		{"links by site", hv.Links.BySite, ov.Links.BySite},
		{"guest flags", hv.Guests.Flags, ov.Guests.Flags},
		{"calendar", hv.Calendar, ov.Calendar},
		{"exceptions", len(hv.Exceptions), len(ov.Exceptions)},
		{"coverage", hv.CompleteSections(), ov.CompleteSections()},
		{"top risks", jsonRisks(hv.Exec.TopRisks), jsonRisks(ov.Exec.TopRisks)},
		{"fixed", jsonRisks(hv.Exec.Fixed), jsonRisks(ov.Exec.Fixed)},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: from history %v, offline %v", c.name, c.got, c.want)
		}
	}
	// The trend chart reads every recorded scan: the previous scan's score
	// and the current one, oldest first.
	if len(hist.Trend) != 2 || scoreText(hist.Trend[0].Score) != scoreText(ov.Summary.PreviousScore) ||
		scoreText(hist.Trend[1].Score) != scoreText(ov.Summary.Score) || hist.Trend[1].Failing != ov.Summary.ScoreDetail.Failing {
		t.Errorf("trend = %+v, want previous %s then current %s with %d failing", hist.Trend,
			scoreText(ov.Summary.PreviousScore), scoreText(ov.Summary.Score), ov.Summary.ScoreDetail.Failing)
	}
	if len(hv.Exec.TopRisks) == 0 || hv.Exec.TopRisks[0].RuleID != rules.IDLinksAnyoneOnConfidential || hv.Exec.TopRisks[0].URL == "" {
		t.Errorf("top risk from history = %+v, want the Anyone link on confidential content with its address", hv.Exec.TopRisks)
	}
	for _, f := range Formats {
		if err := Render(&bytes.Buffer{}, f, hist); err != nil {
			t.Errorf("render %s from history: %v", f, err)
		}
	}

	if _, err := FromStore(ctx, st, "nobody.example", now.AddDate(0, 0, -30), now, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("report of an unknown tenant: no error")
	}
}

// fabrikamHistory records fabrikam's previous and current snapshots,
// evaluated against the review baseline, in an SQLite store closed at the
// end of the test.
func fabrikamHistory(t *testing.T) (st store.Store, b *baselines.Baseline, ref string, prev, cur *tenant.Snapshot) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenStateDir(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ref = filepath.Join("testdata", "fabrikam-review.yaml")
	if b, err = baselines.Load(ref); err != nil {
		t.Fatal(err)
	}
	if prev, err = tenant.ReadFile(filepath.Join("testdata", "fabrikam-previous.json")); err != nil {
		t.Fatal(err)
	}
	if cur, err = tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*tenant.Snapshot{prev, cur} {
		if _, err := st.RecordScan(ctx, store.ScanInput{Snapshot: s, Results: rules.Evaluate(s, b), Baseline: ref}); err != nil {
			t.Fatal(err)
		}
	}
	return st, b, ref, prev, cur
}

// rollupStore is fabrikamHistory with a second tenant recorded once.
func rollupStore(t *testing.T) store.Store {
	t.Helper()
	st, b, ref, _, _ := fabrikamHistory(t)
	other, err := tenant.ReadFile(filepath.Join("testdata", "fabrikam-previous.json"))
	if err != nil {
		t.Fatal(err)
	}
	other.Tenant, other.TenantID = "contoso.onmicrosoft.com", "11111111-2222-4333-8444-555555555555"
	if _, err := st.RecordScan(context.Background(), store.ScanInput{Snapshot: other, Results: rules.Evaluate(other, b), Baseline: ref}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRollup(t *testing.T) {
	ctx := context.Background()
	st := rollupStore(t)
	now := time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)
	r, err := BuildRollup(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Tenants) != 2 {
		t.Fatalf("tenants = %d, want 2", len(r.Tenants))
	}
	fab, con := r.Tenants[0], r.Tenants[1]
	if fab.Tenant != "fabrikam.onmicrosoft.com" || con.Tenant != "contoso.onmicrosoft.com" {
		t.Fatalf("order = %s, %s; want fabrikam (a critical failure) first", fab.Tenant, con.Tenant)
	}
	hist, err := FromStore(ctx, st, fab.Tenant, now.AddDate(0, 0, -30), now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hv, err := build(hist)
	if err != nil {
		t.Fatal(err)
	}
	if scoreText(fab.Score) != scoreText(hv.Summary.Score) || scoreText(fab.PreviousScore) != scoreText(hv.Summary.PreviousScore) {
		t.Errorf("fabrikam rollup score %s (was %s), report says %s (was %s)", scoreText(fab.Score), scoreText(fab.PreviousScore),
			scoreText(hv.Summary.Score), scoreText(hv.Summary.PreviousScore))
	}
	for _, sev := range severitiesDesc {
		if fab.Failing[string(sev)] != hv.Summary.FailBySeverity[sev] {
			t.Errorf("fabrikam %s failing: rollup %d, report %d", sev, fab.Failing[string(sev)], hv.Summary.FailBySeverity[sev])
		}
	}
	if fab.Scans != 2 || len(fab.Trend) != 2 || con.Scans != 1 || con.PreviousScore != nil || con.LastScan == nil {
		t.Errorf("scans: fabrikam %d (trend %d), contoso %d (previous %v, last %v)", fab.Scans, len(fab.Trend), con.Scans, con.PreviousScore, con.LastScan)
	}
	if r.Totals.Failing["critical"] != fab.Failing["critical"]+con.Failing["critical"] {
		t.Errorf("totals %v do not add up", r.Totals.Failing)
	}
	for _, f := range []Format{FormatHTML, FormatMarkdown, FormatJSON} {
		var buf bytes.Buffer
		if err := RenderRollup(&buf, f, r); err != nil {
			t.Errorf("render rollup %s: %v", f, err)
		}
		if !bytes.Contains(buf.Bytes(), []byte("contoso.onmicrosoft.com")) {
			t.Errorf("rollup %s lacks a tenant", f)
		}
	}
	if err := RenderRollup(&bytes.Buffer{}, FormatCSV, r); err == nil {
		t.Error("rollup as CSV: no error")
	}
}
