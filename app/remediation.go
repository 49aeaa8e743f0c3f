package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/daemon"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
)

// approvedRunTimeout bounds the run an approval starts.
const approvedRunTimeout = 15 * time.Minute

// Remediations is the daemon's remediation: one remediate.Service per
// tenant, because each tenant has its own clock (a fixture tenant's is its
// recorded time) that snapshot ages are measured against. It serves the
// remediation API, takes Slack approvals and runs after every scan.
type Remediations struct {
	log      *slog.Logger
	metrics  *daemon.Metrics
	services map[string]*remediate.Service
	policies map[string]remediate.Policy

	// Runs started by approvals live until Close.
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ daemon.Remediation = (*Remediations)(nil)
	_ slack.Approver     = (*Remediations)(nil)
)

// remediationDeps are what the services reach lazily: the pipeline is
// built after the remediation it calls back into.
type remediationDeps struct {
	store    remediate.Store
	target   func(tenantName string) (remediate.Target, error)
	clock    func(tenantName string) time.Time
	notifier remediate.Notifier
	metrics  *daemon.Metrics
	log      *slog.Logger
}

// PolicyFor is a tenant's remediation policy from its configuration.
func PolicyFor(t config.Tenant) remediate.Policy {
	p := remediate.PolicyFrom(t.Remediation)
	if g := t.Remediation.GracePeriod.D(); g > 0 {
		p.GracePeriod = g
	}
	return p
}

func newRemediations(tenants []config.Tenant, d remediationDeps) (*Remediations, error) {
	r := &Remediations{log: d.log, metrics: d.metrics, services: map[string]*remediate.Service{}, policies: map[string]remediate.Policy{}}
	r.bg, r.cancel = context.WithCancel(context.Background())
	for _, t := range tenants {
		name, pol := t.Name, PolicyFor(t)
		r.policies[name] = pol
		svc, err := remediate.New(remediate.Options{
			Store:  d.store,
			Policy: func(string) remediate.Policy { return pol },
			Target: func(context.Context, string) (remediate.Target, error) {
				return d.target(name)
			},
			Notifier:   d.notifier,
			OnApproved: func(_ context.Context, tenantName, _ string) { r.applySoon(tenantName) },
			Now:        func() time.Time { return d.clock(name) },
			Logger:     d.log.With("tenant", name),
		})
		if err != nil {
			r.cancel()
			return nil, fmt.Errorf("tenants.%s.remediation: %w", name, err)
		}
		r.services[name] = svc
	}
	return r, nil
}

// Policy returns a tenant's remediation policy.
func (r *Remediations) Policy(tenantName string) remediate.Policy { return r.policies[tenantName] }

// Remediable reports whether findings of a rule of the tenant get Approve
// fix / Reject buttons.
func (r *Remediations) Remediable(tenantName string) func(ruleID string) bool {
	pol, ok := r.policies[tenantName]
	if !ok {
		return nil
	}
	return func(ruleID string) bool { return remediate.Remediable(pol, ruleID) }
}

func (r *Remediations) service(tenantName string) (*remediate.Service, error) {
	svc, ok := r.services[tenantName]
	if !ok {
		return nil, fmt.Errorf("tenant %q is not configured: %w", tenantName, remediate.ErrNotFound)
	}
	return svc, nil
}

// acts reports whether a policy may change anything (some rule in approve
// or auto mode); other policies only record plans.
func acts(p remediate.Policy) bool {
	if p.Mode == remediate.ModeApprove || p.Mode == remediate.ModeAuto {
		return true
	}
	for _, m := range p.Rules {
		if m == remediate.ModeApprove || m == remediate.ModeAuto {
			return true
		}
	}
	return false
}

// plans reports whether a policy records plans at all.
func plans(p remediate.Policy) bool {
	if p.Mode != remediate.ModeOff {
		return true
	}
	for _, m := range p.Rules {
		if m != remediate.ModeOff {
			return true
		}
	}
	return false
}

// AfterScan plans fixes for a committed scan, records them, and applies
// what the policy lets run now (auto-mode plans, approved plans, deferred
// steps whose grace period is over).
func (r *Remediations) AfterScan(ctx context.Context, rec Recorded) error {
	name := rec.Tenant.Name
	svc, err := r.service(name)
	if err != nil {
		return err
	}
	pol := r.policies[name]
	if !plans(pol) || rec.Snapshot == nil {
		return nil
	}
	sel, err := remediate.Select(rec.Results.Each, &pol)
	if err != nil {
		return err
	}
	if sel.Over > 0 {
		r.log.WarnContext(ctx, "remediation plans capped", "tenant", name, "scan_id", rec.Scan.ID, "max_plans", pol.MaxPlans, "not_planned", sel.Over)
	}
	ps, skipped := remediate.Build(rec.Snapshot, rec.Baseline, sel.Failures)
	for i := range ps {
		ps[i].Tenant = name
	}
	record := svc.Record
	if rec.Scan.Scoped() {
		// A change scan: only its own findings' plans are reconciled.
		record = svc.RecordOwn
	}
	st, err := record(ctx, rec.Scan.ID, ps)
	if err != nil {
		return fmt.Errorf("record remediation plans: %w", err)
	}
	r.log.InfoContext(ctx, "remediation planned", "tenant", name, "scan_id", rec.Scan.ID, "created", st.Created, "kept", st.Kept,
		"superseded", st.Superseded, "unplannable", len(skipped), "held_by_unknown", sel.Held)
	if !acts(pol) {
		return nil
	}
	_, err = r.apply(ctx, name, remediate.ApplyOptions{})
	return err
}

// apply runs the tenant's due plans and counts the outcome.
func (r *Remediations) apply(ctx context.Context, name string, o remediate.ApplyOptions) (*remediate.RunReport, error) {
	svc, err := r.service(name)
	if err != nil {
		return nil, err
	}
	rep, err := svc.Apply(ctx, name, o)
	if rep != nil {
		r.count(rep)
		if len(rep.Ops) > 0 {
			r.log.InfoContext(ctx, "remediation run", "tenant", name, "run", rep.RunID, "changes", rep.Changes,
				"applied", rep.Count(remediate.StatusApplied), "unchanged", rep.Count(remediate.StatusUnchanged),
				"skipped", rep.Count(remediate.StatusSkipped), "failed", rep.Count(remediate.StatusFailed),
				"not_attempted", rep.Count(remediate.StatusNotAttempted), "held", len(rep.Held), "cap_reached", rep.CapReached)
		}
	}
	if errors.Is(err, remediate.ErrBusy) {
		// Another replica or an approval is applying; it runs the same plans.
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("apply remediation: %w", err)
	}
	return rep, nil
}

func (r *Remediations) count(rep *remediate.RunReport) {
	if r.metrics == nil {
		return
	}
	for _, op := range rep.Ops {
		r.metrics.Remediations.WithLabelValues(rep.Tenant, op.RuleID, op.Status).Inc()
	}
}

// applySoon starts a run after an approval, outside the request that
// approved it.
func (r *Remediations) applySoon(tenantName string) {
	if r.bg.Err() != nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(r.bg, approvedRunTimeout)
		defer cancel()
		if _, err := r.apply(ctx, tenantName, remediate.ApplyOptions{}); err != nil && ctx.Err() == nil {
			r.log.Warn("remediation after approval", "tenant", tenantName, "error", err)
		}
	}()
}

// Wait waits for the runs started by approvals.
func (r *Remediations) Wait() { r.wg.Wait() }

// close stops runs started by approvals and waits for them.
func (r *Remediations) close() {
	r.cancel()
	r.wg.Wait()
}

// Plans implements daemon.Remediation.
func (r *Remediations) Plans(ctx context.Context, tenantName string, states ...store.RemediationState) ([]remediate.PlanRecord, error) {
	svc, err := r.service(tenantName)
	if err != nil {
		return nil, err
	}
	return svc.Plans(ctx, tenantName, states...)
}

// Approve implements daemon.Remediation and slack.Approver.
func (r *Remediations) Approve(ctx context.Context, tenantName, fp, by string) error {
	svc, err := r.service(tenantName)
	if err != nil {
		return fmt.Errorf("%w: %w", slack.ErrNotFound, err)
	}
	return slackErr(svc.Approve(ctx, tenantName, fp, by))
}

// Reject implements daemon.Remediation and slack.Approver.
func (r *Remediations) Reject(ctx context.Context, tenantName, fp, by string) error {
	svc, err := r.service(tenantName)
	if err != nil {
		return fmt.Errorf("%w: %w", slack.ErrNotFound, err)
	}
	return slackErr(svc.Reject(ctx, tenantName, fp, by))
}

// slackErr marks an unknown plan as Slack's not-found, which the buttons
// answer as such.
func slackErr(err error) error {
	if errors.Is(err, remediate.ErrNotFound) {
		return fmt.Errorf("%w: %w", slack.ErrNotFound, err)
	}
	return err
}

// Apply implements daemon.Remediation.
func (r *Remediations) Apply(ctx context.Context, tenantName string, o remediate.ApplyOptions) (*remediate.RunReport, error) {
	svc, err := r.service(tenantName)
	if err != nil {
		return nil, err
	}
	rep, err := svc.Apply(ctx, tenantName, o)
	if rep != nil {
		r.count(rep)
	}
	return rep, err
}

// Rollback implements daemon.Remediation.
func (r *Remediations) Rollback(ctx context.Context, tenantName, runID, by string) (*remediate.RunReport, error) {
	svc, err := r.service(tenantName)
	if err != nil {
		return nil, err
	}
	rep, err := svc.Rollback(ctx, tenantName, runID, by)
	if rep != nil {
		r.count(rep)
	}
	return rep, err
}

// History implements daemon.Remediation.
func (r *Remediations) History(ctx context.Context, tenantName, runID string, limit int) ([]remediate.Attempt, error) {
	svc, err := r.service(tenantName)
	if err != nil {
		return nil, err
	}
	return svc.History(ctx, tenantName, runID, limit)
}
