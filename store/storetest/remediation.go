package storetest

// The remediation audit.

import (
	"context"
	"errors"
	"testing"

	"github.com/sharedrift/sharedrift/store"
)

func testRemediation(t *testing.T, s store.Store, c *Clock) {
	ctx := context.Background()
	plan := []byte(`{"op":"DELETE","path":"/drives/d/items/i/permissions/p"}`)
	id, err := s.CreateRemediation(ctx, store.Remediation{Tenant: Tenant, Fingerprint: "fp1", RuleID: RuleAnyoneLink,
		ObjectKey: "link:d/i/p", RunID: "run1", Seq: 1, Action: "remove-link", Mode: "approve", Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Remediation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "state", r.State, store.RemediationPlanned)
	eq(t, "plan", string(r.Plan), string(plan))
	if r.Before != nil || r.ApprovedAt != nil {
		t.Errorf("unset fields: %+v", r)
	}
	at := c.Now()
	r.State, r.ApprovedBy, r.ApprovedAt = store.RemediationApproved, "U123", &at
	if err := s.UpdateRemediation(ctx, r, store.RemediationPlanned); err != nil {
		t.Fatal(err)
	}
	// A second approval (e.g. a double click) conflicts.
	if err := s.UpdateRemediation(ctx, r, store.RemediationPlanned); !errors.Is(err, store.ErrConflict) {
		t.Errorf("double approval: %v", err)
	}
	r.State, r.Before, r.After, r.Result = store.RemediationApplied, []byte(`{"scope":"anonymous"}`), []byte(`null`), "deleted, verified"
	if err := s.UpdateRemediation(ctx, r, store.RemediationApproved); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Remediation(ctx, id)
	eq(t, "approved by", got.ApprovedBy, "U123")
	eq(t, "before", string(got.Before), `{"scope":"anonymous"}`)
	eq(t, "result", got.Result, "deleted, verified")
	eq(t, "state", got.State, store.RemediationApplied)
	id2, _ := s.CreateRemediation(ctx, store.Remediation{Tenant: Tenant, RunID: "run1", Seq: 2, Action: "set-site-sharing",
		State: store.RemediationFailed, Error: "403"})
	list, err := s.Remediations(ctx, store.RemediationFilter{RunID: "run1"})
	if err != nil || len(list) != 2 || list[0].ID != id || list[1].ID != id2 {
		t.Errorf("list = %+v %v", list, err)
	}
	list, _ = s.Remediations(ctx, store.RemediationFilter{State: store.RemediationFailed})
	eq(t, "failed", len(list), 1)
	if _, err := s.Remediation(ctx, 424242); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}
