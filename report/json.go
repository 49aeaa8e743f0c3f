package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// SchemaV1 tags the JSON report; docs/reports.md describes the schema.
const SchemaV1 = "sharedrift.report/v1"

// JSON writes the report as one JSON object tagged SchemaV1. Unlike the HTML
// and Markdown formats it carries every result, change and inventory row;
// the inventories are streamed one compact row per line.
func JSON(w io.Writer, in *Input) error {
	v, err := build(in)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	j := &jsonWriter{w: bw}
	j.render(v)
	if j.err != nil {
		return fmt.Errorf("write json report: %w", j.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

type jsonWriter struct {
	w     *bufio.Writer
	err   error
	first bool
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

// field writes one top-level member, indented.
func (j *jsonWriter) field(name string, v any) {
	if j.err != nil {
		return
	}
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		j.err = fmt.Errorf("%s: %w", name, err)
		return
	}
	j.key(name)
	_, j.err = j.w.Write(b)
}

func (j *jsonWriter) key(name string) {
	if j.first {
		j.raw(",\n")
	}
	j.first = true
	j.raw("  " + quote(name) + ": ")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// stream writes a member holding an object whose last member "items" is an
// array filled row by row from next.
func (j *jsonWriter) stream(name string, head any, rows func(emit func(any) error) error) {
	if j.err != nil {
		return
	}
	b, err := json.MarshalIndent(head, "  ", "  ")
	if err != nil {
		j.err = fmt.Errorf("%s: %w", name, err)
		return
	}
	j.key(name)
	// Open the head object back up to append the items member.
	b = b[:len(b)-1]
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	j.raw(string(b))
	j.raw(",\n    \"items\": [")
	n := 0
	err = rows(func(row any) error {
		rb, err := json.Marshal(row)
		if err != nil {
			return err
		}
		if n > 0 {
			j.raw(",")
		}
		n++
		j.raw("\n      ")
		if j.err == nil {
			_, j.err = j.w.Write(rb)
		}
		return j.err
	})
	if err != nil && j.err == nil {
		j.err = fmt.Errorf("%s: %w", name, err)
	}
	if n > 0 {
		j.raw("\n    ")
	}
	j.raw("]\n  }")
}

type jsonSummary struct {
	Score             *float64                `json:"score"`
	PreviousScore     *float64                `json:"previousScore"`
	ScoreFormula      string                  `json:"scoreFormula"`
	Weights           map[tenant.Severity]int `json:"weights"`
	Rules             Counts                  `json:"rules"`
	Results           Counts                  `json:"results"`
	PreviousRules     *Counts                 `json:"previousRules"`
	PreviousResults   *Counts                 `json:"previousResults"`
	FailingBySeverity map[tenant.Severity]int `json:"failingBySeverity"`
	Accepted          int                     `json:"accepted"`
	NewFailing        int                     `json:"newFailing"`
	Resolved          int                     `json:"resolved"`
	PassingChecks     int                     `json:"passingChecks"`
	FailingChecks     int                     `json:"failingChecks"`
	UnknownChecks     int                     `json:"unknownChecks"`
	// UnknownPoints is how many of the score's 100 points unknown checks hold.
	UnknownPoints float64 `json:"unknownPoints"`
}

type jsonRisk struct {
	RuleID     string          `json:"ruleId"`
	RuleTitle  string          `json:"ruleTitle,omitempty"`
	Severity   tenant.Severity `json:"severity"`
	ObjectKey  string          `json:"objectKey"`
	ObjectName string          `json:"objectName,omitempty"`
	URL        string          `json:"url,omitempty"`
	Expected   string          `json:"expected,omitempty"`
	Actual     string          `json:"actual,omitempty"`
}

type jsonExecutive struct {
	TopRisks      []jsonRisk `json:"topRisks"`
	MoreRisks     int        `json:"moreRisks"`
	NewFailing    []jsonRisk `json:"newFailing"`
	MoreNew       int        `json:"moreNewFailing"`
	Fixed         []jsonRisk `json:"fixed"`
	MoreFixed     int        `json:"moreFixed"`
	VerifiedFixes int        `json:"verifiedFixes"`
}

func jsonRisks(rows []riskRow) []jsonRisk {
	out := make([]jsonRisk, 0, len(rows))
	for _, r := range rows {
		out = append(out, jsonRisk{RuleID: r.RuleID, RuleTitle: r.RuleTitle, Severity: r.Severity, ObjectKey: r.ObjectKey,
			ObjectName: r.ObjectName, URL: r.URL, Expected: r.Expected, Actual: r.Actual})
	}
	return out
}

type jsonRule struct {
	RuleInfo
	Status tenant.Outcome `json:"status"`
	Counts Counts         `json:"counts"`
}

type jsonResult struct {
	tenant.Result
	Fingerprint string `json:"fingerprint"`
}

type jsonControl struct {
	Control string         `json:"control"`
	Title   string         `json:"title,omitempty"`
	Version string         `json:"version,omitempty"`
	Status  tenant.Outcome `json:"status"`
	Rules   []string       `json:"rules"`
}

type jsonFramework struct {
	Name     string        `json:"name"`
	Counts   Counts        `json:"counts"`
	Controls []jsonControl `json:"controls"`
}

type jsonLinks struct {
	Total        int            `json:"total"`
	ByScope      map[string]int `json:"byScope"`
	Anyone       int            `json:"anyone"`
	Edit         int            `json:"edit"`
	NoExpiry     int            `json:"noExpiry"`
	Expired      int            `json:"expired"`
	Password     int            `json:"password"`
	ByExpiry     []LinkTally    `json:"byExpiry"`
	ByPermission []LinkTally    `json:"byPermission"`
	ByLabel      []LinkTally    `json:"byLabel"`
	BySite       []LinkTally    `json:"bySite"`
	MoreSites    int            `json:"moreSites"`
}

type jsonGuests struct {
	Total         int            `json:"total"`
	StaleDays     int            `json:"staleDays"`
	Flags         map[string]int `json:"flags"`
	SignInUnknown int            `json:"signInUnknown"`
	ByDomain      []GuestTally   `json:"byDomain"`
	MoreDomains   int            `json:"moreDomains"`
}

type jsonException struct {
	Exception
	Status         string `json:"status"`
	DaysLeft       *int   `json:"daysLeft"`
	MatchedResults int    `json:"matchedResults"`
}

type jsonAPI struct {
	APIStats
	DurationSeconds float64 `json:"durationSeconds"`
}

type jsonCoverage struct {
	CompleteSections int           `json:"completeSections"`
	Sections         []coverageRow `json:"sections"`
	API              jsonAPI       `json:"api"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (j *jsonWriter) render(v *view) {
	in := v.In
	j.raw("{\n")
	j.field("schema", SchemaV1)
	j.field("tenant", in.Tenant)
	j.field("tenantId", in.TenantID)
	j.field("baseline", in.Baseline)
	j.field("version", in.Version)
	j.field("generatedAt", v.Now)
	j.field("collectedAt", v.CollectedAt)
	j.field("period", in.Period)
	var prevAt *time.Time
	if v.Summary.HasPrevious && !in.PreviousAt.IsZero() {
		prevAt = &in.PreviousAt
	}
	j.field("previousAt", prevAt)

	s := v.Summary
	weights := map[tenant.Severity]int{}
	for _, sev := range severitiesDesc {
		weights[sev] = severityWeight(sev)
	}
	fbs := map[tenant.Severity]int{}
	for _, sev := range severitiesDesc {
		fbs[sev] = s.FailBySeverity[sev]
	}
	j.field("summary", jsonSummary{
		Score: s.Score, PreviousScore: s.PreviousScore, ScoreFormula: ScoreFormula, Weights: weights,
		Rules: s.RuleStatus, Results: s.Results, PreviousRules: s.PrevRules, PreviousResults: s.PrevResults,
		FailingBySeverity: fbs, Accepted: s.Accepted, NewFailing: s.NewFails, Resolved: s.ResolvedFails,
		PassingChecks: s.ScoreDetail.Passing, FailingChecks: s.ScoreDetail.Failing, UnknownChecks: s.ScoreDetail.Unknown,
		UnknownPoints: s.ScoreDetail.UnknownPoints,
	})
	e := v.Exec
	j.field("executive", jsonExecutive{
		TopRisks: jsonRisks(e.TopRisks), MoreRisks: e.MoreRisks, NewFailing: jsonRisks(e.New), MoreNew: e.MoreNew,
		Fixed: jsonRisks(e.Fixed), MoreFixed: e.MoreFixed, VerifiedFixes: e.Verified,
	})
	j.field("trend", nonNil(in.Trend))
	rules := make([]jsonRule, 0, len(v.Rules))
	for _, r := range v.Rules {
		rules = append(rules, jsonRule{RuleInfo: r.Info, Status: r.Status, Counts: r.Counts})
	}
	j.field("rules", rules)

	j.key("results")
	j.raw("[")
	for i := range in.Results {
		if i > 0 {
			j.raw(",")
		}
		j.raw("\n    ")
		b, err := json.Marshal(jsonResult{Result: in.Results[i], Fingerprint: in.Results[i].Fingerprint()})
		if err != nil && j.err == nil {
			j.err = err
		}
		if j.err == nil {
			_, j.err = j.w.Write(b)
		}
	}
	if len(in.Results) > 0 {
		j.raw("\n  ")
	}
	j.raw("]")

	comp := map[string]jsonFramework{}
	for _, fw := range v.Frameworks {
		jf := jsonFramework{Name: fw.Name, Counts: fw.Counts, Controls: []jsonControl{}}
		for _, c := range fw.Controls {
			jf.Controls = append(jf.Controls, jsonControl{Control: c.ID, Title: c.Title, Version: c.Version, Status: c.Status, Rules: c.Rules})
		}
		comp[fw.ID] = jf
	}
	j.field("compliance", comp)
	unmapped := []string{}
	for _, r := range v.Unmapped {
		unmapped = append(unmapped, r.ID)
	}
	j.field("unmappedRules", unmapped)

	changes := slices.Clone(in.Changes)
	slices.SortStableFunc(changes, func(a, b Change) int { return a.At.Compare(b.At) })
	j.field("changes", nonNil(changes))

	li := v.Links
	idx := newSiteIndex(in.Snapshot)
	j.stream("anyoneLinks", jsonLinks{
		Total: li.Total, ByScope: li.ByScope, Anyone: li.Anyone, Edit: li.Edit, NoExpiry: li.NoExpiry, Expired: li.Expired,
		Password: li.Password, ByExpiry: nonNil(li.ByExpiry), ByPermission: nonNil(li.ByPermission), ByLabel: nonNil(li.ByLabel),
		BySite: nonNil(li.BySite), MoreSites: li.MoreSites,
	}, func(emit func(any) error) error {
		for l, err := range in.links() {
			if err != nil {
				return fmt.Errorf("read links: %w", err)
			}
			if r, ok := idx.linkRow(l, v.AsOf); ok {
				if err := emit(r); err != nil {
					return err
				}
			}
		}
		return nil
	})

	gi := v.Guests
	pol := newDomainPolicy(in.Snapshot, v.Opt.BlockedDomains)
	stale := time.Duration(v.Opt.StaleDays) * 24 * time.Hour
	j.stream("guests", jsonGuests{
		Total: gi.Total, StaleDays: v.Opt.StaleDays, Flags: gi.Flags, SignInUnknown: gi.SignInUnknown,
		ByDomain: nonNil(gi.ByDomain), MoreDomains: gi.MoreDomains,
	}, func(emit func(any) error) error {
		for g, err := range in.guests() {
			if err != nil {
				return fmt.Errorf("read guests: %w", err)
			}
			if err := emit(guestRow(g, pol, stale, v.AsOf)); err != nil {
				return err
			}
		}
		return nil
	})

	j.field("calendarExposure", nonNil(v.Calendar))
	remed := slices.Clone(in.Remediation)
	slices.SortStableFunc(remed, func(a, b RemediationEntry) int { return a.At.Compare(b.At) })
	j.field("remediation", nonNil(remed))
	excs := make([]jsonException, 0, len(v.Exceptions))
	for _, e := range v.Exceptions {
		je := jsonException{Exception: e.Exception, Status: e.Status, MatchedResults: e.Matched}
		if e.Expires != nil {
			je.DaysLeft = &e.DaysLeft
		}
		excs = append(excs, je)
	}
	j.field("exceptions", excs)
	cov := jsonCoverage{CompleteSections: v.CompleteSections(), Sections: v.Coverage, API: jsonAPI{APIStats: v.API, DurationSeconds: v.API.Duration.Seconds()}}
	j.field("coverage", cov)
	j.raw("\n}\n")
}
