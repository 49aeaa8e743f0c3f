package remediate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no plan for that finding (or no such run).
	ErrNotFound = errors.New("no remediation plan found")
	// ErrModeForbids: the rule's mode does not allow the request (e.g.
	// approving a fix of a rule in dry-run mode).
	ErrModeForbids = errors.New("remediation mode does not allow this")
	// ErrBusy: another run for the tenant holds the lease.
	ErrBusy = errors.New("another remediation run is in progress for this tenant")
	// ErrStale: an approval was refused because the plan no longer fits
	// the tenant (the finding resolved, the scan too old or incomplete, or
	// the object changed since the plan was made).
	ErrStale = errors.New("the plan is stale")
	// ErrBlocked: the plan would make the tenant less safe (Plan.Blocked)
	// and may not be approved or run.
	ErrBlocked = errors.New("remediation plan is blocked")
)

// ActionPlan marks the audit rows that hold a plan (one per finding);
// rows of other actions are attempts of single operations.
const ActionPlan = "plan"

// Store is what remediation keeps in the store.
type Store interface {
	store.RemediationAudit
	Finding(ctx context.Context, tenantName, fingerprint string) (store.Finding, error)
	Scan(ctx context.Context, id int64) (store.Scan, error)
	Scans(ctx context.Context, f store.ScanFilter) ([]store.Scan, error)
	// TryLease and ReleaseLease hold a tenant's remediation lock across
	// replicas: one apply or rollback run at a time.
	TryLease(ctx context.Context, name, owner string, ttl time.Duration) (l store.Lease, ok bool, err error)
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Notifier is told when a run stopped at its change cap, and of the
// changes every apply run made.
type Notifier interface {
	CapReached(ctx context.Context, ev CapEvent) error
	Applied(ctx context.Context, ev AppliedEvent) error
}

// AppliedEvent is the changes an apply run made to the objects of one
// finding.
type AppliedEvent struct {
	Tenant      string          `json:"tenant"`
	RunID       string          `json:"runId"`
	Fingerprint string          `json:"fingerprint"`
	RuleID      string          `json:"ruleId"`
	Section     tenant.Section  `json:"section"`
	Severity    tenant.Severity `json:"severity"`
	ObjectKey   string          `json:"objectKey"`
	ObjectName  string          `json:"objectName,omitempty"`
	Expected    string          `json:"expected,omitempty"`
	ApprovedBy  string          `json:"approvedBy"`
	// Changes are the operations that changed something, each read back.
	Changes []OpResult `json:"changes"`
	// Rollback is the command that restores the recorded before values.
	Rollback string    `json:"rollback"`
	At       time.Time `json:"at"`
}

// RollbackCommand is the CLI command that rolls a run back.
func RollbackCommand(tenantName, runID string) string {
	return "sharedrift remediate rollback " + runID + " --tenant " + tenantName
}

// CapEvent describes a run stopped by its change cap.
type CapEvent struct {
	Tenant  string `json:"tenant"`
	RunID   string `json:"runId"`
	Cap     int    `json:"cap"`
	Changes int    `json:"changes"`
	// Left are the operations the run did not attempt.
	Left []OpResult `json:"left"`
	At   time.Time  `json:"at"`
}

// Options configure a Service.
type Options struct {
	Store Store
	// Policy returns a tenant's policy (PolicyFrom of its configuration).
	Policy func(tenantName string) Policy
	// Target connects to a tenant.
	Target func(ctx context.Context, tenantName string) (Target, error)
	// Notifier may be nil (cap events are then only logged and reported).
	Notifier Notifier
	// OnApproved, when set, is called after an approval is recorded (the
	// daemon starts a run; tests apply at once).
	OnApproved func(ctx context.Context, tenantName, fingerprint string)
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service records plans, takes approvals and applies, verifies and rolls
// back fixes.
type Service struct {
	o Options
}

// New checks the options and returns a service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Policy == nil {
		return nil, errors.New("remediate: a store and a policy are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o}, nil
}

// PlanRecord is a stored plan with its decision state.
type PlanRecord struct {
	ID         int64                  `json:"id"`
	State      store.RemediationState `json:"state"`
	Mode       Mode                   `json:"mode"`
	ApprovedBy string                 `json:"approvedBy,omitempty"`
	ApprovedAt *time.Time             `json:"approvedAt,omitempty"`
	Note       string                 `json:"note,omitempty"`
	CreatedAt  time.Time              `json:"createdAt"`
	Plan       Plan                   `json:"plan"`
}

func planRecord(r *store.Remediation) (PlanRecord, error) {
	pr := PlanRecord{ID: r.ID, State: r.State, Mode: Mode(r.Mode), ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt, Note: r.Result, CreatedAt: r.CreatedAt}
	if err := json.Unmarshal(r.Plan, &pr.Plan); err != nil {
		return pr, fmt.Errorf("remediation %d: plan: %w", r.ID, err)
	}
	return pr, nil
}

// Plans lists a tenant's stored plans, oldest first; states filters.
func (s *Service) Plans(ctx context.Context, tenantName string, states ...store.RemediationState) ([]PlanRecord, error) {
	rows, err := s.o.Store.Remediations(ctx, store.RemediationFilter{Tenant: tenantName})
	if err != nil {
		return nil, err
	}
	return appendPlans(nil, rows, states)
}

// appendPlans appends the plan records among rows in states (any state
// when none are given) to out.
func appendPlans(out []PlanRecord, rows []store.Remediation, states []store.RemediationState) ([]PlanRecord, error) {
	for i := range rows {
		if rows[i].Action != ActionPlan || (len(states) > 0 && !hasState(states, rows[i].State)) {
			continue
		}
		pr, err := planRecord(&rows[i])
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// plansOf returns the plan records in states of the findings plans are
// for, one indexed read per finding.
func (s *Service) plansOf(ctx context.Context, tenantName string, plans []Plan, states []store.RemediationState) ([]PlanRecord, error) {
	var out []PlanRecord
	seen := map[string]bool{}
	for i := range plans {
		fp := plans[i].Fingerprint
		if seen[fp] {
			continue
		}
		seen[fp] = true
		rows, err := s.o.Store.Remediations(ctx, store.RemediationFilter{Tenant: tenantName, Fingerprint: fp})
		if err != nil {
			return nil, err
		}
		if out, err = appendPlans(out, rows, states); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasState(states []store.RemediationState, s store.RemediationState) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}

// opsJSON is what makes two plans the same: their operations without the
// After values, which are shown, computed from the scan's moment, and
// recomputed when the plan runs.
func opsJSON(p *Plan) []byte {
	ops := slices.Clone(p.Ops)
	for i := range ops {
		ops[i].After = nil
	}
	return raw(ops)
}

// RecordStats counts what Record did.
type RecordStats struct {
	Created    int `json:"created"`
	Kept       int `json:"kept"`
	Superseded int `json:"superseded"`
	Off        int `json:"off"`
}

// Record stores the plans of a scan. A finding whose pending plan has the
// same operations and mode keeps it (and its approval); a changed plan
// supersedes the pending one; a plan identical to a rejected one is not
// proposed again. A plan recorded under another mode is replaced by one
// under the mode the policy gives now (a person's approval carries over to
// approve and auto mode), and the open plans of rules now off are closed,
// so approving and applying can go by the mode recorded with each plan.
func (s *Service) Record(ctx context.Context, scanID int64, plans []Plan) (RecordStats, error) {
	return s.record(ctx, scanID, plans, false)
}

// RecordOwn stores the plans of a scan that read part of the tenant (the
// drives change notifications named) as Record does, comparing them with
// the open plans of the same findings alone: reading and reconciling
// every plan of the tenant (closing those of rules now off, re-recording
// deferred ones under a changed mode) is left to the next whole scan, so
// that the cost follows the scan, not the tenant.
func (s *Service) RecordOwn(ctx context.Context, scanID int64, plans []Plan) (RecordStats, error) {
	return s.record(ctx, scanID, plans, true)
}

func (s *Service) record(ctx context.Context, scanID int64, plans []Plan, own bool) (RecordStats, error) {
	var st RecordStats
	var tenantName string
	if len(plans) > 0 {
		tenantName = plans[0].Tenant
	} else {
		sc, err := s.o.Store.Scan(ctx, scanID)
		if err != nil {
			return st, fmt.Errorf("record plans: %w", err)
		}
		tenantName = sc.Tenant
	}
	pol := s.o.Policy(tenantName).withDefaults()
	states := []store.RemediationState{store.RemediationPlanned, store.RemediationApproved, store.RemediationRejected, store.RemediationBlocked}
	var existing []PlanRecord
	var err error
	if own {
		existing, err = s.plansOf(ctx, tenantName, plans, states)
	} else {
		existing, err = s.Plans(ctx, tenantName, states...)
	}
	if err != nil {
		return st, fmt.Errorf("record plans: %w", err)
	}
	byFP := map[string][]PlanRecord{}
	deferred := map[string]bool{}
	for _, pr := range existing {
		mode := pol.ModeFor(pr.Plan.RuleID)
		open := pr.State != store.RemediationRejected
		switch {
		case open && mode == ModeOff:
			if err := s.supersede(ctx, &pr, "the rule's remediation mode is now off"); err != nil {
				return st, err
			}
			st.Superseded++
			continue
		case pr.Plan.NotBefore != nil && open:
			if pr.Mode != mode {
				if err := s.remode(ctx, &pr, mode, fmt.Sprintf("deferred-%d", pr.ID)); err != nil {
					return st, err
				}
				st.Superseded++
			}
			deferred[pr.Plan.Fingerprint] = true
			continue
		case pr.Plan.NotBefore != nil:
			continue
		}
		byFP[pr.Plan.Fingerprint] = append(byFP[pr.Plan.Fingerprint], pr)
	}
	for i := range plans {
		p := plans[i]
		p.ScanID = scanID
		mode := pol.ModeFor(p.RuleID)
		if mode == ModeOff {
			st.Off++
			continue
		}
		if deferred[p.Fingerprint] {
			// The first steps are done and the rest is scheduled: a finding
			// that stays open until then needs no new plan.
			st.Kept++
			continue
		}
		same := false
		var carried *PlanRecord
		for _, old := range byFP[p.Fingerprint] {
			sameOps := bytes.Equal(opsJSON(&old.Plan), opsJSON(&p)) && old.Plan.Blocked == p.Blocked
			if old.State == store.RemediationRejected {
				same = same || sameOps
				continue
			}
			if sameOps && old.Mode == mode {
				same = true
				continue
			}
			why := "superseded by the plan of scan " + fmt.Sprint(scanID)
			if sameOps {
				why = fmt.Sprintf("remediation mode changed from %s to %s", old.Mode, mode)
				if old.State == store.RemediationApproved {
					carried = &old
				}
			}
			if err := s.supersede(ctx, &old, why); err != nil {
				return st, err
			}
			st.Superseded++
		}
		if same {
			st.Kept++
			continue
		}
		state, note := store.RemediationPlanned, ""
		if p.Blocked != "" {
			// Recorded for people to see, never runnable.
			state, note = store.RemediationBlocked, "blocked: "+p.Blocked
		}
		r := store.Remediation{Tenant: p.Tenant, Fingerprint: p.Fingerprint, RuleID: p.RuleID,
			ObjectKey: p.ObjectKey, RunID: fmt.Sprintf("plan-%d", scanID), Seq: i, Action: ActionPlan, Mode: string(mode),
			State: state, Plan: raw(p), Result: note}
		if carried != nil && approvable(mode) && p.Blocked == "" {
			r.State, r.ApprovedBy, r.ApprovedAt = store.RemediationApproved, carried.ApprovedBy, carried.ApprovedAt
		}
		if _, err := s.o.Store.CreateRemediation(ctx, r); err != nil {
			return st, fmt.Errorf("record plans: %w", err)
		}
		st.Created++
	}
	return st, nil
}

// approvable reports whether plans of a rule in mode m can be approved.
func approvable(m Mode) bool { return m == ModeApprove || m == ModeAuto }

// supersede closes an open plan with the reason.
func (s *Service) supersede(ctx context.Context, pr *PlanRecord, why string) error {
	err := s.o.Store.UpdateRemediation(ctx, store.Remediation{ID: pr.ID, State: store.RemediationSkipped, ApprovedBy: pr.ApprovedBy,
		ApprovedAt: pr.ApprovedAt, Result: why}, pr.State)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("record plans: close plan %d: %w", pr.ID, err)
	}
	return nil
}

// remode records an open plan again under mode and closes the old record.
func (s *Service) remode(ctx context.Context, pr *PlanRecord, mode Mode, runID string) error {
	if err := s.supersede(ctx, pr, fmt.Sprintf("remediation mode changed from %s to %s", pr.Mode, mode)); err != nil {
		return err
	}
	p := pr.Plan
	r := store.Remediation{Tenant: p.Tenant, Fingerprint: p.Fingerprint, RuleID: p.RuleID, ObjectKey: p.ObjectKey, RunID: runID,
		Action: ActionPlan, Mode: string(mode), State: store.RemediationPlanned, Plan: raw(p), Result: pr.Note}
	if pr.State == store.RemediationApproved && approvable(mode) {
		r.State, r.ApprovedBy, r.ApprovedAt = store.RemediationApproved, pr.ApprovedBy, pr.ApprovedAt
	}
	if _, err := s.o.Store.CreateRemediation(ctx, r); err != nil {
		return fmt.Errorf("record plans: %w", err)
	}
	return nil
}

// pending finds the plans of a finding (by fingerprint or unique prefix)
// in the given states.
func (s *Service) pending(ctx context.Context, tenantName, fp string, states ...store.RemediationState) ([]PlanRecord, error) {
	prs, err := s.Plans(ctx, tenantName, states...)
	if err != nil {
		return nil, err
	}
	var out []PlanRecord
	full := map[string]bool{}
	for _, pr := range prs {
		if strings.HasPrefix(pr.Plan.Fingerprint, fp) && fp != "" {
			out = append(out, pr)
			full[pr.Plan.Fingerprint] = true
		}
	}
	if len(full) > 1 {
		return nil, fmt.Errorf("fingerprint prefix %q matches %d findings: %w", fp, len(full), store.ErrAmbiguous)
	}
	return out, nil
}

// Approve records a person's approval of the pending plan of a finding.
// by names who approved ("slack:U123", "cli:alice", "api:ops").
func (s *Service) Approve(ctx context.Context, tenantName, fp, by string) error {
	if err := s.decide(ctx, tenantName, fp, by, store.RemediationApproved); err != nil {
		return err
	}
	if s.o.OnApproved != nil {
		s.o.OnApproved(ctx, tenantName, fp)
	}
	return nil
}

// Reject records that a person turned the fix of a finding down; the same
// plan is not proposed again.
func (s *Service) Reject(ctx context.Context, tenantName, fp, by string) error {
	return s.decide(ctx, tenantName, fp, by, store.RemediationRejected)
}

func (s *Service) decide(ctx context.Context, tenantName, fp, by string, to store.RemediationState) error {
	prs, err := s.pending(ctx, tenantName, fp, store.RemediationPlanned, store.RemediationApproved, store.RemediationBlocked)
	if err != nil {
		return err
	}
	if to == store.RemediationApproved {
		if err := refuseBlocked(tenantName, prs); err != nil {
			return err
		}
	}
	prs = slices.DeleteFunc(prs, func(pr PlanRecord) bool { return pr.State == store.RemediationBlocked })
	if len(prs) == 0 {
		return fmt.Errorf("tenant %s, finding %s: %w", tenantName, fp, ErrNotFound)
	}
	pol := s.o.Policy(tenantName).withDefaults()
	now := s.o.Now().UTC()
	// Every plan is checked before any is approved: a refusal records nothing.
	for i := range prs {
		pr := &prs[i]
		if pr.State == to || to != store.RemediationApproved {
			continue
		}
		if m := pr.Mode; !approvable(m) {
			return fmt.Errorf("the plan of rule %s was recorded in %s mode; set the rule's remediation mode to approve or auto and plan again to apply fixes: %w",
				pr.Plan.RuleID, m, ErrModeForbids)
		}
		if why := s.refuseApproval(ctx, &pol, pr, now); why != "" {
			return fmt.Errorf("approval of the fix of %s (rule %s, %s) refused: %s: %w", short(pr.Plan.Fingerprint), pr.Plan.RuleID, pr.Plan.ObjectKey, why, ErrStale)
		}
	}
	for _, pr := range prs {
		if pr.State == to {
			continue
		}
		err := s.o.Store.UpdateRemediation(ctx, store.Remediation{ID: pr.ID, State: to, ApprovedBy: by, ApprovedAt: &now},
			store.RemediationPlanned, store.RemediationApproved)
		if err != nil {
			return fmt.Errorf("%s fix of %s: %w", to, fp, err)
		}
		s.o.Logger.InfoContext(ctx, "remediation decision", slog.String("tenant", tenantName), slog.String("fingerprint", pr.Plan.Fingerprint),
			slog.String("decision", string(to)), slog.String("by", by))
	}
	return nil
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// refuseApproval returns why a plan may not be approved now, or "": the
// findings and scans it was made from must still hold (see stale), and,
// when the service can reach the tenant, every object it changes must
// still read as it did when the plan was made. Only reads are sent.
func (s *Service) refuseApproval(ctx context.Context, pol *Policy, pr *PlanRecord, now time.Time) string {
	p := &pr.Plan
	if p.NotBefore == nil {
		if why := s.stale(ctx, pol, p, now); why != "" {
			return why
		}
	}
	if s.o.Target == nil {
		return ""
	}
	t, err := s.o.Target(ctx, p.Tenant)
	if err != nil {
		return "the tenant cannot be read to check the plan: " + err.Error()
	}
	for i := range p.Ops {
		op := &p.Ops[i]
		v, err := t.Read(ctx, op, op.Field)
		if err != nil {
			return fmt.Sprintf("%s of %s cannot be read: %v", op.Field, op.ObjectKey, err)
		}
		if !equalValues(v, op.Before) {
			return fmt.Sprintf("%s changed since the plan was made: %s is %s, the plan expected %s", op.ObjectKey, op.Field, compactJSON(v), compactJSON(op.Before))
		}
	}
	return ""
}

// refuseBlocked is the error approving prs gets when one of them is
// blocked, naming why; nil otherwise.
func refuseBlocked(tenantName string, prs []PlanRecord) error {
	for _, pr := range prs {
		if pr.State == store.RemediationBlocked || pr.Plan.Blocked != "" {
			return fmt.Errorf("tenant %s, finding %s, rule %s: %s: %w", tenantName, pr.Plan.Fingerprint, pr.Plan.RuleID, pr.Plan.Blocked, ErrBlocked)
		}
	}
	return nil
}

// OpResult is what happened to one operation in a run.
type OpResult struct {
	Seq         int             `json:"seq"`
	AuditID     int64           `json:"auditId,omitempty"`
	Fingerprint string          `json:"fingerprint"`
	RuleID      string          `json:"ruleId"`
	Action      string          `json:"action"`
	ObjectKey   string          `json:"objectKey"`
	Field       string          `json:"field"`
	Status      string          `json:"status"`
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
	Result      string          `json:"result,omitempty"`
	Error       string          `json:"error,omitempty"`
	// Verified is true when the change was read back as written.
	Verified bool `json:"verified,omitempty"`
}

// Operation statuses in a run report.
const (
	StatusApplied      = "applied"       // changed and verified
	StatusUnchanged    = "unchanged"     // already had the wanted value
	StatusSkipped      = "skipped"       // guardrail: changed since the scan, excluded, precondition
	StatusFailed       = "failed"        // the call or the verification failed; the run stopped
	StatusNotAttempted = "not_attempted" // the run stopped before it
)

// Results recorded in the audit.
const (
	resultChanged   = "changed"
	resultUnchanged = "already at the wanted value"
)

// RunReport is the outcome of an apply or rollback run.
type RunReport struct {
	RunID      string     `json:"runId"`
	Tenant     string     `json:"tenant"`
	Kind       string     `json:"kind"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt time.Time  `json:"finishedAt"`
	Cap        int        `json:"cap"`
	Changes    int        `json:"changes"`
	CapReached bool       `json:"capReached"`
	Stopped    string     `json:"stopped,omitempty"`
	Ops        []OpResult `json:"ops"`
	// Held lists plans not applied in this run and why (mode, approval,
	// guardrails).
	Held []Held `json:"held,omitempty"`
}

// Held is a plan left alone by a run.
type Held struct {
	Fingerprint string `json:"fingerprint"`
	RuleID      string `json:"ruleId"`
	Reason      string `json:"reason"`
}

// Count returns how many operations ended with status.
func (r *RunReport) Count(status string) int {
	n := 0
	for _, o := range r.Ops {
		if o.Status == status {
			n++
		}
	}
	return n
}

func newRunID(prefix string, now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// ApplyOptions narrow a run.
type ApplyOptions struct {
	// Fingerprints, when set, limits the run to these findings (prefixes).
	Fingerprints []string
}

// item is one operation scheduled in a run.
type item struct {
	plan *PlanRecord
	op   Op
	// expected overrides the value the guard expects (rollback: the
	// recorded after value).
	expected json.RawMessage
	// rollbackOf is the attempt row a rollback item undoes.
	rollbackOf int64
}

func (s *Service) lock(ctx context.Context, tenantName, runID string) (func(), error) {
	l := s.o.Store
	name := "remediate:" + tenantName
	if _, got, err := l.TryLease(ctx, name, runID, 30*time.Minute); err != nil {
		return nil, fmt.Errorf("remediation lease: %w", err)
	} else if !got {
		return nil, ErrBusy
	}
	return func() { _ = l.ReleaseLease(context.WithoutCancel(ctx), name, runID) }, nil
}

// Apply runs the plans of a tenant that its policy lets run now: approved
// plans of rules in approve mode, every plan of rules in auto mode (their
// destructive steps only when allowed or approved), deferred steps whose
// grace period is over. See the package documentation for the guardrails.
func (s *Service) Apply(ctx context.Context, tenantName string, o ApplyOptions) (*RunReport, error) {
	now := s.o.Now().UTC()
	pol := s.o.Policy(tenantName).withDefaults()
	rep := &RunReport{RunID: newRunID("run", now), Tenant: tenantName, Kind: "apply", StartedAt: now, Cap: pol.MaxChanges}
	unlock, err := s.lock(ctx, tenantName, rep.RunID)
	if err != nil {
		return nil, err
	}
	defer unlock()

	prs, err := s.Plans(ctx, tenantName, store.RemediationPlanned, store.RemediationApproved)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	sort.SliceStable(prs, func(i, j int) bool {
		a, b := &prs[i].Plan, &prs[j].Plan
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.ObjectKey < b.ObjectKey
	})
	var items []item
	for i := range prs {
		pr := &prs[i]
		if !wanted(o.Fingerprints, pr.Plan.Fingerprint) {
			continue
		}
		if why := s.hold(ctx, &pol, pr, now); why != "" {
			rep.Held = append(rep.Held, Held{Fingerprint: pr.Plan.Fingerprint, RuleID: pr.Plan.RuleID, Reason: why})
			continue
		}
		if pr.ApprovedBy == "" {
			// Auto mode: the policy is what approved it.
			pr.ApprovedBy, pr.ApprovedAt = "auto:policy", &now
		}
		for _, op := range pr.Plan.Ops {
			if op.Deferred && pr.Plan.NotBefore == nil {
				continue // runs as its own plan after the grace period
			}
			items = append(items, item{plan: pr, op: op})
		}
	}
	// Modes change before the lists they govern; otherwise plan order.
	sort.SliceStable(items, func(i, j int) bool { return items[i].op.Priority < items[j].op.Priority })

	target, err := s.target(ctx, tenantName, len(items))
	if err != nil {
		return nil, err
	}
	own, err := s.ownChanges(ctx, tenantName)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	x := &executor{s: s, pol: &pol, rep: rep, target: target, state: map[string]json.RawMessage{}, tainted: map[string]string{}, own: own, capped: true}
	x.run(ctx, items)
	if err := s.settle(ctx, &pol, rep, items); err != nil {
		return rep, err
	}
	rep.FinishedAt = s.o.Now().UTC()
	if err := s.announce(ctx, rep, items); err != nil {
		return rep, err
	}
	if rep.CapReached {
		s.o.Logger.WarnContext(ctx, "remediation stopped at the change cap", slog.String("tenant", tenantName), slog.String("run", rep.RunID),
			slog.Int("cap", rep.Cap), slog.Int("left", rep.Count(StatusNotAttempted)))
		if s.o.Notifier != nil {
			var left []OpResult
			for _, r := range rep.Ops {
				if r.Status == StatusNotAttempted {
					left = append(left, r)
				}
			}
			if err := s.o.Notifier.CapReached(ctx, CapEvent{Tenant: tenantName, RunID: rep.RunID, Cap: rep.Cap, Changes: rep.Changes, Left: left, At: rep.FinishedAt}); err != nil {
				return rep, fmt.Errorf("notify cap reached: %w", err)
			}
		}
	}
	return rep, nil
}

// announce tells the notifier, per finding, what the run changed.
func (s *Service) announce(ctx context.Context, rep *RunReport, items []item) error {
	if s.o.Notifier == nil {
		return nil
	}
	var order []string
	events := map[string]*AppliedEvent{}
	for i, it := range items {
		r := rep.Ops[i]
		if r.Status != StatusApplied || !r.Verified {
			continue
		}
		p := &it.plan.Plan
		ev, ok := events[p.Fingerprint]
		if !ok {
			ev = &AppliedEvent{Tenant: rep.Tenant, RunID: rep.RunID, Fingerprint: p.Fingerprint, RuleID: p.RuleID, Section: p.Section,
				Severity: p.Severity, ObjectKey: p.ObjectKey, ObjectName: p.ObjectName, Expected: p.Expected, ApprovedBy: it.plan.ApprovedBy,
				Rollback: RollbackCommand(rep.Tenant, rep.RunID), At: rep.FinishedAt}
			events[p.Fingerprint] = ev
			order = append(order, p.Fingerprint)
		}
		ev.Changes = append(ev.Changes, r)
	}
	for _, fp := range order {
		if err := s.o.Notifier.Applied(ctx, *events[fp]); err != nil {
			return fmt.Errorf("announce the changes of %s: %w", rep.RunID, err)
		}
	}
	return nil
}

func (s *Service) target(ctx context.Context, tenantName string, n int) (Target, error) {
	if n == 0 {
		return nil, nil
	}
	if s.o.Target == nil {
		return nil, errors.New("remediate: no target to apply to")
	}
	t, err := s.o.Target(ctx, tenantName)
	if err != nil {
		return nil, fmt.Errorf("connect to tenant %s: %w", tenantName, err)
	}
	return t, nil
}

func wanted(fps []string, fp string) bool {
	if len(fps) == 0 {
		return true
	}
	for _, p := range fps {
		if p != "" && strings.HasPrefix(fp, p) {
			return true
		}
	}
	return false
}

// hold returns why a plan may not run now, or "". The plan runs by the
// mode recorded with it (Record keeps that in step with the policy); only
// plans recorded before modes were kept fall back to the policy.
func (s *Service) hold(ctx context.Context, pol *Policy, pr *PlanRecord, now time.Time) string {
	p := &pr.Plan
	if p.Blocked != "" {
		return "blocked: " + p.Blocked
	}
	mode := pr.Mode
	if mode == "" {
		mode = pol.ModeFor(p.RuleID)
	}
	approved := pr.State == store.RemediationApproved
	switch mode {
	case ModeOff, ModeNotify, ModeDryRun:
		return fmt.Sprintf("rule is in %s mode", mode)
	case ModeApprove:
		if !approved {
			return "waiting for approval"
		}
	case ModeAuto:
		if destructiveNow(p) && !approved {
			if needsApprovalNow(p) {
				return "deletion waiting for approval (no API can make this fix without deleting)"
			}
			if !pol.DestructiveAllowed(p.RuleID) {
				return "destructive step waiting for approval (not allowed in auto mode for this rule)"
			}
		}
	default:
		return fmt.Sprintf("unknown mode %q", mode)
	}
	if p.NotBefore != nil {
		if now.Before(*p.NotBefore) {
			return "grace period until " + p.NotBefore.Format(time.RFC3339)
		}
		return "" // deferred steps are guarded by re-reading the object
	}
	return s.stale(ctx, pol, p, now)
}

// stale returns why the scan a plan was made from no longer stands for
// the tenant, or "".
func (s *Service) stale(ctx context.Context, pol *Policy, p *Plan, now time.Time) string {
	f, err := s.o.Store.Finding(ctx, p.Tenant, p.Fingerprint)
	if err != nil {
		return "finding not readable: " + err.Error()
	}
	if !f.Active() {
		return "finding is resolved"
	}
	sc, err := s.o.Store.Scan(ctx, f.LastScanID)
	if err != nil {
		return "scan not readable: " + err.Error()
	}
	if st, ok := sc.Sections[p.Section]; !ok || st.State != "complete" {
		return fmt.Sprintf("section %s of scan %d is not complete", p.Section, sc.ID)
	}
	if age := now.Sub(sc.CollectedAt); age > pol.MaxSnapshotAge {
		return fmt.Sprintf("scan %d is %s old, more than the allowed %s", sc.ID, age.Round(time.Minute), pol.MaxSnapshotAge)
	}
	// A later scan that could not read the section completely leaves the
	// tenant's state unconfirmed: wait for a complete one.
	latest, err := s.latestReading(ctx, p.Tenant, p.Section, f.ObjectKey)
	if err != nil {
		return "scans not readable: " + err.Error()
	}
	if len(latest) > 0 && latest[0].ID != sc.ID {
		if st, ok := latest[0].Sections[p.Section]; !ok || st.State != "complete" {
			return fmt.Sprintf("section %s of the latest scan %d is not complete", p.Section, latest[0].ID)
		}
		// Complete, yet the finding is active without being seen failing:
		// the rule's result was unknown (for the object or rule-wide), and
		// the store held the finding as it was.
		return fmt.Sprintf("rule %s gave unknown for the object in the latest scan %d", p.RuleID, latest[0].ID)
	}
	return ""
}

// latestReading returns the tenant's latest scan but those scoped to
// other objects of the section (change scans of other drives): they did
// not read the object and say nothing about it. Empty when there is none.
func (s *Service) latestReading(ctx context.Context, tenantName string, sec tenant.Section, key string) ([]store.Scan, error) {
	f := store.ScanFilter{Tenant: tenantName, Limit: 20}
	for {
		scans, err := s.o.Store.Scans(ctx, f)
		if err != nil {
			return nil, err
		}
		for i := range scans {
			if st, ok := scans[i].Sections[sec]; !ok || st.InScope(key) {
				return scans[i : i+1], nil
			}
		}
		if len(scans) < f.Limit {
			return nil, nil
		}
		f.BeforeID = scans[len(scans)-1].ID
	}
}

// needsApprovalNow reports whether a step that runs now may run only
// after a person's approval.
func needsApprovalNow(p *Plan) bool {
	for _, op := range p.Ops {
		if op.NeedsApproval && (!op.Deferred || p.NotBefore != nil) {
			return true
		}
	}
	return false
}

// destructiveNow reports whether a run would execute a destructive step of
// p now: deferred steps run only from their own, later plan.
func destructiveNow(p *Plan) bool {
	for _, op := range p.Ops {
		if op.Destructive && (!op.Deferred || p.NotBefore != nil) {
			return true
		}
	}
	return false
}

// ownChanges returns, per object field, the latest value this tool wrote
// and when, so that a run can tell its own earlier changes (a retried,
// partly applied plan) from changes made by someone else.
func (s *Service) ownChanges(ctx context.Context, tenantName string) (map[string]ownChange, error) {
	rows, err := s.o.Store.Remediations(ctx, store.RemediationFilter{Tenant: tenantName, State: store.RemediationApplied})
	if err != nil {
		return nil, err
	}
	out := map[string]ownChange{}
	for i := range rows {
		if rows[i].Action == ActionPlan || rows[i].Result != resultChanged {
			continue
		}
		var op Op
		if json.Unmarshal(rows[i].Plan, &op) != nil {
			continue
		}
		out[op.stateKey()] = ownChange{after: rows[i].After, at: rows[i].CreatedAt}
	}
	return out, nil
}

// settle updates plan rows after a run: done plans are applied (and their
// deferred steps scheduled), plans stopped by a guardrail are skipped, plans
// with a failure or not attempted stay pending for the next run.
func (s *Service) settle(ctx context.Context, pol *Policy, rep *RunReport, items []item) error {
	type tally struct {
		pr                      *PlanRecord
		done, failed, left, out int
		why                     string
	}
	var order []*tally
	byID := map[int64]*tally{}
	for i, it := range items {
		t, ok := byID[it.plan.ID]
		if !ok {
			t = &tally{pr: it.plan}
			byID[it.plan.ID] = t
			order = append(order, t)
		}
		r := rep.Ops[i]
		switch r.Status {
		case StatusApplied, StatusUnchanged:
			t.done++
		case StatusFailed:
			t.failed++
			t.why = r.Error
		case StatusNotAttempted:
			t.left++
		case StatusSkipped:
			t.out++
			if t.why == "" {
				t.why = r.Result
			}
		}
	}
	now := s.o.Now().UTC()
	for _, t := range order {
		pr := t.pr
		upd := store.Remediation{ID: pr.ID, ApprovedBy: pr.ApprovedBy, ApprovedAt: pr.ApprovedAt}
		switch {
		case t.out > 0 && t.failed == 0:
			upd.State, upd.Result = store.RemediationSkipped, t.why
		case t.failed > 0:
			upd.State, upd.Result, upd.Error = pr.State, "failed in "+rep.RunID+"; retried next run", t.why
		case t.left > 0:
			upd.State, upd.Result = pr.State, "not attempted in "+rep.RunID
		default:
			upd.State, upd.Result = store.RemediationApplied, "applied in "+rep.RunID
		}
		if err := s.o.Store.UpdateRemediation(ctx, upd, pr.State); err != nil {
			return fmt.Errorf("settle plan %d: %w", pr.ID, err)
		}
		if upd.State == store.RemediationApplied && pr.Plan.NotBefore == nil {
			if err := s.scheduleDeferred(ctx, pol, pr, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// scheduleDeferred records a plan's deferred steps as a plan of their own,
// due after the grace period. A person's approval of the whole plan covers
// them; an automatic run's does not.
func (s *Service) scheduleDeferred(ctx context.Context, pol *Policy, pr *PlanRecord, now time.Time) error {
	var ops []Op
	for _, op := range pr.Plan.Ops {
		if op.Deferred {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	p := pr.Plan
	p.Ops = ops
	nb := now.Add(pol.GracePeriod)
	p.NotBefore = &nb
	r := store.Remediation{Tenant: p.Tenant, Fingerprint: p.Fingerprint, RuleID: p.RuleID, ObjectKey: p.ObjectKey,
		RunID: fmt.Sprintf("deferred-%d", pr.ID), Action: ActionPlan, Mode: string(pr.Mode), State: store.RemediationPlanned, Plan: raw(p),
		Result: "due " + nb.Format(time.RFC3339)}
	if pr.State == store.RemediationApproved && !strings.HasPrefix(pr.ApprovedBy, "auto:") {
		r.State, r.ApprovedBy, r.ApprovedAt = store.RemediationApproved, pr.ApprovedBy, pr.ApprovedAt
	}
	if _, err := s.o.Store.CreateRemediation(ctx, r); err != nil {
		return fmt.Errorf("schedule deferred steps of plan %d: %w", pr.ID, err)
	}
	return nil
}

// Rollback restores the recorded before value of every reversible change
// of a run, newest first. Each object is re-read first and left alone when
// it no longer holds the value the run wrote.
func (s *Service) Rollback(ctx context.Context, tenantName, runID, by string) (*RunReport, error) {
	rows, err := s.o.Store.Remediations(ctx, store.RemediationFilter{Tenant: tenantName, RunID: runID})
	if err != nil {
		return nil, fmt.Errorf("rollback %s: %w", runID, err)
	}
	now := s.o.Now().UTC()
	rep := &RunReport{RunID: newRunID("rollback", now), Tenant: tenantName, Kind: "rollback", StartedAt: now}
	var items []item
	byID := map[int64]*store.Remediation{}
	for i := len(rows) - 1; i >= 0; i-- {
		r := &rows[i]
		byID[r.ID] = r
		if r.Action == ActionPlan || r.State != store.RemediationApplied || r.Result != resultChanged {
			continue
		}
		var op Op
		if err := json.Unmarshal(r.Plan, &op); err != nil {
			return nil, fmt.Errorf("rollback %s: attempt %d: %w", runID, r.ID, err)
		}
		if !op.Reversible {
			rep.Held = append(rep.Held, Held{Fingerprint: r.Fingerprint, RuleID: r.RuleID, Reason: op.Action + " on " + op.ObjectKey + " is not reversible"})
			continue
		}
		pr := &PlanRecord{ID: r.ID, ApprovedBy: by, ApprovedAt: &now, Plan: Plan{Tenant: tenantName, Fingerprint: r.Fingerprint, RuleID: r.RuleID, ObjectKey: r.ObjectKey}}
		op.Change = Change{Set: r.Before}
		items = append(items, item{plan: pr, op: op, expected: r.After, rollbackOf: r.ID})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("run %s of tenant %s has no reversible applied changes: %w", runID, tenantName, ErrNotFound)
	}
	unlock, err := s.lock(ctx, tenantName, rep.RunID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	target, err := s.target(ctx, tenantName, len(items))
	if err != nil {
		return nil, err
	}
	pol := s.o.Policy(tenantName).withDefaults()
	x := &executor{s: s, pol: &pol, rep: rep, target: target, state: map[string]json.RawMessage{}, tainted: map[string]string{}}
	x.run(ctx, items)
	for i, it := range items {
		if st := rep.Ops[i].Status; st == StatusApplied || st == StatusUnchanged {
			// The attempt keeps its values: history shows them, and an offline
			// fixture tenant is brought up to date by writing them again.
			orig := byID[it.rollbackOf]
			if err := s.o.Store.UpdateRemediation(ctx, store.Remediation{ID: it.rollbackOf, State: store.RemediationRolledBack,
				ApprovedBy: orig.ApprovedBy, ApprovedAt: orig.ApprovedAt, Before: orig.Before, After: orig.After,
				Result: resultChanged + "; rolled back in " + rep.RunID}, store.RemediationApplied); err != nil {
				return rep, fmt.Errorf("rollback %s: mark attempt %d: %w", runID, it.rollbackOf, err)
			}
		}
	}
	rep.FinishedAt = s.o.Now().UTC()
	return rep, nil
}

// Attempt is an audit row as people and the API see it: plan, before and
// after are JSON documents, not bytes, and Verified says whether the change
// was read back as written.
type Attempt struct {
	ID          int64                  `json:"id"`
	Tenant      string                 `json:"tenant"`
	Fingerprint string                 `json:"fingerprint,omitempty"`
	RuleID      string                 `json:"ruleId,omitempty"`
	ObjectKey   string                 `json:"objectKey,omitempty"`
	RunID       string                 `json:"runId,omitempty"`
	Seq         int                    `json:"seq"`
	Action      string                 `json:"action"`
	Mode        string                 `json:"mode,omitempty"`
	State       store.RemediationState `json:"state"`
	Plan        json.RawMessage        `json:"plan,omitempty"`
	ApprovedBy  string                 `json:"approvedBy,omitempty"`
	ApprovedAt  *time.Time             `json:"approvedAt,omitempty"`
	Before      json.RawMessage        `json:"before,omitempty"`
	After       json.RawMessage        `json:"after,omitempty"`
	Result      string                 `json:"result,omitempty"`
	Error       string                 `json:"error,omitempty"`
	// Verified is set on attempts that changed something: whether the
	// value was read back as written (VerifiedAt says when).
	Verified   *bool      `json:"verified,omitempty"`
	VerifiedAt *time.Time `json:"verifiedAt,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// jsonDoc keeps a stored JSON document as it is; a stored value that is
// not JSON (never written by this package) is shown as a JSON string
// rather than breaking the whole answer.
func jsonDoc(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if !json.Valid(b) {
		return raw(string(b))
	}
	return json.RawMessage(b)
}

func attempt(r *store.Remediation) Attempt {
	a := Attempt{ID: r.ID, Tenant: r.Tenant, Fingerprint: r.Fingerprint, RuleID: r.RuleID, ObjectKey: r.ObjectKey, RunID: r.RunID,
		Seq: r.Seq, Action: r.Action, Mode: r.Mode, State: r.State, Plan: jsonDoc(r.Plan), ApprovedBy: r.ApprovedBy, ApprovedAt: r.ApprovedAt,
		Before: jsonDoc(r.Before), After: jsonDoc(r.After), Result: r.Result, Error: r.Error, VerifiedAt: r.VerifiedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	// Attempts that wrote: changed ones, and failed ones past the write.
	wrote := r.Action != ActionPlan && (r.VerifiedAt != nil || strings.HasPrefix(r.Result, resultChanged) || r.State == store.RemediationFailed && r.After != nil)
	if wrote {
		v := r.VerifiedAt != nil
		a.Verified = &v
	}
	return a
}

// History returns a tenant's audit rows (one run's when runID is set),
// oldest first.
func (s *Service) History(ctx context.Context, tenantName, runID string, limit int) ([]Attempt, error) {
	rows, err := s.o.Store.Remediations(ctx, store.RemediationFilter{Tenant: tenantName, RunID: runID, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]Attempt, len(rows))
	for i := range rows {
		out[i] = attempt(&rows[i])
	}
	return out, nil
}
