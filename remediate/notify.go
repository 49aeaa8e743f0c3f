package remediate

import (
	"context"
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/tenant"
)

// KindCapReached is the notification kind of a run stopped at its cap.
const KindCapReached = notify.KindRemediationCap

// OutboxNotifier announces cap events through the notification outbox, to
// every destination whose routes take a high-severity finding of the tenant.
type OutboxNotifier struct {
	Outbox notify.Enqueuer
	Routes []notify.Route
}

var _ Notifier = OutboxNotifier{}

// CapFinding is how a cap event reads as a notification.
func CapFinding(ev CapEvent) notify.Finding {
	rules := map[string]bool{}
	var names []string
	for _, l := range ev.Left {
		if !rules[l.RuleID] {
			rules[l.RuleID] = true
			names = append(names, l.RuleID)
		}
	}
	return notify.Finding{
		Fingerprint: "remediation-cap:" + ev.RunID, Tenant: ev.Tenant, RuleID: "remediation.max_changes",
		Title: "Remediation stopped at its change cap", Severity: tenant.SeverityHigh, ObjectKey: "remediation:" + ev.RunID,
		ObjectName: "remediation run " + ev.RunID,
		Expected:   fmt.Sprintf("at most %d changes per run", ev.Cap),
		Actual:     fmt.Sprintf("%d changes made, %d operations left", ev.Changes, len(ev.Left)),
		Message: fmt.Sprintf("The run made %d changes and stopped; %d operations were not attempted (rules: %s). Review the plans and raise remediation.max_changes or apply in smaller steps.",
			ev.Changes, len(ev.Left), strings.Join(names, ", ")),
		FirstSeen: ev.At, LastSeen: ev.At,
	}
}

// CapReached implements Notifier.
func (n OutboxNotifier) CapReached(ctx context.Context, ev CapEvent) error {
	f := CapFinding(ev)
	return n.enqueue(ctx, KindCapReached, &f, func(d string) string { return "remediation-cap/" + d + "/" + ev.RunID })
}

// enqueue puts f, as a notification of kind, in the outbox for every
// destination whose routes take it; key names it per destination.
func (n OutboxNotifier) enqueue(ctx context.Context, kind notify.Kind, f *notify.Finding, key func(dest string) string) error {
	var items []notify.Item
	for _, d := range notify.Destinations(n.Routes, f) {
		items = append(items, notify.Item{Key: key(d), Destination: d,
			Notification: notify.Notification{Kind: kind, Destination: d, Tenant: f.Tenant, At: f.LastSeen, Key: key(d), Finding: f}})
	}
	if len(items) == 0 {
		return nil
	}
	rows, err := notify.OutboxItems(items)
	if err != nil {
		return err
	}
	if _, err := n.Outbox.Enqueue(ctx, rows...); err != nil {
		return fmt.Errorf("enqueue %s notification: %w", kind, err)
	}
	return nil
}

// AppliedFinding is how the changes of a run to one finding's objects
// read as a notification: what changed, by which rule, before and after,
// and how to roll it back.
func AppliedFinding(ev AppliedEvent) notify.Finding {
	var lines, after []string
	for _, c := range ev.Changes {
		lines = append(lines, fmt.Sprintf("%s: %s of %s from %s to %s (read back)", c.Action, c.Field, c.ObjectKey, compactJSON(c.Before), compactJSON(c.After)))
		after = append(after, c.Field+" "+compactJSON(c.After)+" (was "+compactJSON(c.Before)+")")
	}
	who := ev.ApprovedBy
	if strings.HasPrefix(who, "auto:") {
		who = "the auto remediation policy"
	}
	return notify.Finding{
		Fingerprint: "remediation-applied:" + ev.RunID + ":" + ev.Fingerprint, Tenant: ev.Tenant, RuleID: ev.RuleID,
		Title: "sharedrift changed " + objectName(ev) + " to fix " + ev.RuleID, Section: ev.Section, Severity: ev.Severity,
		ObjectKey: ev.ObjectKey, ObjectName: ev.ObjectName, Expected: ev.Expected, Actual: strings.Join(after, "; "),
		Message:     fmt.Sprintf("Run %s, approved by %s, changed:\n%s", ev.RunID, who, strings.Join(lines, "\n")),
		Remediation: "To undo it: " + ev.Rollback + " (or POST /api/v1/tenants/" + ev.Tenant + "/remediation/runs/" + ev.RunID + "/rollback)",
		FirstSeen:   ev.At, LastSeen: ev.At,
	}
}

func objectName(ev AppliedEvent) string {
	if ev.ObjectName != "" {
		return ev.ObjectName
	}
	return ev.ObjectKey
}

// Applied implements Notifier.
func (n OutboxNotifier) Applied(ctx context.Context, ev AppliedEvent) error {
	f := AppliedFinding(ev)
	return n.enqueue(ctx, notify.KindRemediationApplied, &f, func(d string) string {
		return "remediation-applied/" + d + "/" + ev.RunID + "/" + ev.Fingerprint
	})
}

// Remediable reports whether findings of a rule should carry Approve fix /
// Reject buttons under a policy: the rule has a fix and waits for people.
func Remediable(p Policy, ruleID string) bool {
	p = p.withDefaults()
	m := p.ModeFor(ruleID)
	return Fixable(ruleID) && (m == ModeApprove || m == ModeAuto)
}
