// Package notifystore connects notify to the store: the outbox the worker
// drains, the findings lifecycle the planner reads, and the finding actions
// Slack buttons perform.
package notifystore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
)

// Outbox adapts store.Outbox to notify.Outbox and notify.Enqueuer.
type Outbox struct {
	S store.Outbox
}

var (
	_ notify.Outbox   = (*Outbox)(nil)
	_ notify.Enqueuer = (*Outbox)(nil)
)

func item(m store.OutboxMessage) notify.OutboxItem {
	it := notify.OutboxItem{ID: m.ID, Key: m.IdempotencyKey, Tenant: m.Tenant, Destination: m.Destination, Kind: notify.Kind(m.Kind),
		Fingerprint: m.Fingerprint, Payload: m.Payload, Attempts: m.Attempts, CreatedAt: m.CreatedAt, Claims: m.Claims}
	if m.FirstClaimedAt != nil {
		it.FirstClaimedAt = *m.FirstClaimedAt
	}
	return it
}

// Enqueue implements notify.Enqueuer.
func (o *Outbox) Enqueue(ctx context.Context, items ...notify.OutboxItem) (int, error) {
	msgs := make([]store.OutboxMessage, len(items))
	for i, it := range items {
		msgs[i] = store.OutboxMessage{IdempotencyKey: it.Key, Tenant: it.Tenant, Destination: it.Destination, Kind: string(it.Kind),
			Fingerprint: it.Fingerprint, Members: it.Members, Payload: it.Payload}
	}
	return o.S.Enqueue(ctx, msgs...)
}

// ClaimDue implements notify.Outbox.
func (o *Outbox) ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]notify.OutboxItem, error) {
	ms, err := o.S.ClaimDue(ctx, owner, limit, lease)
	if err != nil {
		return nil, err
	}
	out := make([]notify.OutboxItem, len(ms))
	for i, m := range ms {
		out[i] = item(m)
	}
	return out, nil
}

// MarkSent implements notify.Outbox.
func (o *Outbox) MarkSent(ctx context.Context, id int64, ref string) error {
	return o.S.MarkSent(ctx, id, ref)
}

// MarkFailed implements notify.Outbox.
func (o *Outbox) MarkFailed(ctx context.Context, id int64, owner, msg string, at time.Time) error {
	return o.S.MarkFailed(ctx, id, owner, msg, at)
}

// MarkDead implements notify.Outbox.
func (o *Outbox) MarkDead(ctx context.Context, id int64, reason string) error {
	return o.S.MarkDead(ctx, id, reason)
}

// DeadLetterExpired implements notify.Outbox.
func (o *Outbox) DeadLetterExpired(ctx context.Context, cutoff time.Time) (int, error) {
	return o.S.DeadLetterExpired(ctx, cutoff)
}

// ThreadRef implements notify.Outbox.
func (o *Outbox) ThreadRef(ctx context.Context, dest, fp string, before int64) (string, bool, error) {
	return o.S.ThreadRefBefore(ctx, dest, fp, before)
}

// PendingBefore implements notify.Outbox.
func (o *Outbox) PendingBefore(ctx context.Context, dest, fp string, id int64) (bool, error) {
	return o.S.PendingBefore(ctx, dest, fp, id)
}

// Options enrich findings with what the store does not keep.
type Options struct {
	// Remediable reports whether a rule has an automated fix (Approve
	// fix / Reject buttons). Nil means none.
	Remediable func(ruleID string) bool
}

// Finding converts a store finding, adding the rule's title, fix and
// references.
func Finding(f *store.Finding, o Options) notify.Finding {
	nf := notify.Finding{Fingerprint: f.Fingerprint, Tenant: f.Tenant, RuleID: f.RuleID, Section: f.Section, Severity: f.Severity,
		PreviousSeverity: f.PrevSeverity, ObjectKey: f.ObjectKey, ObjectName: f.ObjectName, ObjectURL: f.ObjectURL, Expected: f.Expected, Actual: f.Actual,
		Message: f.Message, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, ResolvedAt: f.ResolvedAt}
	if r, ok := rules.Lookup(f.RuleID); ok {
		m := r.Meta()
		nf.Title, nf.Remediation = m.Title, m.Remediation
		nf.References = notify.References{CIS: m.References.CIS, SCuBA: m.References.SCuBA, Docs: m.References.Docs}
	}
	if o.Remediable != nil {
		nf.Remediable = o.Remediable(f.RuleID)
	}
	return nf
}

func change(tr notify.Transition, f *store.Finding, o Options) notify.Change {
	return notify.Change{Transition: tr, Finding: Finding(f, o), Acknowledged: f.AcknowledgedAt != nil, SnoozedUntil: f.SnoozedUntil}
}

// ScanStore is what PlanScan reads and writes.
type ScanStore interface {
	EachTransition(ctx context.Context, scanID int64, fn func(*store.Transition) error) error
	store.Outbox
}

// ReminderStore is what PlanReminders reads and writes.
type ReminderStore interface {
	FindingsList(ctx context.Context, f store.FindingFilter) ([]store.Finding, error)
	store.Outbox
}

// PlanScan reads what a recorded scan did to findings and enqueues the
// planned notifications. Calling it again for the same scan enqueues
// nothing new (idempotency keys), so the daemon may retry it after a crash.
func PlanScan(ctx context.Context, st ScanStore, p *notify.Planner, scan store.Scan, o Options) (int, error) {
	at := scan.CollectedAt
	if at.IsZero() {
		at = scan.FinishedAt
	}
	// The transitions are planned as they are read: a first scan of a
	// large tenant opens hundreds of thousands of findings, and a digest
	// keeps only their counts and the first of them.
	plan := p.Start(notify.Scan{ID: strconv.FormatInt(scan.ID, 10), Tenant: scan.Tenant, At: at})
	err := st.EachTransition(ctx, scan.ID, func(tr *store.Transition) error {
		c := change(notify.Transition(tr.Kind), &tr.Finding, o)
		plan.Add(&c)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("plan notifications of scan %d: %w", scan.ID, err)
	}
	return enqueue(ctx, st, plan.Items())
}

// reminderPage is how many open findings PlanReminders reads, plans and
// enqueues at a time: a large tenant has hundreds of thousands open, and
// reminders are planned every few minutes.
var reminderPage = 2000

// PlanReminders enqueues the reminders due at now for a tenant's open
// findings, a page of them at a time in list order (most severe first).
func PlanReminders(ctx context.Context, st ReminderStore, p *notify.Planner, tenantName string, now time.Time, o Options) (int, error) {
	if p.Reminder.Every <= 0 {
		return 0, nil
	}
	f := store.FindingFilter{Tenant: tenantName, States: []store.FindingState{store.FindingOpen, store.FindingReopened},
		MinSeverity: p.Reminder.MinSeverity, Limit: max(reminderPage, 1)}
	total := 0
	for {
		fs, err := st.FindingsList(ctx, f)
		if err != nil {
			return total, fmt.Errorf("plan reminders for %s: %w", tenantName, err)
		}
		changes := make([]notify.Change, 0, len(fs))
		for i := range fs {
			changes = append(changes, change(notify.TransitionOpen, &fs[i], o))
		}
		n, err := enqueue(ctx, st, p.Reminders(now, changes))
		total += n
		if err != nil || len(fs) < f.Limit {
			return total, err
		}
		k := fs[len(fs)-1].Key()
		f.After = &k
	}
}

func enqueue(ctx context.Context, st store.Outbox, items []notify.Item) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	rows, err := notify.OutboxItems(items)
	if err != nil {
		return 0, err
	}
	n, err := (&Outbox{S: st}).Enqueue(ctx, rows...)
	if err != nil {
		return 0, fmt.Errorf("enqueue notifications: %w", err)
	}
	return n, nil
}

// FindingActions performs Slack's Acknowledge and Snooze on the store.
type FindingActions struct {
	S store.Findings
}

var _ slack.FindingActions = FindingActions{}

// Acknowledge implements slack.FindingActions.
func (a FindingActions) Acknowledge(ctx context.Context, tenantName, fp, by string) error {
	_, err := a.S.AckFinding(ctx, tenantName, fp, store.Mark{By: by, Reason: "acknowledged in Slack"})
	return mapNotFound(err)
}

// Snooze implements slack.FindingActions.
func (a FindingActions) Snooze(ctx context.Context, tenantName, fp string, until time.Time, by string) error {
	_, err := a.S.SnoozeFinding(ctx, tenantName, fp, until, store.Mark{By: by, Reason: "snoozed in Slack"})
	return mapNotFound(err)
}

// AcceptRisk implements slack.FindingActions.
func (a FindingActions) AcceptRisk(ctx context.Context, tenantName, fp string, w slack.Acceptance) error {
	_, err := a.S.AcceptRisk(ctx, tenantName, fp, store.Acceptance{Reason: w.Reason, Owner: w.Owner, By: w.By, Until: w.Until})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) {
		return fmt.Errorf("%w: %w", slack.ErrRefused, err)
	}
	return mapNotFound(err)
}

func mapNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", slack.ErrNotFound, err)
	}
	return err
}
