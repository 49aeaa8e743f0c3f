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
}

// Notifier is told when a run stopped at its change cap.
type Notifier interface {
	CapReached(ctx context.Context, ev CapEvent) error
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
	var out []PlanRecord
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

func hasState(states []store.RemediationState, s store.RemediationState) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}

func opsJSON(p *Plan) []byte { return raw(p.Ops) }

// RecordStats counts what Record did.
type RecordStats struct {
	Created    int `json:"created"`
	Kept       int `json:"kept"`
	Superseded int `json:"superseded"`
	Off        int `json:"off"`
}

// Record stores the plans of a scan. A finding whose pending plan has the
// same operations keeps it (and its approval); a changed plan supersedes the
// pending one; a plan identical to a rejected one is not proposed again.
func (s *Service) Record(ctx context.Context, scanID int64, plans []Plan) (RecordStats, error) {
	var st RecordStats
	if len(plans) == 0 {
		return st, nil
	}
	tenantName := plans[0].Tenant
	pol := s.o.Policy(tenantName).withDefaults()
	existing, err := s.Plans(ctx, tenantName, store.RemediationPlanned, store.RemediationApproved, store.RemediationRejected, store.RemediationBlocked)
	if err != nil {
		return st, fmt.Errorf("record plans: %w", err)
	}
	byFP := map[string][]PlanRecord{}
	deferred := map[string]bool{}
	for _, pr := range existing {
		if pr.Plan.NotBefore == nil {
			byFP[pr.Plan.Fingerprint] = append(byFP[pr.Plan.Fingerprint], pr)
		} else if pr.State != store.RemediationRejected {
			deferred[pr.Plan.Fingerprint] = true
		}
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
		for _, old := range byFP[p.Fingerprint] {
			if bytes.Equal(opsJSON(&old.Plan), opsJSON(&p)) && old.Plan.Blocked == p.Blocked {
				same = true
				continue
			}
			if old.State == store.RemediationRejected {
				continue
			}
			err := s.o.Store.UpdateRemediation(ctx, store.Remediation{ID: old.ID, State: store.RemediationSkipped, ApprovedBy: old.ApprovedBy,
				ApprovedAt: old.ApprovedAt, Result: "superseded by the plan of scan " + fmt.Sprint(scanID)}, old.State)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return st, fmt.Errorf("record plans: %w", err)
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
		if _, err := s.o.Store.CreateRemediation(ctx, store.Remediation{Tenant: p.Tenant, Fingerprint: p.Fingerprint, RuleID: p.RuleID,
			ObjectKey: p.ObjectKey, RunID: fmt.Sprintf("plan-%d", scanID), Seq: i, Action: ActionPlan, Mode: string(mode),
			State: state, Plan: raw(p), Result: note}); err != nil {
			return st, fmt.Errorf("record plans: %w", err)
		}
		st.Created++
	}
	return st, nil
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
	for _, pr := range prs {
		if pr.State == to {
			continue
		}
		if to == store.RemediationApproved {
			if m := pol.ModeFor(pr.Plan.RuleID); m != ModeApprove && m != ModeAuto {
				return fmt.Errorf("rule %s is in %s mode; set its remediation mode to approve or auto to apply fixes: %w", pr.Plan.RuleID, m, ErrModeForbids)
			}
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
	l, ok := s.o.Store.(store.Leases)
	if !ok {
		return func() {}, nil
	}
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

// hold returns why a plan may not run now, or "".
func (s *Service) hold(ctx context.Context, pol *Policy, pr *PlanRecord, now time.Time) string {
	p := &pr.Plan
	if p.Blocked != "" {
		return "blocked: " + p.Blocked
	}
	mode := pol.ModeFor(p.RuleID)
	approved := pr.State == store.RemediationApproved
	switch mode {
	case ModeOff, ModeNotify, ModeDryRun:
		return fmt.Sprintf("rule is in %s mode", mode)
	case ModeApprove:
		if !approved {
			return "waiting for approval"
		}
	case ModeAuto:
		if destructiveNow(p) && !approved && !pol.DestructiveAllowed(p.RuleID) {
			return "destructive step waiting for approval (not allowed in auto mode for this rule)"
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
	latest, err := s.o.Store.Scans(ctx, store.ScanFilter{Tenant: p.Tenant, Limit: 1})
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
	for i := len(rows) - 1; i >= 0; i-- {
		r := &rows[i]
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
			if err := s.o.Store.UpdateRemediation(ctx, store.Remediation{ID: it.rollbackOf, State: store.RemediationRolledBack,
				Result: resultChanged + "; rolled back in " + rep.RunID}, store.RemediationApplied); err != nil {
				return rep, fmt.Errorf("rollback %s: mark attempt %d: %w", runID, it.rollbackOf, err)
			}
		}
	}
	rep.FinishedAt = s.o.Now().UTC()
	return rep, nil
}

// History returns a tenant's audit rows (one run's when runID is set),
// oldest first.
func (s *Service) History(ctx context.Context, tenantName, runID string, limit int) ([]store.Remediation, error) {
	return s.o.Store.Remediations(ctx, store.RemediationFilter{Tenant: tenantName, RunID: runID, Limit: limit})
}
