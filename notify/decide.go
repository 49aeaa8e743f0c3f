package notify

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Transition is what happened to a finding in a scan, as the store's
// findings lifecycle reports it.
type Transition string

// Finding transitions.
const (
	TransitionNew      Transition = "new"
	TransitionOpen     Transition = "open" // still open, seen again
	TransitionReopened Transition = "reopened"
	TransitionResolved Transition = "resolved"
	// TransitionEscalated: still open, severity went up (PreviousSeverity set).
	TransitionEscalated Transition = "escalated"
)

// Change is one finding's transition in a scan. An escalation is
// TransitionEscalated (or TransitionOpen) with Finding.PreviousSeverity below
// Finding.Severity.
type Change struct {
	Transition   Transition
	Finding      Finding
	Acknowledged bool
	SnoozedUntil *time.Time
}

// Scan identifies the scan a batch of changes comes from.
type Scan struct {
	ID     string
	Tenant string
	At     time.Time
}

// Item is one outbox row to enqueue: one notification for one destination.
type Item struct {
	// Key is the idempotency key: enqueuing the same key twice is a no-op, so
	// planning the same scan again never produces a second message.
	Key         string
	Destination string
	// Group orders delivery: a row waits for older undelivered rows of the
	// same destination and group (the finding's fingerprint).
	Group        string
	Notification Notification
}

// Payload is the JSON the outbox stores for the item.
func (it *Item) Payload() ([]byte, error) {
	b, err := json.Marshal(&it.Notification)
	if err != nil {
		return nil, fmt.Errorf("encode notification %s: %w", it.Key, err)
	}
	return b, nil
}

// DecodePayload reads an outbox payload back.
func DecodePayload(b []byte) (*Notification, error) {
	var n Notification
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("decode notification: %w", err)
	}
	return &n, nil
}

// Planner decides what to send. It is pure: no I/O and no clock, so it can
// run inside the store's scan-commit transaction.
type Planner struct {
	Routes   []Route
	Digest   DigestConfig
	Reminder ReminderConfig
}

// NewPlanner builds a planner from a validated configuration.
func NewPlanner(c *Config) *Planner {
	return &Planner{Routes: c.Routes, Digest: c.Digest, Reminder: c.Reminders}
}

// kindOf maps a transition to the notification it deserves, if any.
func kindOf(c *Change) (Kind, bool) {
	switch c.Transition {
	case TransitionNew:
		return KindNew, true
	case TransitionReopened:
		return KindReopened, true
	case TransitionResolved:
		return KindResolved, true
	case TransitionOpen, TransitionEscalated:
		if c.Finding.PreviousSeverity == "" {
			return "", false
		}
		prev, ok1 := c.Finding.PreviousSeverity.Rank()
		cur, ok2 := c.Finding.Severity.Rank()
		if ok1 && ok2 && cur > prev {
			return KindEscalated, true
		}
	}
	return "", false
}

// Plan turns a scan's finding transitions into outbox items: new, reopened
// and escalated findings are announced (folded into one digest per
// destination above the digest threshold), resolved ones get a resolved
// notice. Findings still open with nothing new produce nothing, which is what
// makes two scans of the same drift one message.
func (p *Planner) Plan(scan Scan, changes []Change) []Item {
	sorted := make([]*Change, 0, len(changes))
	for i := range changes {
		sorted = append(sorted, &changes[i])
	}
	sort.SliceStable(sorted, func(i, j int) bool { return lessFinding(&sorted[i].Finding, &sorted[j].Finding) })

	type pending struct {
		kind Kind
		c    *Change
	}
	announce := map[string][]pending{}
	resolved := map[string][]pending{}
	var order []string
	for _, c := range sorted {
		kind, ok := kindOf(c)
		if !ok {
			continue
		}
		// A snoozed finding stays quiet until the snooze ends; its resolution
		// is still worth telling.
		if kind != KindResolved && c.SnoozedUntil != nil && c.SnoozedUntil.After(scan.At) {
			continue
		}
		for _, d := range Destinations(p.Routes, &c.Finding) {
			if _, ok := announce[d]; !ok {
				if _, ok := resolved[d]; !ok {
					order = append(order, d)
				}
			}
			if kind == KindResolved {
				resolved[d] = append(resolved[d], pending{kind, c})
			} else {
				announce[d] = append(announce[d], pending{kind, c})
			}
		}
	}

	var items []Item
	for _, d := range order {
		ann := announce[d]
		if p.Digest.Threshold > 0 && len(ann) >= p.Digest.Threshold {
			dg := &Digest{Counts: map[Kind]int{}, BySeverity: map[tenant.Severity]int{}}
			for _, a := range ann {
				dg.Counts[a.kind]++
				dg.BySeverity[a.c.Finding.Severity]++
				dg.Findings = append(dg.Findings, a.c.Finding)
			}
			key := "digest/" + d + "/" + scan.ID
			items = append(items, Item{Key: key, Destination: d, Notification: Notification{
				Kind: KindDigest, Destination: d, Tenant: scan.Tenant, ScanID: scan.ID, At: scan.At, Key: key, Digest: dg,
			}})
		} else {
			for _, a := range ann {
				items = append(items, single(a.kind, d, scan, &a.c.Finding))
			}
		}
		for _, r := range resolved[d] {
			items = append(items, single(r.kind, d, scan, &r.c.Finding))
		}
	}
	return items
}

func single(kind Kind, dest string, scan Scan, f *Finding) Item {
	key := string(kind) + "/" + dest + "/" + f.Fingerprint + "/" + scan.ID
	if kind == KindEscalated {
		key += "/" + string(f.Severity)
	}
	fc := *f
	return Item{Key: key, Destination: dest, Group: f.Fingerprint, Notification: Notification{
		Kind: kind, Destination: dest, Tenant: f.Tenant, ScanID: scan.ID, At: scan.At, Key: key, Finding: &fc,
	}}
}

// Reminders re-announces open findings at or above the reminder severity
// once every Reminder.Every since they were first seen. The n-th reminder
// of a finding has a fixed key, so calling this on every tick (or from
// several replicas) enqueues it once.
func (p *Planner) Reminders(now time.Time, open []Change) []Item {
	every := p.Reminder.Every
	if every <= 0 {
		return nil
	}
	sorted := make([]*Change, 0, len(open))
	for i := range open {
		sorted = append(sorted, &open[i])
	}
	sort.SliceStable(sorted, func(i, j int) bool { return lessFinding(&sorted[i].Finding, &sorted[j].Finding) })
	var items []Item
	for _, c := range sorted {
		f := &c.Finding
		if c.Transition == TransitionResolved || f.ResolvedAt != nil || c.Acknowledged {
			continue
		}
		if c.SnoozedUntil != nil && c.SnoozedUntil.After(now) {
			continue
		}
		if !f.Severity.AtLeast(p.Reminder.MinSeverity) || f.FirstSeen.IsZero() {
			continue
		}
		n := int64(now.Sub(f.FirstSeen) / every)
		if n < 1 {
			continue
		}
		at := f.FirstSeen.Add(time.Duration(n) * every)
		for _, d := range Destinations(p.Routes, f) {
			key := "reminder/" + d + "/" + f.Fingerprint + "/" + strconv.FormatInt(f.FirstSeen.Unix(), 10) + "/" + strconv.FormatInt(n, 10)
			fc := *f
			items = append(items, Item{Key: key, Destination: d, Group: f.Fingerprint, Notification: Notification{
				Kind: KindReminder, Destination: d, Tenant: f.Tenant, At: at, Key: key, Finding: &fc,
			}})
		}
	}
	return items
}

// lessFinding orders by severity (highest first), then rule, then object.
func lessFinding(a, b *Finding) bool {
	ra, _ := a.Severity.Rank()
	rb, _ := b.Severity.Rank()
	if ra != rb {
		return ra > rb
	}
	if a.RuleID != b.RuleID {
		return a.RuleID < b.RuleID
	}
	return a.ObjectKey < b.ObjectKey
}
