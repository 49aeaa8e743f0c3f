// Package output renders the CLI's rule results for people and tools: an
// aligned text table for terminals, JSON for pipelines and Markdown for
// tickets. Reports (package report) and notifications have their own
// renderers.
//
// A Scan is built once from a snapshot, a baseline name and the results of
// rules.Evaluate; the renderers only format it.
package output

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// SchemaV1 tags the JSON encoding of a Scan.
const SchemaV1 = "sharedrift.scan/v1"

// StateNotCollected is the section state reported for a section the
// snapshot has no status for.
const StateNotCollected = "not_collected"

// Outcomes lists the four outcomes in the order people read them: what is
// wrong, what could not be judged, what is fine, what does not apply.
var Outcomes = []tenant.Outcome{tenant.Fail, tenant.Unknown, tenant.Pass, tenant.NotApplicable}

// severities lists severities, most severe first.
var severities = []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium, tenant.SeverityLow, tenant.SeverityInfo}

// Scan is one snapshot judged against one baseline, ready to render.
type Scan struct {
	Schema      string    `json:"schema"`
	Tenant      string    `json:"tenant"`
	TenantID    string    `json:"tenantId,omitempty"`
	CollectedAt time.Time `json:"collectedAt"`
	Baseline    string    `json:"baseline"`
	// FailOn is the severity threshold the exit status was decided by; empty
	// when none applies.
	FailOn  tenant.Severity `json:"failOn,omitempty"`
	Summary Summary         `json:"summary"`
	// Results holds every rule result ordered by rule ID, object key and
	// expectation.
	Results []Item `json:"results"`

	// meta caches rule metadata by ID for the renderers.
	meta map[string]rules.Meta
}

// Summary counts results, an aggregate pass once per object it stands for.
type Summary struct {
	Total    int    `json:"total"`
	Outcomes Counts `json:"outcomes"`
	// BySeverity has one entry per severity, most severe first.
	BySeverity []SeverityCounts `json:"bySeverity"`
	// Failing counts failures at or above FailOn (all failures when FailOn is
	// empty). A non-zero value is what makes `sharedrift scan` exit 3.
	Failing int `json:"failing"`
	// Sections has one entry per snapshot section, in canonical order.
	Sections []SectionSummary `json:"sections"`
}

// Counts holds a number of results per outcome.
type Counts = tenant.Counts

// SeverityCounts is the outcome counts of one severity.
type SeverityCounts struct {
	Severity tenant.Severity `json:"severity"`
	Counts
}

// SectionSummary is a section's collection state and its results.
type SectionSummary struct {
	Section tenant.Section `json:"section"`
	// State is complete, partial, failed or not_collected.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	Counts
}

// Item is one rule result with the rule's title and references.
type Item struct {
	RuleID      string          `json:"ruleId"`
	Title       string          `json:"title"`
	Section     tenant.Section  `json:"section"`
	Outcome     tenant.Outcome  `json:"outcome"`
	Severity    tenant.Severity `json:"severity"`
	ObjectKey   string          `json:"objectKey"`
	ObjectName  string          `json:"objectName,omitempty"`
	ObjectURL   string          `json:"objectUrl,omitempty"`
	Expected    string          `json:"expected,omitempty"`
	Actual      string          `json:"actual,omitempty"`
	Message     string          `json:"message,omitempty"`
	Exception   string          `json:"exception,omitempty"`
	Fingerprint string          `json:"fingerprint"`
	// Count is how many objects an aggregate pass stands for (0: one).
	Count      int               `json:"count,omitempty"`
	References *rules.References `json:"references,omitempty"`
}

// Object is how an item names its object to people: the display name when
// there is one, the stable key otherwise.
func (it *Item) Object() string {
	if it.ObjectName != "" {
		return it.ObjectName
	}
	return it.ObjectKey
}

// Input is what a Scan is built from.
type Input struct {
	Snapshot *tenant.Snapshot
	// Baseline names the baseline (shipped name or file path).
	Baseline string
	Results  []tenant.Result
	// FailOn is the failure threshold; empty counts every failure.
	FailOn tenant.Severity
	// Meta looks up a rule's metadata; nil uses the built-in rules.
	Meta func(id string) (rules.Meta, bool)
}

// NewScan builds a Scan: results in a deterministic order with their rule
// metadata attached, and the summary counts.
func NewScan(in Input) *Scan {
	lookup := in.Meta
	if lookup == nil {
		lookup = builtinMeta
	}
	s := &Scan{
		Schema:   SchemaV1,
		Baseline: in.Baseline,
		FailOn:   in.FailOn,
		Results:  make([]Item, 0, len(in.Results)),
		meta:     map[string]rules.Meta{},
	}
	if snap := in.Snapshot; snap != nil {
		s.Tenant, s.TenantID, s.CollectedAt = snap.Tenant, snap.TenantID, snap.CollectedAt.UTC()
	}
	missing := map[string]bool{}
	for i := range in.Results {
		r := &in.Results[i]
		m, ok := s.meta[r.RuleID]
		if !ok && !missing[r.RuleID] {
			if m, ok = lookup(r.RuleID); ok {
				s.meta[r.RuleID] = m
			} else {
				missing[r.RuleID] = true
			}
		}
		it := Item{
			RuleID: r.RuleID, Title: m.Title, Section: r.Section, Outcome: r.Outcome, Severity: r.Severity,
			ObjectKey: r.ObjectKey, ObjectName: r.ObjectName, ObjectURL: r.ObjectURL, Expected: r.Expected, Actual: r.Actual,
			Message: r.Message, Exception: r.Exception, Fingerprint: r.Fingerprint(), Count: r.Count,
		}
		if ok {
			refs := m.References
			it.References = &refs
		}
		s.Results = append(s.Results, it)
	}
	slices.SortStableFunc(s.Results, compareByRule)
	s.Summary = summarize(in.Snapshot, s.Results, in.FailOn)
	return s
}

func builtinMeta(id string) (rules.Meta, bool) {
	r, ok := rules.Lookup(id)
	if !ok {
		return rules.Meta{}, false
	}
	return r.Meta(), true
}

// RuleMeta returns the metadata of a rule that has results in the scan.
func (s *Scan) RuleMeta(id string) (rules.Meta, bool) {
	m, ok := s.meta[id]
	return m, ok
}

func summarize(snap *tenant.Snapshot, items []Item, failOn tenant.Severity) Summary {
	var sum Summary
	bySev := map[tenant.Severity]*Counts{}
	for _, sev := range severities {
		bySev[sev] = new(Counts)
	}
	bySec := map[tenant.Section]*Counts{}
	for _, sec := range tenant.AllSections {
		bySec[sec] = new(Counts)
	}
	for i := range items {
		it := &items[i]
		n := max(it.Count, 1)
		sum.Total += n
		sum.Outcomes.AddN(it.Outcome, n)
		if c, ok := bySev[it.Severity]; ok {
			c.AddN(it.Outcome, n)
		}
		if c, ok := bySec[it.Section]; ok {
			c.AddN(it.Outcome, n)
		}
		if it.Outcome == tenant.Fail && (failOn == "" || it.Severity.AtLeast(failOn)) {
			sum.Failing++
		}
	}
	for _, sev := range severities {
		sum.BySeverity = append(sum.BySeverity, SeverityCounts{Severity: sev, Counts: *bySev[sev]})
	}
	for _, sec := range tenant.AllSections {
		ss := SectionSummary{Section: sec, State: StateNotCollected, Counts: *bySec[sec]}
		if snap != nil {
			if st, ok := snap.Status[sec]; ok {
				ss.State, ss.Error = string(st.State), st.Error
			}
		}
		sum.Sections = append(sum.Sections, ss)
	}
	return sum
}

// compareByRule orders items by rule ID, object key and expectation: the
// evaluation order, stable across runs.
func compareByRule(a, b Item) int {
	return cmp.Or(
		strings.Compare(a.RuleID, b.RuleID),
		strings.Compare(a.ObjectKey, b.ObjectKey),
		strings.Compare(a.Expected, b.Expected),
	)
}

// compareForPeople orders items for reading: failures first, most severe
// first, then unknown, pass and not_applicable; ties by rule and object.
func compareForPeople(a, b Item) int {
	return cmp.Or(
		cmp.Compare(outcomeRank(a.Outcome), outcomeRank(b.Outcome)),
		cmp.Compare(severityRank(b.Severity), severityRank(a.Severity)),
		compareByRule(a, b),
	)
}

func outcomeRank(o tenant.Outcome) int {
	if i := slices.Index(Outcomes, o); i >= 0 {
		return i
	}
	return len(Outcomes)
}

func severityRank(s tenant.Severity) int {
	r, ok := s.Rank()
	if !ok {
		return -1
	}
	return r
}

// Options select what a renderer shows.
type Options struct {
	// Show lists the outcomes whose results are listed; empty lists all.
	// Summaries always count every result.
	Show []tenant.Outcome
}

func (o Options) shows(out tenant.Outcome) bool {
	return len(o.Show) == 0 || slices.Contains(o.Show, out)
}

// ParseOutcomes parses a list such as "fail,unknown"; "all" selects every
// outcome.
func ParseOutcomes(list []string) ([]tenant.Outcome, error) {
	var out []tenant.Outcome
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v == "all" {
			return slices.Clone(Outcomes), nil
		}
		o := tenant.Outcome(v)
		if !slices.Contains(Outcomes, o) {
			return nil, fmt.Errorf("%q, expected a list of pass, fail, not_applicable, unknown or all", v)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// visible returns the items opts shows, in people order when forPeople.
func (s *Scan) visible(opts Options, forPeople bool) []Item {
	out := make([]Item, 0, len(s.Results))
	for _, it := range s.Results {
		if opts.shows(it.Outcome) {
			out = append(out, it)
		}
	}
	if forPeople {
		slices.SortStableFunc(out, compareForPeople)
	}
	return out
}
