package report

import (
	"errors"
	"iter"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Input is everything a report shows. The offline path (a snapshot file or
// fixture evaluated against a baseline) and the store path (a tenant's
// history over a period) both fill this one struct, so every renderer is
// tested once and serves both.
type Input struct {
	// Tenant is the tenant's display name; TenantID its directory ID.
	Tenant   string
	TenantID string
	// GeneratedAt is when the report was made; callers set it so that
	// output is reproducible. Expiry, staleness and lapsing are judged at
	// the snapshot's collection time, as the rules judge them.
	GeneratedAt time.Time
	// Period is the span the drift timeline, remediation log and trend cover.
	Period Period
	// Baseline names the baseline the results were evaluated against.
	Baseline string
	// Version is the sharedrift version that produced the report.
	Version string

	// Snapshot is the tenant's current state. Settings, sites and Exchange
	// exposure come from it; links and guests too unless Links or Guests is set.
	Snapshot *tenant.Snapshot
	// Links and Guests, when set, stream the inventories instead of
	// Snapshot.Links and Snapshot.Guests. They may be called more than once
	// (once for the summaries, once per streamed inventory), so a store can
	// page through a million rows without holding them.
	Links  iter.Seq2[*tenant.Link, error]
	Guests iter.Seq2[*tenant.Guest, error]

	// Results are the rule results for Snapshot.
	Results []tenant.Result
	// RuleCounts, when set, holds every rule's outcome counts and Results
	// need only hold the results worth showing (fail, unknown, excepted), as
	// a store keeps them. When nil, counts come from Results.
	RuleCounts map[string]Counts
	// Rules describes every rule that ran, including rules that produced no
	// result (their status is not_applicable).
	Rules []RuleInfo

	// Previous are the results at the end of the previous period, for the
	// trend; PreviousAt is when they were taken. Nil Previous means no trend.
	Previous   []tenant.Result
	PreviousAt time.Time
	// PreviousCounts is RuleCounts for Previous.
	PreviousCounts map[string]Counts

	// Trend is the posture score of each recorded scan, oldest first, for
	// the trend chart; empty outside a report from history.
	Trend []TrendPoint

	Changes     []Change
	Remediation []RemediationEntry
	Exceptions  []Exception
	// API holds whole-scan API statistics; per-section calls and RU come
	// from Snapshot.Status.
	API APIStats

	Options Options
}

// Period is a half-open time span [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// RuleInfo is the part of a rule's metadata the report prints.
type RuleInfo struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Section     tenant.Section  `json:"section"`
	Severity    tenant.Severity `json:"severity"`
	Rationale   string          `json:"rationale,omitempty"`
	Remediation string          `json:"remediation,omitempty"`
	CIS         []string        `json:"cis,omitempty"`
	SCuBA       []string        `json:"scuba,omitempty"`
	Docs        []string        `json:"docs,omitempty"`
}

// Change is one drift between two snapshots.
type Change struct {
	At         time.Time      `json:"at"`
	Kind       string         `json:"kind"` // added, removed or modified
	Section    tenant.Section `json:"section"`
	ObjectKey  string         `json:"objectKey"`
	ObjectName string         `json:"objectName,omitempty"`
	Field      string         `json:"field,omitempty"`
	Before     string         `json:"before,omitempty"`
	After      string         `json:"after,omitempty"`
}

// RemediationEntry is one recorded remediation attempt.
type RemediationEntry struct {
	At        time.Time `json:"at"`
	RuleID    string    `json:"ruleId"`
	ObjectKey string    `json:"objectKey"`
	Action    string    `json:"action"`
	Mode      string    `json:"mode"`   // dry-run or apply
	Status    string    `json:"status"` // planned, applied, failed, awaiting_approval, ...
	Actor     string    `json:"actor,omitempty"`
	Before    string    `json:"before,omitempty"`
	After     string    `json:"after,omitempty"`
	// Verified is true when the object was read back and matched; nil when
	// no read-back happened (dry run, failure).
	Verified *bool  `json:"verified,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Exception is an accepted deviation from the baseline.
type Exception struct {
	ID            string     `json:"id"`
	RuleID        string     `json:"ruleId"`
	Object        string     `json:"object,omitempty"` // object key or pattern; empty means the whole rule
	AcceptedValue string     `json:"acceptedValue,omitempty"`
	Owner         string     `json:"owner"`
	Reason        string     `json:"reason,omitempty"`
	Expires       *time.Time `json:"expires,omitempty"`
}

// APIStats are whole-scan API statistics.
type APIStats struct {
	Calls     int           `json:"calls"`
	RU        int64         `json:"ru"`
	Throttled int           `json:"throttled"` // HTTP 429 responses
	Retries   int           `json:"retries"`
	Duration  time.Duration `json:"-"`
}

// Options tune what the human-readable formats show.
type Options struct {
	// MaxRows caps every HTML and Markdown table that can grow with the
	// tenant (inventories, timeline, per-rule objects); the rest is counted
	// ("and K more"). CSV and JSON always carry every row. Default 200.
	MaxRows int
	// StaleDays is how long without a sign-in makes a guest stale. Default 90.
	StaleDays int
	// LapseDays is how soon an exception must expire to be listed as
	// lapsing. Default 30.
	LapseDays int
	// BlockedDomains are domain globs the baseline requires to be blocked;
	// guests from them are flagged like guests from domains the tenant's own
	// lists block.
	BlockedDomains []string
}

func (o Options) withDefaults() Options {
	if o.MaxRows <= 0 {
		o.MaxRows = 200
	}
	if o.StaleDays <= 0 {
		o.StaleDays = 90
	}
	if o.LapseDays <= 0 {
		o.LapseDays = 30
	}
	return o
}

// SliceSeq adapts a slice to the streaming form of Input.Links and Input.Guests.
func SliceSeq[T any](s []T) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for i := range s {
			if !yield(&s[i], nil) {
				return
			}
		}
	}
}

func (in *Input) links() iter.Seq2[*tenant.Link, error] {
	if in.Links != nil {
		return in.Links
	}
	if in.Snapshot == nil {
		return SliceSeq[tenant.Link](nil)
	}
	return LinkSeq(in.Snapshot)
}

// LinkSeq streams a snapshot's links, spooled ones included.
func LinkSeq(s *tenant.Snapshot) iter.Seq2[*tenant.Link, error] {
	return func(yield func(*tenant.Link, error) bool) {
		stop := errors.New("stop")
		err := s.EachLink(func(l *tenant.Link) error {
			if !yield(l, nil) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			yield(nil, err)
		}
	}
}

func (in *Input) guests() iter.Seq2[*tenant.Guest, error] {
	if in.Guests != nil {
		return in.Guests
	}
	if in.Snapshot == nil {
		return SliceSeq[tenant.Guest](nil)
	}
	return SliceSeq(in.Snapshot.Guests)
}

// asOf is the instant the report judges expiry, staleness and lapsing at:
// the snapshot's collection time, like the rules, else GeneratedAt.
func (in *Input) asOf() time.Time {
	if in.Snapshot != nil && !in.Snapshot.CollectedAt.IsZero() {
		return in.Snapshot.CollectedAt.UTC()
	}
	return in.GeneratedAt.UTC()
}
