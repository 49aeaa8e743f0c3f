package notify

import (
	"encoding/json"
	"fmt"
	"slices"
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
	// Members, for a digest, are the fingerprints of every finding it
	// folds, listed or not: the outbox records them, so that a later
	// resolution or reminder of any of them finds this message's thread
	// and waits for it (the payload lists only DigestListed).
	Members []string
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
	sp := p.Start(scan)
	for i := range changes {
		sp.Add(&changes[i])
	}
	return sp.Items()
}

// DigestListed is how many findings a digest carries: the most severe,
// then by rule and object. Its counts cover every finding folded into it.
// Renderers name fewer (Slack 20) and point at `findings list`; a first
// scan of a large tenant folds hundreds of thousands, which no message
// could carry.
const DigestListed = 100

// ScanPlan plans one scan's changes as they are read (Plan's result, from
// a stream): per destination it holds at most the digest threshold's
// announcements, then only the digest's counts and its DigestListed
// findings, besides the resolved notices.
type ScanPlan struct {
	p     *Planner
	scan  Scan
	dests map[string]*destPlan
	seq   int
}

type planned struct {
	kind Kind
	f    Finding
	seq  int // arrival, for a stable order among equals
}

type destPlan struct {
	name string
	// The destination's first finding in order, when it arrived (ties
	// go by arrival, as a stable sort would) and its place among that
	// finding's destinations.
	first    *Finding
	firstSeq int
	firstAt  int
	ann      []planned
	dg       *Digest
	members  []string // the digest's fingerprints, every one
	resolved []planned
}

// Start begins planning a scan.
func (p *Planner) Start(scan Scan) *ScanPlan {
	return &ScanPlan{p: p, scan: scan, dests: map[string]*destPlan{}}
}

func lessPlanned(a, b *planned) bool {
	if lessFinding(&a.f, &b.f) {
		return true
	}
	return !lessFinding(&b.f, &a.f) && a.seq < b.seq
}

// Add plans one change. It copies what it keeps.
func (sp *ScanPlan) Add(c *Change) {
	kind, ok := kindOf(c)
	if !ok {
		return
	}
	// A snoozed finding stays quiet until the snooze ends; its resolution
	// is still worth telling.
	if kind != KindResolved && c.SnoozedUntil != nil && c.SnoozedUntil.After(sp.scan.At) {
		return
	}
	sp.seq++
	for i, d := range Destinations(sp.p.Routes, &c.Finding) {
		dp := sp.dests[d]
		if dp == nil {
			dp = &destPlan{name: d}
			sp.dests[d] = dp
		}
		pl := planned{kind: kind, f: c.Finding, seq: sp.seq}
		if dp.first == nil || lessFinding(&pl.f, dp.first) {
			f := pl.f
			dp.first, dp.firstSeq, dp.firstAt = &f, pl.seq, i
		}
		switch {
		case kind == KindResolved:
			dp.resolved = append(dp.resolved, pl)
		case dp.dg != nil:
			dp.fold(pl)
		default:
			dp.ann = append(dp.ann, pl)
			if t := sp.p.Digest.Threshold; t > 0 && len(dp.ann) >= t {
				dp.dg = &Digest{Counts: map[Kind]int{}, BySeverity: map[tenant.Severity]int{}}
				ann := dp.ann
				dp.ann = nil
				sort.SliceStable(ann, func(i, j int) bool { return lessPlanned(&ann[i], &ann[j]) })
				for _, a := range ann {
					dp.fold(a)
				}
			}
		}
	}
}

// fold counts an announcement into the digest and keeps it among the
// DigestListed first in order.
func (dp *destPlan) fold(a planned) {
	dg := dp.dg
	dg.Counts[a.kind]++
	dg.BySeverity[a.f.Severity]++
	dg.Total++
	dp.members = append(dp.members, a.f.Fingerprint)
	n := len(dg.Findings)
	at := sort.Search(n, func(i int) bool { return lessFinding(&a.f, &dg.Findings[i]) })
	if at >= DigestListed {
		return
	}
	if n < DigestListed {
		dg.Findings = append(dg.Findings, Finding{})
	}
	copy(dg.Findings[at+1:], dg.Findings[at:])
	dg.Findings[at] = a.f
}

// Items returns the plan: destinations in the order of their first
// finding, each with its announcements (or digest), then its resolved
// notices.
func (sp *ScanPlan) Items() []Item {
	order := make([]*destPlan, 0, len(sp.dests))
	for _, dp := range sp.dests {
		order = append(order, dp)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if lessFinding(a.first, b.first) || lessFinding(b.first, a.first) {
			return lessFinding(a.first, b.first)
		}
		if a.firstSeq != b.firstSeq {
			return a.firstSeq < b.firstSeq
		}
		// One change's destinations, in the order of the routes.
		return a.firstAt < b.firstAt
	})
	var items []Item
	for _, dp := range order {
		d := dp.name
		if dp.dg != nil {
			slices.Sort(dp.members) // a set: the same whatever the arrival order
			key := "digest/" + d + "/" + sp.scan.ID
			items = append(items, Item{Key: key, Destination: d, Members: dp.members, Notification: Notification{
				Kind: KindDigest, Destination: d, Tenant: sp.scan.Tenant, ScanID: sp.scan.ID, At: sp.scan.At, Key: key, Digest: dp.dg,
			}})
		} else {
			sort.SliceStable(dp.ann, func(i, j int) bool { return lessPlanned(&dp.ann[i], &dp.ann[j]) })
			for i := range dp.ann {
				items = append(items, single(dp.ann[i].kind, d, sp.scan, &dp.ann[i].f))
			}
		}
		sort.SliceStable(dp.resolved, func(i, j int) bool { return lessPlanned(&dp.resolved[i], &dp.resolved[j]) })
		for i := range dp.resolved {
			items = append(items, single(dp.resolved[i].kind, d, sp.scan, &dp.resolved[i].f))
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
