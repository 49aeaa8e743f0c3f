package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/sharedrift/sharedrift/store"
)

// executor runs the operations of one run in order and records each in
// the audit. state holds, per object field, the value the run expects to
// find next: the scanned value until the run itself changes the field.
type executor struct {
	s       *Service
	pol     *Policy
	rep     *RunReport
	target  Target
	state   map[string]json.RawMessage
	tainted map[string]string
	own     map[string]ownChange
	// capped runs stop before the change that would exceed the cap.
	capped  bool
	stopped bool
}

func (x *executor) run(ctx context.Context, items []item) {
	for i := range items {
		it := &items[i]
		res := OpResult{Seq: i + 1, Fingerprint: it.plan.Plan.Fingerprint, RuleID: it.plan.Plan.RuleID, Action: it.op.Action,
			ObjectKey: it.op.ObjectKey, Field: it.op.Field}
		state := store.RemediationSkipped
		if x.stopped {
			res.Status, res.Result = StatusNotAttempted, "not attempted: "+x.rep.Stopped
		} else {
			state = x.one(ctx, it, &res)
		}
		x.record(ctx, it, &res, state)
		x.rep.Ops = append(x.rep.Ops, res)
	}
}

// ownChange is a value this tool wrote to an object field, and when.
type ownChange struct {
	after json.RawMessage
	at    time.Time
}

// one guards, applies and verifies a single operation.
func (x *executor) one(ctx context.Context, it *item, res *OpResult) store.RemediationState {
	op := &it.op
	key := op.stateKey()
	skip := func(why string) store.RemediationState {
		res.Status, res.Result = StatusSkipped, why
		return store.RemediationSkipped
	}
	fail := func(err error) store.RemediationState {
		res.Status, res.Error = StatusFailed, err.Error()
		x.stopped = true
		x.rep.Stopped = fmt.Sprintf("operation %d (%s on %s) failed", res.Seq, op.Action, op.ObjectKey)
		return store.RemediationFailed
	}
	if it.rollbackOf != 0 && !op.Reversible {
		return skip(op.Action + " is not reversible")
	}
	if why := x.pol.Excluded(op.Scope); why != "" && it.rollbackOf == 0 {
		return skip("excluded: " + why)
	}
	if why, ok := x.tainted[key]; ok {
		return skip(why)
	}
	expected, ok := x.state[key]
	if !ok {
		expected = op.Before
		if it.expected != nil {
			expected = it.expected
		}
	}
	live, err := x.target.Read(ctx, op, op.Field)
	if err != nil {
		return fail(fmt.Errorf("read before change: %w", err))
	}
	res.Before = live
	if _, touched := x.state[key]; !touched && it.rollbackOf == 0 && !equalValues(live, expected) {
		// The field moved since the scan; if the last write to it was ours
		// (a plan retried after a partial run), that is what to expect.
		if oc, ok := x.own[key]; ok && !oc.at.Before(it.plan.Plan.CollectedAt) && equalValues(live, oc.after) {
			expected = live
		}
	}
	change := op.Change.at(x.s.o.Now())
	desired, err := change.Apply(expected)
	if err != nil {
		return fail(fmt.Errorf("compute value: %w", err))
	}
	if equalValues(live, desired) || (it.rollbackOf == 0 && change.Satisfied(live)) {
		// Only a field found as expected becomes the run's reference; one
		// that moved otherwise keeps guarding the operations after this.
		if equalValues(live, desired) || equalValues(live, expected) {
			x.state[key] = live
		}
		res.Status, res.After, res.Result = StatusUnchanged, live, resultUnchanged
		return store.RemediationApplied
	}
	if !equalValues(live, expected) {
		why := fmt.Sprintf("changed since the scan: %s is %s, the plan expected %s", op.Field, compactJSON(live), compactJSON(expected))
		x.tainted[key] = why
		return skip(why)
	}
	for _, c := range op.Require {
		v, err := x.target.Read(ctx, op, c.Field)
		if err != nil {
			return fail(fmt.Errorf("read precondition %s: %w", c.Field, err))
		}
		if !equalValues(v, c.Value) {
			why := fmt.Sprintf("precondition failed: %s is %s, expected %s", c.Field, compactJSON(v), compactJSON(c.Value))
			x.tainted[key] = why
			return skip(why)
		}
	}
	if x.capped && x.rep.Changes >= x.rep.Cap {
		x.stopped, x.rep.CapReached = true, true
		x.rep.Stopped = fmt.Sprintf("change cap of %d reached", x.rep.Cap)
		res.Status, res.Result = StatusNotAttempted, "not attempted: "+x.rep.Stopped
		return store.RemediationSkipped
	}
	// A change is counted when it is attempted: a failed write may still
	// have changed the tenant.
	x.rep.Changes++
	if err := x.target.Write(ctx, op, desired); err != nil {
		return fail(fmt.Errorf("write: %w", err))
	}
	after, err := x.target.Read(ctx, op, op.Field)
	if err != nil {
		return fail(fmt.Errorf("read back: %w", err))
	}
	res.After = after
	if !equalValues(after, desired) {
		return fail(fmt.Errorf("verification failed: %s reads %s after the change, expected %s", op.Field, compactJSON(after), compactJSON(desired)))
	}
	x.state[key] = after
	res.Status, res.Result, res.Verified = StatusApplied, resultChanged, true
	return store.RemediationApplied
}

func compactJSON(v json.RawMessage) string {
	if len(v) == 0 {
		return "null"
	}
	return string(normalizeDisplay(v))
}

func normalizeDisplay(v json.RawMessage) []byte {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return v
	}
	return raw(x)
}

// record writes the attempt row; a failure to write the audit is logged
// and reported on the operation (the change itself already happened).
func (x *executor) record(ctx context.Context, it *item, res *OpResult, state store.RemediationState) {
	p := &it.plan.Plan
	mode := string(it.plan.Mode)
	if it.rollbackOf != 0 {
		mode = "rollback"
	}
	var verified *time.Time
	if res.Verified {
		now := x.s.o.Now().UTC()
		verified = &now
	}
	id, err := x.s.o.Store.CreateRemediation(ctx, store.Remediation{Tenant: x.rep.Tenant, Fingerprint: p.Fingerprint, RuleID: p.RuleID,
		ObjectKey: it.op.ObjectKey, RunID: x.rep.RunID, Seq: res.Seq, Action: it.op.Action, Mode: mode, State: state,
		Plan: raw(it.op), ApprovedBy: it.plan.ApprovedBy, ApprovedAt: it.plan.ApprovedAt,
		Before: res.Before, After: res.After, Result: res.Result, Error: res.Error, VerifiedAt: verified})
	if err != nil {
		x.s.o.Logger.ErrorContext(ctx, "remediation audit not written", slog.String("run", x.rep.RunID), slog.Int("seq", res.Seq), slog.String("error", err.Error()))
		if res.Error == "" {
			res.Error = "audit not written: " + err.Error()
		}
		return
	}
	res.AuditID = id
	x.s.o.Logger.InfoContext(ctx, "remediation operation", slog.String("run", x.rep.RunID), slog.Int("seq", res.Seq), slog.String("action", it.op.Action),
		slog.String("object", it.op.ObjectKey), slog.String("status", res.Status))
}
