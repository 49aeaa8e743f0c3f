package remediate

import (
	"context"
	"fmt"
	"strings"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/tenant"
)

// KindCapReached is the notification kind of a run stopped at its cap.
const KindCapReached notify.Kind = "remediation_cap"

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
	var items []notify.Item
	for _, d := range notify.Destinations(n.Routes, &f) {
		items = append(items, notify.Item{Key: "remediation-cap/" + d + "/" + ev.RunID, Destination: d,
			Notification: notify.Notification{Kind: KindCapReached, Destination: d, Tenant: ev.Tenant, At: ev.At,
				Key: "remediation-cap/" + d + "/" + ev.RunID, Finding: &f}})
	}
	if len(items) == 0 {
		return nil
	}
	rows, err := notify.OutboxItems(items)
	if err != nil {
		return err
	}
	if _, err := n.Outbox.Enqueue(ctx, rows...); err != nil {
		return fmt.Errorf("enqueue cap notification: %w", err)
	}
	return nil
}

// Remediable reports whether findings of a rule should carry Approve fix /
// Reject buttons under a policy: the rule has a fix and waits for people.
func Remediable(p Policy, ruleID string) bool {
	p = p.withDefaults()
	m := p.ModeFor(ruleID)
	return Fixable(ruleID) && (m == ModeApprove || m == ModeAuto)
}
