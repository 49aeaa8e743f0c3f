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
	st, err := store.OpenStateDir(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ref := filepath.Join("testdata", "fabrikam-review.yaml")
	b, err := baselines.Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := tenant.ReadFile(filepath.Join("testdata", "fabrikam-previous.json"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*tenant.Snapshot{prev, cur} {
		if _, err := st.RecordScan(ctx, store.ScanInput{Snapshot: s, Results: rules.Evaluate(s, b), Baseline: ref}); err != nil {
			t.Fatal(err)
		}
	}

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
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: from history %v, offline %v", c.name, c.got, c.want)
		}
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
