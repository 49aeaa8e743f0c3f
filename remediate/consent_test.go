package remediate_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// exampleEnv supplies every env:VAR the shipped examples reference.
var exampleEnv = []string{
	"SHAREDRIFT_DSN=postgres://sharedrift:pw@db:5432/sharedrift",
	"SHAREDRIFT_ADMIN_TOKEN=admin-token", "SHAREDRIFT_READ_TOKEN=read-token",
	"CONTOSO_CLIENT_SECRET=s", "SLACK_BOT_TOKEN=xoxb-1", "SLACK_SIGNING_SECRET=sig",
	"SOC_WEBHOOK_SECRET=0123456789abcdef0123", "CONTOSO_PFX_PASSWORD=pfx", "FABRIKAM_CLIENT_SECRET=f",
}

// shippedExamples loads every example configuration shipped with the
// project: deploy/config/*.yaml and the yaml blocks of the docs and README
// that are whole configurations.
func shippedExamples(t *testing.T) map[string]*config.Config {
	t.Helper()
	for _, kv := range exampleEnv {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	files, _ := filepath.Glob(filepath.Join("..", "deploy", "config", "*.yaml"))
	for _, doc := range []string{"README.md", filepath.Join("docs", "configuration.md"), filepath.Join("docs", "remediation.md")} {
		b, err := os.ReadFile(filepath.Join("..", doc))
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(b, -1) {
			if !strings.Contains(string(m[1]), "tenants:") {
				continue // a fragment, not a configuration
			}
			p := filepath.Join(t.TempDir(), strings.ReplaceAll(doc, string(filepath.Separator), "_")+"-"+string(rune('a'+i))+".yaml")
			if err := os.WriteFile(p, m[1], 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
	}
	out := map[string]*config.Config{}
	for _, f := range files {
		cfg, err := config.Load(config.Options{File: f, Env: exampleEnv, RequireTenants: true,
			ReadFile: func(p string) ([]byte, error) { return []byte("secret for " + p + "\n"), nil }})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = cfg
	}
	if len(out) < 3 {
		t.Fatalf("only %d example configurations found", len(out))
	}
	return out
}

// deletions counts the deleting calls the fake tenant received.
func (r *rig) deletions() int {
	n := 0
	for k, v := range r.fake.Calls() {
		if strings.HasPrefix(k, "DELETE ") || strings.HasPrefix(k, "EXO Remove-") {
			n += v
		}
	}
	return n
}

// TestShippedExamplesDeleteNothingUnderAuto runs every tenant of every
// shipped example with every rule in auto mode against fabrikam, through
// the first run and the deferred steps after the grace period: nothing is
// deleted, because no example lists a rule in allow_destructive; the
// deletions wait for a person instead. Anyone links get an expiry.
func TestShippedExamplesDeleteNothingUnderAuto(t *testing.T) {
	for name, cfg := range shippedExamples(t) {
		for tn, tc := range cfg.Tenants {
			t.Run(name+"/"+tn, func(t *testing.T) {
				if len(tc.Remediation.AllowDestructive) > 0 {
					t.Fatalf("shipped example allows destructive steps: %v", tc.Remediation.AllowDestructive)
				}
				pol := remediate.PolicyFrom(tc.Remediation)
				pol.Mode = remediate.ModeAuto
				for id := range pol.Rules {
					pol.Rules[id] = remediate.ModeAuto
				}
				pol.MaxChanges = 1000
				if g := tc.Remediation.GracePeriod.D(); g > 0 {
					pol.GracePeriod = g
				}
				r := newRig(t, pol)
				plans := r.plan(r.scan())
				rep := r.apply()
				if n := rep.Count(remediate.StatusFailed); n != 0 {
					t.Fatalf("%d operations failed: %+v", n, rep.Ops)
				}
				expiry := 0
				for _, o := range rep.Ops {
					if o.Action == remediate.ActionDeleteLink || o.Action == remediate.ActionDeleteGuest || o.Action == remediate.ActionRemoveOrgRelationship {
						t.Errorf("deleting operation ran: %+v", o)
					}
					if o.Action == remediate.ActionSetLinkExpiry && o.Status == remediate.StatusApplied {
						expiry++
					}
				}
				if expiry != 2 {
					t.Errorf("%d link expiries set, want fabrikam's 2 links without a short enough expiry", expiry)
				}
				held := 0
				for _, h := range rep.Held {
					if strings.Contains(h.Reason, "waiting for approval") {
						held++
					}
				}
				destructive := 0
				for i := range plans {
					if plans[i].Destructive() && !slices.ContainsFunc(plans[i].Ops, func(o remediate.Op) bool { return o.Deferred }) {
						destructive++
					}
				}
				if destructive == 0 || held != destructive {
					t.Errorf("%d plans delete now, %d wait for approval", destructive, held)
				}
				// After the grace period the deferred deletions wait too.
				r.clock.Advance(pol.GracePeriod + time.Hour)
				later := r.apply()
				for _, o := range later.Ops {
					t.Errorf("operation ran after the grace period without consent: %+v", o)
				}
				if n := r.deletions(); n != 0 {
					t.Errorf("the tenant received %d deleting calls", n)
				}
			})
		}
	}
}

// TestDestructiveNeedsConsent: a deletion under plain auto becomes an
// approval request; an approval or allow_destructive lets it run.
func TestDestructiveNeedsConsent(t *testing.T) {
	const rule = "links.anyone_link"
	r := newRig(t, autoFor(rule))
	plans := r.plan(r.scan())
	rep := r.apply()
	if len(rep.Ops) != 0 || r.deletions() != 0 {
		t.Fatalf("plain auto deleted: %v", statuses(rep))
	}
	if h := heldFor(rep, rule); len(h) != 3 || !strings.Contains(h[0].Reason, "waiting for approval") {
		t.Fatalf("held: %+v", h)
	}
	var fp string
	for _, p := range plans {
		if p.RuleID == rule {
			fp = p.Fingerprint
			break
		}
	}
	if err := r.svc.Approve(r.ctx, r.tenant, fp, "cli:alice"); err != nil {
		t.Fatal(err)
	}
	rep = r.apply()
	if rep.Count(remediate.StatusApplied) != 1 || rep.Ops[0].Action != remediate.ActionDeleteLink || r.deletions() != 1 {
		t.Errorf("after one approval: %v", statuses(rep))
	}
	r.policy.AllowDestructive = []string{rule}
	rep = r.apply()
	if rep.Count(remediate.StatusApplied) != 2 || r.deletions() != 3 {
		t.Errorf("with allow_destructive: %v", statuses(rep))
	}
}

// TestLinkExpiryIsSetNotDeleted: the expiry rule's fix gives the link an
// expiry through SharePoint's sharing API, reads it back, resolves the
// finding, and rolls back to the recorded before value.
func TestLinkExpiryIsSetNotDeleted(t *testing.T) {
	const rule = "links.anyone_link_expiry"
	r := newRig(t, autoFor(rule))
	first := r.scan()
	plans := r.plan(first)
	deadline := first.snap.CollectedAt.Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	var ours []remediate.Plan
	for _, p := range plans {
		if p.RuleID == rule {
			ours = append(ours, p)
		}
	}
	if len(ours) != 2 {
		t.Fatalf("%d expiry plans, want 2", len(ours))
	}
	for _, p := range ours {
		op := p.Ops[0]
		if len(p.Ops) != 1 || op.Action != remediate.ActionSetLinkExpiry || op.Destructive || !op.Reversible || string(op.After) != `"`+deadline+`"` {
			t.Errorf("plan %s: %+v", p.ObjectKey, p.Ops)
		}
	}
	rep := r.apply()
	if rep.Count(remediate.StatusApplied) != 2 || r.deletions() != 0 {
		t.Fatalf("run: %v, %d deletions", statuses(rep), r.deletions())
	}
	befores := map[string]string{}
	for _, o := range rep.Ops {
		befores[o.ObjectKey] = string(o.Before)
		if string(o.After) != `"`+deadline+`"` {
			t.Errorf("%s reads %s after the change", o.ObjectKey, o.After)
		}
	}
	if befores["link:b!Qx1-fin/01FIN8PAYROLL2026/5f0c2b7e-3a9d-4c1e-8b6f-0d2e4a6c8e15"] != "null" ||
		befores["link:b!Tw9-od/01OD6NOTES/8e2d4b6a-1c3f-4a5e-b7d9-2f4a6c8e0b13"] != `"2026-09-30T00:00:00Z"` {
		t.Errorf("recorded before values: %v", befores)
	}
	second := r.scan()
	if f := fails(second.results, rule); len(f) != 0 {
		t.Errorf("still failing after the expiry was set: %+v", f)
	}
	var links []tenant.Link
	for _, l := range second.snap.Links {
		if l.Scope == tenant.LinkScopeAnonymous {
			links = append(links, l)
		}
	}
	if len(links) != 3 {
		t.Errorf("%d Anyone links after the fix, want all 3 kept", len(links))
	}
	rows, err := r.svc.History(r.ctx, r.tenant, rep.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if row.Verified == nil || !*row.Verified || row.VerifiedAt == nil {
			t.Errorf("attempt %d not shown as verified: %+v", row.ID, row)
		}
	}
	rb, err := r.svc.Rollback(r.ctx, r.tenant, rep.RunID, "cli:alice")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Count(remediate.StatusApplied) != 2 {
		t.Fatalf("rollback: %v %+v", statuses(rb), rb.Ops)
	}
	third := r.scan()
	if f := fails(third.results, rule); len(f) != 2 {
		t.Errorf("after rollback %d links fail the expiry rule, want 2 again", len(f))
	}
}

// TestApprovalHonoursRecordedMode: approve goes by the mode recorded with
// the plan, not by whatever policy the approving command was given, and
// re-planning after a mode change updates the open plans.
func TestApprovalHonoursRecordedMode(t *testing.T) {
	const rule = "sites.sharing_level"
	r := newRig(t, remediate.Policy{Mode: remediate.ModeDryRun, Rules: map[string]remediate.Mode{rule: remediate.ModeApprove}})
	first := r.scan()
	plans := r.plan(first)
	fp := ""
	for _, p := range plans {
		if p.RuleID == rule {
			fp = p.Fingerprint
			break
		}
	}
	// The approving side knows no per-rule modes (a CLI run without flags).
	r.policy = remediate.Policy{Mode: remediate.ModeDryRun}
	if err := r.svc.Approve(r.ctx, r.tenant, fp, "cli:alice"); err != nil {
		t.Fatalf("approval of a plan recorded in approve mode: %v", err)
	}
	rep := r.apply(fp)
	if rep.Count(remediate.StatusApplied) != 1 {
		t.Errorf("approved plan not applied by its recorded mode: %v held %+v", statuses(rep), rep.Held)
	}

	// Re-planning in dry-run mode turns the open plan of the other site
	// into a dry-run plan: it can no longer be approved.
	st, err := r.svc.Record(r.ctx, first.scan.ID, plans)
	if err != nil {
		t.Fatal(err)
	}
	if st.Superseded == 0 {
		t.Errorf("re-record after the mode change: %+v", st)
	}
	open, err := r.svc.Plans(r.ctx, r.tenant, store.RemediationPlanned, store.RemediationApproved)
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range open {
		if pr.Plan.RuleID == rule && pr.Mode != remediate.ModeDryRun {
			t.Errorf("open plan of %s still in %s mode", pr.Plan.ObjectKey, pr.Mode)
		}
	}
	var other string
	for _, p := range plans {
		if p.RuleID == rule && p.Fingerprint != fp {
			other = p.Fingerprint
		}
	}
	if err := r.svc.Approve(r.ctx, r.tenant, other, "cli:alice"); !errors.Is(err, remediate.ErrModeForbids) {
		t.Errorf("approving a plan re-recorded in dry-run mode: %v", err)
	}
	// Turning the rule off closes its open plans.
	r.policy = remediate.Policy{Mode: remediate.ModeDryRun, Rules: map[string]remediate.Mode{rule: remediate.ModeOff}}
	if _, err := r.svc.Record(r.ctx, first.scan.ID, nil); err != nil {
		t.Fatal(err)
	}
	open, _ = r.svc.Plans(r.ctx, r.tenant, store.RemediationPlanned, store.RemediationApproved)
	for _, pr := range open {
		if pr.Plan.RuleID == rule {
			t.Errorf("open plan of a rule turned off: %+v", pr)
		}
	}
}

// TestStaleApprovalIsRefused: an approval of a plan whose object changed
// since it was planned, or whose scan is too old, is refused with the
// reason, and nothing is written to the tenant.
func TestStaleApprovalIsRefused(t *testing.T) {
	const rule = "sites.sharing_level"
	for name, tc := range map[string]struct {
		change func(r *rig)
		want   string
	}{
		"object changed": {
			change: func(r *rig) {
				if err := r.client.SetSiteSharing(r.ctx, "https://fabrikam.sharepoint.com/sites/Marketing", "disabled"); err != nil {
					r.t.Fatal(err)
				}
			},
			want: "changed since the plan was made",
		},
		"scan too old": {
			change: func(r *rig) { r.clock.Advance(25 * time.Hour) },
			want:   "25h0m0s old",
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, remediate.Policy{Mode: remediate.ModeDryRun, Rules: map[string]remediate.Mode{rule: remediate.ModeApprove}})
			var fp string
			for _, p := range r.plan(r.scan()) {
				if p.RuleID == rule && strings.Contains(p.ObjectKey, "4e2f") { // Marketing
					fp = p.Fingerprint
				}
			}
			if fp == "" {
				t.Fatal("no plan for the Marketing site")
			}
			tc.change(r)
			writes := r.writeCalls()
			err := r.svc.Approve(r.ctx, r.tenant, fp, "slack:U0ADMIN01")
			if !errors.Is(err, remediate.ErrStale) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("approval: %v, want a refusal saying %q", err, tc.want)
			}
			approved, _ := r.svc.Plans(r.ctx, r.tenant, store.RemediationApproved)
			if len(approved) != 0 {
				t.Errorf("refused approval recorded: %+v", approved)
			}
			rep := r.apply()
			if rep.Changes != 0 || r.writeCalls() != writes {
				t.Errorf("the tenant was written after a refused approval: %v", statuses(rep))
			}
		})
	}
}

// TestHistoryShowsJSON: before and after are JSON documents in the API's
// and the CLI's answer, not base64.
func TestHistoryShowsJSON(t *testing.T) {
	r := newRig(t, autoFor("sites.sharing_level"))
	r.plan(r.scan())
	rep := r.apply()
	rows, err := r.svc.History(r.ctx, r.tenant, rep.RunID, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["before"] != "externalUserAndGuestSharing" || got[0]["verified"] != true {
		t.Errorf("history as JSON: %s", b)
	}
	if _, ok := got[0]["plan"].(map[string]any); !ok {
		t.Errorf("plan is not a JSON object: %s", b)
	}
}

// TestRollbackThenAgain: against a tenant that keeps its state (online),
// a rollback leaves the store usable: plan, apply and roll back again.
func TestRollbackThenAgain(t *testing.T) {
	r := newRig(t, autoFor("sites.sharing_level", "links.anyone_link_expiry", "sharepoint.sharing_level"))
	for round := 1; round <= 2; round++ {
		s := r.scan()
		r.plan(s)
		rep := r.apply()
		if rep.Count(remediate.StatusApplied) != 5 || rep.Count(remediate.StatusFailed) != 0 {
			t.Fatalf("round %d apply: %v held %+v", round, statuses(rep), rep.Held)
		}
		rb, err := r.svc.Rollback(r.ctx, r.tenant, rep.RunID, "cli:alice")
		if err != nil {
			t.Fatalf("round %d rollback: %v", round, err)
		}
		if rb.Count(remediate.StatusApplied) != 5 || len(rb.Held) != 0 {
			t.Fatalf("round %d rollback: %v held %+v", round, statuses(rb), rb.Held)
		}
		rows, err := r.svc.History(r.ctx, r.tenant, rep.RunID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if row.State != store.RemediationRolledBack || row.Before == nil || row.After == nil || row.Verified == nil || !*row.Verified {
				t.Errorf("round %d: rolled-back attempt lost its values: %+v", round, row)
			}
		}
		// The tenant is as scanned before the run.
		after := r.scan()
		for _, id := range []string{"sites.sharing_level", "links.anyone_link_expiry", "sharepoint.sharing_level"} {
			if len(fails(after.results, id)) != len(fails(s.results, id)) {
				t.Errorf("round %d: %s fails %d times after the rollback, %d before the run", round, id, len(fails(after.results, id)), len(fails(s.results, id)))
			}
		}
	}
}

// TestExpiryFallbackNeedsApproval: a link SharePoint's sharing API cannot
// address is fixed by deleting it, the plan says why, and the deletion
// waits for a person even where allow_destructive lists the rule.
func TestExpiryFallbackNeedsApproval(t *testing.T) {
	const rule = "links.anyone_link_expiry"
	const oldKey = "link:b!Qx1-fin/01FIN8PAYROLL2026/5f0c2b7e-3a9d-4c1e-8b6f-0d2e4a6c8e15"
	const newKey = "link:b!Qx1-fin/01FIN8PAYROLL2026/YW5vbnltb3VzX2VkaXQ"
	r := newRig(t, consented(rule))
	s := r.scanEdited(func(rs []tenant.Result) []tenant.Result {
		for i := range rs {
			if rs[i].ObjectKey == oldKey {
				rs[i].ObjectKey = newKey
			}
		}
		return rs
	})
	for i := range s.snap.Links {
		if s.snap.Links[i].Key() == oldKey {
			s.snap.Links[i].PermissionID = "YW5vbnltb3VzX2VkaXQ" // not a SharePoint link id
		}
	}
	plans, skipped := remediate.Build(s.snap, r.baseline, s.results)
	if len(skipped) != 0 {
		t.Fatalf("skipped: %v", skipped)
	}
	var got *remediate.Plan
	for i := range plans {
		if plans[i].RuleID == rule && plans[i].ObjectKey == newKey {
			got = &plans[i]
		}
	}
	if got == nil {
		t.Fatal("no plan for the link")
	}
	op := got.Ops[0]
	if len(got.Ops) != 1 || op.Action != remediate.ActionDeleteLink || !op.Destructive || !op.NeedsApproval || !strings.Contains(got.Note, "No API can set this link's expiry") {
		t.Fatalf("fallback plan: %+v", got)
	}
	if _, err := r.svc.Record(r.ctx, s.scan.ID, plans); err != nil {
		t.Fatal(err)
	}
	rep := r.apply(got.Fingerprint)
	if len(rep.Ops) != 0 || r.deletions() != 0 {
		t.Fatalf("fallback deletion ran without approval: %v", statuses(rep))
	}
	if h := heldFor(rep, rule); len(h) != 1 || !strings.Contains(h[0].Reason, "deletion waiting for approval") {
		t.Errorf("held: %+v", h)
	}
}
