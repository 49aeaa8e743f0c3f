package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

func autoConfig(t *testing.T, extra map[string]any) *config.Config {
	t.Helper()
	fixture, err := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	if err != nil {
		t.Fatal(err)
	}
	ov := map[string]any{
		"store.state_dir":           t.TempDir(),
		"http.tokens":               []any{map[string]any{"name": "r", "scope": "read", "secret": "env:TOK"}},
		"tenants.fabrikam.fixture":  fixture,
		"tenants.fabrikam.baseline": "recommended",
		"tenants.fabrikam.schedule": "@every 1h",
		"tenants.fabrikam.remediation": map[string]any{
			"mode": "auto", "max_changes": 500, "grace_period": "72h",
		},
	}
	for k, v := range extra {
		ov[k] = v
	}
	cfg, err := config.Load(config.Options{Env: []string{"TOK=read-token-0123456789"}, Overrides: ov, RequireTenants: true})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestAutoRemediationInDaemon: with the tenant in auto mode, the scan's
// post-scan step plans and applies the non-destructive fixes through the
// fake tenant, holds the destructive ones, and the next scan resolves
// every finding whose fix was applied.
func TestAutoRemediationInDaemon(t *testing.T) {
	ctx := context.Background()
	cfg := autoConfig(t, nil)
	if g := PolicyFor(cfg.Tenants["fabrikam"]).GracePeriod.Hours(); g != 72 {
		t.Fatalf("grace period from config: %vh, want 72h", g)
	}
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()

	first, err := svc.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	applied, err := svc.Remediation.Plans(ctx, "fabrikam", store.RemediationApplied)
	if err != nil {
		t.Fatal(err)
	}
	fixed := map[string]string{}
	for _, pr := range applied {
		deferred := false
		for _, op := range pr.Plan.Ops {
			deferred = deferred || op.Deferred
		}
		if !deferred {
			fixed[pr.Plan.Fingerprint] = pr.Plan.RuleID
		}
	}
	if len(fixed) < 20 {
		t.Fatalf("%d plans applied in auto mode, want at least 20 of fabrikam's %d findings", len(fixed), first.Fails)
	}
	// Destructive steps never run in auto mode without an allowance.
	hist, err := svc.Remediation.History(ctx, "fabrikam", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		if (h.Action == remediate.ActionDeleteGuest || h.Action == remediate.ActionRemoveOrgRelationship) && h.State == store.RemediationApplied {
			t.Errorf("destructive %s of %s applied in auto mode", h.Action, h.ObjectKey)
		}
	}

	second, err := svc.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	trs, err := svc.Store.Transitions(ctx, second.ScanID)
	if err != nil {
		t.Fatal(err)
	}
	resolved := map[string]bool{}
	for _, tr := range trs {
		switch tr.Kind {
		case store.TransitionResolved:
			resolved[tr.Finding.Fingerprint] = true
		case store.TransitionNew:
			t.Errorf("remediation created a new finding: %s %s", tr.Finding.RuleID, tr.Finding.ObjectKey)
		}
	}
	for fp, rule := range fixed {
		if !resolved[fp] {
			t.Errorf("finding %s of %s was fixed but the next scan did not resolve it", fp[:12], rule)
		}
	}
	if second.Fails >= first.Fails || second.Fails == 0 {
		t.Errorf("fails: first scan %d, second %d; want fewer but not zero (destructive fixes wait)", first.Fails, second.Fails)
	}

	t.Logf("fails %d -> %d; %d fixes applied and resolved", first.Fails, second.Fails, len(fixed))
	// The remediation API is served, and the runs are counted.
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	for path, want := range map[string]string{
		"/api/v1/tenants/fabrikam/remediation/plans?state=applied": `"state": "applied"`,
		"/metrics": `sharedrift_remediations_total{result="applied",rule=`,
	} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer read-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}

// TestDryRunRecordsPlansOnly: the default policy records plans and changes
// nothing.
func TestDryRunRecordsPlansOnly(t *testing.T) {
	ctx := context.Background()
	cfg := autoConfig(t, map[string]any{"tenants.fabrikam.remediation": map[string]any{}})
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	first, err := svc.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	planned, err := svc.Remediation.Plans(ctx, "fabrikam", store.RemediationPlanned)
	if err != nil {
		t.Fatal(err)
	}
	if len(planned) == 0 {
		t.Fatal("dry-run recorded no plans")
	}
	hist, err := svc.Remediation.History(ctx, "fabrikam", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		if h.Action != remediate.ActionPlan {
			t.Errorf("dry-run attempted %s on %s", h.Action, h.ObjectKey)
		}
	}
	second, err := svc.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	if second.Fails != first.Fails {
		t.Errorf("fails changed from %d to %d in dry-run", first.Fails, second.Fails)
	}
}

// TestApprovalAppliesFix: in approve mode nothing changes until a person
// approves; an approval through the API starts a run that applies it.
func TestApprovalAppliesFix(t *testing.T) {
	ctx := context.Background()
	cfg := autoConfig(t, map[string]any{
		"http.tokens":                  []any{map[string]any{"name": "a", "scope": "admin", "secret": "env:TOK"}},
		"tenants.fabrikam.remediation": map[string]any{"mode": "dry-run", "rules": map[string]any{"sharepoint.guest_resharing": "approve"}},
	})
	svc, err := Open(ctx, cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	var fp string
	planned, err := svc.Remediation.Plans(ctx, "fabrikam", store.RemediationPlanned)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range planned {
		if pr.Plan.RuleID == "sharepoint.guest_resharing" {
			fp = pr.Plan.Fingerprint
		}
	}
	if fp == "" {
		t.Fatal("no plan for sharepoint.guest_resharing")
	}
	srv := httptest.NewServer(svc.Handler)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tenants/fabrikam/remediation/plans/"+fp+"/approve", strings.NewReader(`{"by":"alice"}`))
	req.Header.Set("Authorization", "Bearer read-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	svc.Remediation.Wait()
	applied, err := svc.Remediation.Plans(ctx, "fabrikam", store.RemediationApplied)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0].Plan.Fingerprint != fp || applied[0].ApprovedBy != "api:alice" {
		t.Fatalf("applied after approval: %+v", applied)
	}
	res, err := svc.Daemon.ScanNow(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	f, err := svc.Store.Finding(ctx, "fabrikam", fp)
	if err != nil {
		t.Fatal(err)
	}
	if f.Active() {
		t.Errorf("finding still %s after the approved fix (scan %d)", f.State, res.ScanID)
	}
}

// TestAfterScanPlansNothingFromUnknowns: the post-scan step plans no fix
// from an unknown result, nor from the failures of a rule that also gave a
// rule-wide unknown (judged on incomplete data); a plain failure next to
// them is planned.
func TestAfterScanPlansNothingFromUnknowns(t *testing.T) {
	ctx := context.Background()
	cfg := autoConfig(t, map[string]any{"tenants.fabrikam.remediation": map[string]any{"mode": "dry-run"}})
	tc := cfg.Tenants["fabrikam"]
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sharedrift.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := newRemediations([]config.Tenant{tc}, remediationDeps{store: st,
		target: func(string) (remediate.Target, error) { return nil, errors.New("no tenant to change in this test") },
		clock:  func(string) time.Time { return storetest.T0 }, log: newJSONLogger(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()

	snap := storetest.Snapshot(storetest.T0)
	snap.Tenant = tc.Name
	snap.Links[0].Scope = tenant.LinkScopeAnonymous
	link := func(i int) string { return snap.Links[i].Key() }
	const anyone, conf = "links.anyone_link", "links.anyone_on_confidential"
	results := []tenant.Result{
		{RuleID: anyone, Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityHigh, ObjectKey: link(0)},
		{RuleID: anyone, Section: tenant.SectionLinks, Outcome: tenant.Unknown, Severity: tenant.SeverityHigh, ObjectKey: link(1)},
		{RuleID: conf, Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityCritical, ObjectKey: link(2)},
		{RuleID: conf, Section: tenant.SectionLinks, Outcome: tenant.Unknown, Severity: tenant.SeverityCritical, ObjectKey: "links:tenant",
			RuleWide: true, Message: "sites incomplete"},
	}
	sp := tenant.NewResultSpool(t.TempDir(), 2)
	defer sp.Close()
	for i := range results {
		if err := sp.Add(&results[i]); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := st.RecordScan(ctx, store.ScanInput{Snapshot: snap, ResultSet: sp})
	if err != nil {
		t.Fatal(err)
	}
	b, err := baselines.Load("recommended")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AfterScan(ctx, Recorded{Tenant: tc, Scan: sc, Snapshot: snap, Results: sp, Baseline: b}); err != nil {
		t.Fatal(err)
	}
	prs, err := r.Plans(ctx, tc.Name)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pr := range prs {
		got = append(got, pr.Plan.RuleID+" "+pr.Plan.ObjectKey)
	}
	if want := []string{anyone + " " + link(0)}; !slices.Equal(got, want) {
		t.Errorf("plans %v, want only %v", got, want)
	}
}
