package report

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// Outcomes lists the four rule outcomes in display order.
var Outcomes = []tenant.Outcome{tenant.Fail, tenant.Unknown, tenant.Pass, tenant.NotApplicable}

// severitiesDesc lists severities from most to least severe.
var severitiesDesc = []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium, tenant.SeverityLow, tenant.SeverityInfo}

// ScoreFormula states how the posture score is computed; every format prints it.
const ScoreFormula = "score = 100 × Σ weight × passing checks ÷ Σ weight × (passing + failing + unknown checks); " +
	"a check is one rule's verdict on one object (a setting, site, link, guest, group or policy), weighted by the rule's severity: " +
	"critical 10, high 5, medium 3, low 1, info 0. " +
	"Unknown checks (data missing or unreadable) count in the divisor, so they can only lower the score, and are shown separately as the points they hold; " +
	"not-applicable checks are left out. A failure an exception accepts counts as passing and is listed under exceptions."

func severityWeight(s tenant.Severity) int {
	switch s {
	case tenant.SeverityCritical:
		return 10
	case tenant.SeverityHigh:
		return 5
	case tenant.SeverityMedium:
		return 3
	case tenant.SeverityLow:
		return 1
	}
	return 0
}

// Counts tallies outcomes.
type Counts = tenant.Counts

// overall aggregates outcomes: any fail → fail, else any unknown → unknown,
// else any pass → pass, else not_applicable. It is used for a rule over its
// results and for a control over its rules.
func overall(c Counts) tenant.Outcome {
	switch {
	case c.Fail > 0:
		return tenant.Fail
	case c.Unknown > 0:
		return tenant.Unknown
	case c.Pass > 0:
		return tenant.Pass
	}
	return tenant.NotApplicable
}

type summary struct {
	Score         *float64
	ScoreDetail   Score
	PreviousScore *float64
	Results       Counts // per result
	RuleStatus    Counts // per rule
	PrevResults   *Counts
	PrevRules     *Counts
	// FailBySeverity counts failing results per severity (result severity).
	FailBySeverity map[tenant.Severity]int
	Accepted       int // results covered by an exception
	NewFails       int // failing fingerprints not failing in the previous period
	ResolvedFails  int // failing previously, not any more
	HasPrevious    bool
}

type ruleView struct {
	Info    RuleInfo
	Status  tenant.Outcome
	Counts  Counts
	Fails   []tenant.Result // capped
	Unknown []tenant.Result // capped
	// MoreFails and MoreUnknown count results beyond the cap.
	MoreFails, MoreUnknown int
}

type sectionView struct {
	Section tenant.Section
	Title   string
	State   string
	Rules   []*ruleView
	Counts  Counts
}

type control struct {
	ID      string
	Title   string // from the control catalogue; empty when it lacks the ID
	Version string
	Status  tenant.Outcome
	Rules   []string
}

type framework struct {
	ID, Name string
	Controls []control
	Counts   Counts
}

type dayCount struct {
	Day   time.Time
	Count int
}

type timeline struct {
	Total   int
	ByKind  map[string]int
	Days    []dayCount
	Changes []Change // capped
	More    int
}

// view is the computed content shared by the HTML, Markdown and JSON renderers.
type view struct {
	In  *Input
	Opt Options
	// Now is when the report was generated; AsOf is the instant expiry,
	// staleness and lapsing are judged at: the snapshot's collection time,
	// as the rules judge it.
	Now         time.Time
	AsOf        time.Time
	CollectedAt time.Time
	Summary     summary
	Rules       []*ruleView // all rules, sorted by section, severity, ID
	Sections    []sectionView
	Frameworks  []framework
	Timeline    timeline
	Links       *linkInventory
	Guests      *guestInventory
	Calendar    []CalendarRow
	Remediation []RemediationEntry // capped
	RemedMore   int
	RemedStatus map[string]int
	Exceptions  []exceptionView
	Lapsing     int
	Expired     int
	Coverage    []coverageRow
	API         APIStats
	Exec        executive
	// URLs maps object keys shown in rows to their web address.
	URLs map[string]string
	// Unmapped lists rules no CIS or SCuBA control covers.
	Unmapped []RuleInfo
}

type exceptionView struct {
	Exception
	Status   string // active, lapsing, expired, no_expiry
	DaysLeft int
	Matched  int // results carrying this exception
}

type coverageRow struct {
	Section   tenant.Section `json:"section"`
	State     string         `json:"state"` // complete, partial, failed, not_collected
	Error     string         `json:"error,omitempty"`
	Calls     int            `json:"calls"`
	Retries   int            `json:"retries"`
	Throttled int            `json:"throttled"`
	RU        int64          `json:"ru"`
}

var sectionTitles = map[tenant.Section]string{
	tenant.SectionSharePoint: "SharePoint and OneDrive settings",
	tenant.SectionSites:      "Sites",
	tenant.SectionLinks:      "Sharing links",
	tenant.SectionGuests:     "Guests",
	tenant.SectionEntra:      "Entra B2B",
	tenant.SectionGroups:     "Microsoft 365 Groups",
	tenant.SectionExchange:   "Exchange calendar sharing",
	tenant.SectionTeams:      "Teams external and guest access",
	tenant.SectionPowerBI:    "Power BI tenant settings",
}

func sectionTitle(s tenant.Section) string {
	if t, ok := sectionTitles[s]; ok {
		return t
	}
	return string(s)
}

// build computes the view; the inventories are summarised in one streaming
// pass each, keeping only capped row lists.
func build(in *Input) (*view, error) {
	if in == nil {
		return nil, fmt.Errorf("report: nil input")
	}
	opt := in.Options.withDefaults()
	v := &view{In: in, Opt: opt, Now: in.GeneratedAt.UTC()}
	if in.Snapshot != nil {
		v.CollectedAt = in.Snapshot.CollectedAt.UTC()
	}
	if v.Now.IsZero() {
		v.Now = v.CollectedAt
	}
	v.AsOf = in.asOf()
	v.buildRules()
	v.buildSummary()
	v.buildFrameworks()
	v.buildTimeline()
	v.buildExecutive()
	urls := v.wantedURLs()
	var err error
	if v.Links, err = buildLinkInventory(in, opt, v.AsOf, urls); err != nil {
		return nil, err
	}
	if v.Guests, err = buildGuestInventory(in, opt, v.AsOf); err != nil {
		return nil, err
	}
	v.Calendar = calendarRows(in.Snapshot)
	v.buildRemediation()
	v.buildExceptions()
	v.buildCoverage()
	v.applyURLs(urls)
	return v, nil
}

func (v *view) buildRules() {
	byID := map[string]*ruleView{}
	for _, ri := range v.In.Rules {
		if _, dup := byID[ri.ID]; dup {
			continue
		}
		rv := &ruleView{Info: ri}
		byID[ri.ID] = rv
		v.Rules = append(v.Rules, rv)
	}
	maxObj := min(v.Opt.MaxRows, 25)
	for i := range v.In.Results {
		r := &v.In.Results[i]
		rv, ok := byID[r.RuleID]
		if !ok {
			// A result from a rule without metadata still shows up.
			rv = &ruleView{Info: RuleInfo{ID: r.RuleID, Title: r.RuleID, Section: r.Section, Severity: r.Severity}}
			byID[r.RuleID] = rv
			v.Rules = append(v.Rules, rv)
		}
		rv.Counts.AddResult(r)
		switch r.Outcome {
		case tenant.Fail:
			if len(rv.Fails) < maxObj {
				rv.Fails = append(rv.Fails, *r)
			} else {
				rv.MoreFails++
			}
		case tenant.Unknown:
			if len(rv.Unknown) < maxObj {
				rv.Unknown = append(rv.Unknown, *r)
			} else {
				rv.MoreUnknown++
			}
		}
	}
	if v.In.RuleCounts != nil {
		for id, c := range v.In.RuleCounts {
			rv, ok := byID[id]
			if !ok {
				rv = &ruleView{Info: RuleInfo{ID: id, Title: id}}
				byID[id] = rv
				v.Rules = append(v.Rules, rv)
			}
			rv.Counts = c
		}
		for _, rv := range v.Rules {
			if _, ok := v.In.RuleCounts[rv.Info.ID]; !ok {
				rv.Counts = Counts{}
			}
		}
	}
	for _, rv := range v.Rules {
		rv.Status = overall(rv.Counts)
	}
	slices.SortStableFunc(v.Rules, func(a, b *ruleView) int {
		if c := cmp.Compare(sectionIndex(a.Info.Section), sectionIndex(b.Info.Section)); c != 0 {
			return c
		}
		if c := cmp.Compare(sevRank(b.Info.Severity), sevRank(a.Info.Severity)); c != 0 {
			return c
		}
		return cmp.Compare(a.Info.ID, b.Info.ID)
	})
	for _, rv := range v.Rules {
		n := len(v.Sections)
		if n == 0 || v.Sections[n-1].Section != rv.Info.Section {
			v.Sections = append(v.Sections, sectionView{Section: rv.Info.Section, Title: sectionTitle(rv.Info.Section), State: v.sectionState(rv.Info.Section)})
			n++
		}
		v.Sections[n-1].Rules = append(v.Sections[n-1].Rules, rv)
		v.Sections[n-1].Counts.Add(rv.Status)
	}
}

func (v *view) sectionState(s tenant.Section) string {
	if v.In.Snapshot == nil {
		return "not_collected"
	}
	st, ok := v.In.Snapshot.Status[s]
	if !ok {
		return "not_collected"
	}
	return string(st.State)
}

func sectionIndex(s tenant.Section) int {
	if i := slices.Index(tenant.AllSections, s); i >= 0 {
		return i
	}
	return len(tenant.AllSections)
}

func sevRank(s tenant.Severity) int {
	r, ok := s.Rank()
	if !ok {
		return -1
	}
	return r
}

// Score is a posture score with the weight the unknown checks hold.
type Score struct {
	// Value is nil when no check counts towards the score.
	Value *float64
	// UnknownPoints is how many of the 100 points unknown checks hold: the
	// most the score could rise if every one of them were verified passing.
	UnknownPoints float64
	// Passing, Failing and Unknown count the checks the score rests on.
	Passing, Failing, Unknown int
}

// ScoreOf computes the posture score (see ScoreFormula) from per-rule check
// counts; sev gives a rule's severity.
func ScoreOf(counts map[string]Counts, sev func(ruleID string) tenant.Severity) Score {
	var num, unk, den int64
	var out Score
	for id, c := range counts {
		w := int64(severityWeight(sev(id)))
		out.Passing += c.Pass
		out.Failing += c.Fail
		out.Unknown += c.Unknown
		num += w * int64(c.Pass)
		unk += w * int64(c.Unknown)
		den += w * int64(c.Pass+c.Fail+c.Unknown)
	}
	if den == 0 {
		return out
	}
	// One decimal, truncated, so that output is stable and never rounds up.
	v := float64(num*1000/den) / 10
	out.Value = &v
	out.UnknownPoints = float64(unk*1000/den) / 10
	return out
}

func (v *view) buildSummary() {
	s := &v.Summary
	s.FailBySeverity = map[tenant.Severity]int{}
	sevOf := map[string]tenant.Severity{}
	cur := map[string]Counts{}
	for _, rv := range v.Rules {
		sevOf[rv.Info.ID] = rv.Info.Severity
		cur[rv.Info.ID] = rv.Counts
		s.RuleStatus.Add(rv.Status)
	}
	sev := func(id string) tenant.Severity { return sevOf[id] }
	s.ScoreDetail = ScoreOf(cur, sev)
	s.Score = s.ScoreDetail.Value
	// Fingerprints are computed once per result here; the executive page's
	// lists (top risks, newly failing, fixed) are kept in the same passes.
	title := map[string]string{}
	for _, rv := range v.Rules {
		title[rv.Info.ID] = rv.Info.Title
	}
	row := func(r *tenant.Result) riskRow { return riskRow{Result: *r, RuleTitle: title[r.RuleID]} }
	top, fresh, fixed := newRiskList(), newRiskList(), newRiskList()
	defer func() {
		e := &v.Exec
		e.TopRisks, e.MoreRisks = top.rows()
		e.New, e.MoreNew = fresh.rows()
		e.Fixed, e.MoreFixed = fixed.rows()
	}()
	curFails := map[string]int{} // fingerprint → index in Results
	for _, rv := range v.Rules {
		s.Results = s.Results.Plus(rv.Counts)
	}
	for i := range v.In.Results {
		r := &v.In.Results[i]
		if r.Exception != "" {
			s.Accepted++
		}
		if r.Outcome == tenant.Fail {
			s.FailBySeverity[r.Severity]++
			curFails[r.Fingerprint()] = i
			top.add(row(r))
		}
	}
	if v.In.Previous == nil {
		return
	}
	s.HasPrevious = true
	var prc Counts
	perRule := map[string]*Counts{}
	prevFails := map[string]bool{}
	for i := range v.In.Previous {
		r := &v.In.Previous[i]
		if _, ok := sevOf[r.RuleID]; !ok {
			sevOf[r.RuleID] = r.Severity
		}
		if v.In.PreviousCounts == nil {
			c := perRule[r.RuleID]
			if c == nil {
				c = &Counts{}
				perRule[r.RuleID] = c
			}
			c.AddResult(r)
		}
		if r.Outcome == tenant.Fail {
			fp := r.Fingerprint()
			prevFails[fp] = true
			if _, still := curFails[fp]; !still {
				fixed.add(row(r))
				s.ResolvedFails++
			}
		}
	}
	for id, c := range v.In.PreviousCounts {
		perRule[id] = &c
	}
	prev := map[string]Counts{}
	var prs Counts
	for id, c := range perRule {
		prev[id] = *c
		prs.Add(overall(*c))
		prc = prc.Plus(*c)
	}
	s.PrevResults, s.PrevRules = &prc, &prs
	s.PreviousScore = ScoreOf(prev, sev).Value
	for fp, i := range curFails {
		if !prevFails[fp] {
			fresh.add(row(&v.In.Results[i]))
			s.NewFails++
		}
	}
}

func (v *view) buildFrameworks() {
	type fw struct {
		id, name string
		refs     func(RuleInfo) []string
	}
	for _, f := range []fw{
		{string(rules.FrameworkCIS), rules.FrameworkName(rules.FrameworkCIS), func(r RuleInfo) []string { return r.CIS }},
		{string(rules.FrameworkSCuBA), rules.FrameworkName(rules.FrameworkSCuBA), func(r RuleInfo) []string { return r.SCuBA }},
	} {
		rulesOf := map[string][]string{}
		counts := map[string]*Counts{}
		for _, rv := range v.Rules {
			for _, id := range f.refs(rv.Info) {
				rulesOf[id] = append(rulesOf[id], rv.Info.ID)
				if counts[id] == nil {
					counts[id] = &Counts{}
				}
				counts[id].Add(rv.Status)
			}
		}
		out := framework{ID: f.id, Name: f.name}
		for id, rs := range rulesOf {
			slices.Sort(rs)
			st := overall(*counts[id])
			title, version := controlInfo(f.id, id)
			out.Controls = append(out.Controls, control{ID: id, Title: title, Version: version, Status: st, Rules: rs})
			out.Counts.Add(st)
		}
		slices.SortFunc(out.Controls, func(a, b control) int { return naturalCompare(a.ID, b.ID) })
		v.Frameworks = append(v.Frameworks, out)
	}
	for _, rv := range v.Rules {
		if len(rv.Info.CIS) == 0 && len(rv.Info.SCuBA) == 0 {
			v.Unmapped = append(v.Unmapped, rv.Info)
		}
	}
}

// naturalCompare orders control IDs so that "1.10" sorts after "1.9".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := splitDigits(a)
			nb, rb := splitDigits(b)
			na2, nb2 := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := cmp.Compare(len(na2), len(nb2)); c != 0 {
				return c
			}
			if c := strings.Compare(na2, nb2); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func splitDigits(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func (v *view) buildTimeline() {
	t := &v.Timeline
	t.ByKind = map[string]int{}
	changes := slices.Clone(v.In.Changes)
	slices.SortStableFunc(changes, func(a, b Change) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.ObjectKey, b.ObjectKey)
	})
	t.Total = len(changes)
	for _, c := range changes {
		t.ByKind[c.Kind]++
	}
	if len(changes) > v.Opt.MaxRows {
		t.More = len(changes) - v.Opt.MaxRows
		changes = changes[:v.Opt.MaxRows]
	}
	t.Changes = changes
	t.Days = dayBuckets(v.In.Period, v.In.Changes)
}

// dayBuckets counts changes per UTC day across the period (or the span of
// the changes when the period is unset), at most 366 buckets.
func dayBuckets(p Period, changes []Change) []dayCount {
	from, to := p.From.UTC(), p.To.UTC()
	if from.IsZero() || to.IsZero() || !to.After(from) {
		if len(changes) == 0 {
			return nil
		}
		from, to = changes[0].At.UTC(), changes[0].At.UTC()
		for _, c := range changes {
			from = minTime(from, c.At.UTC())
			to = maxTime(to, c.At.UTC())
		}
		to = to.Add(time.Nanosecond)
	}
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	n := int(to.Sub(start).Hours()/24) + 1
	if to.Sub(start)%(24*time.Hour) == 0 {
		n--
	}
	n = max(1, min(n, 366))
	days := make([]dayCount, n)
	for i := range days {
		days[i].Day = start.AddDate(0, 0, i)
	}
	for _, c := range changes {
		i := int(c.At.UTC().Sub(start).Hours() / 24)
		if i >= 0 && i < n {
			days[i].Count++
		}
	}
	return days
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (v *view) buildRemediation() {
	entries := slices.Clone(v.In.Remediation)
	slices.SortStableFunc(entries, func(a, b RemediationEntry) int { return a.At.Compare(b.At) })
	v.RemedStatus = map[string]int{}
	for _, e := range entries {
		v.RemedStatus[e.Status]++
	}
	if len(entries) > v.Opt.MaxRows {
		v.RemedMore = len(entries) - v.Opt.MaxRows
		entries = entries[:v.Opt.MaxRows]
	}
	v.Remediation = entries
}

func (v *view) buildExceptions() {
	matched := map[string]int{}
	for i := range v.In.Results {
		if e := v.In.Results[i].Exception; e != "" {
			matched[e]++
		}
	}
	for _, e := range v.In.Exceptions {
		ev := exceptionView{Exception: e, Matched: matched[e.ID], Status: "no_expiry"}
		if e.Expires != nil {
			left := e.Expires.Sub(v.AsOf)
			ev.DaysLeft = int(left.Hours() / 24)
			switch {
			case left <= 0:
				ev.Status = "expired"
				v.Expired++
			case left <= time.Duration(v.Opt.LapseDays)*24*time.Hour:
				ev.Status = "lapsing"
				v.Lapsing++
			default:
				ev.Status = "active"
			}
		}
		v.Exceptions = append(v.Exceptions, ev)
	}
	sort.SliceStable(v.Exceptions, func(i, j int) bool {
		a, b := v.Exceptions[i].Expires, v.Exceptions[j].Expires
		switch {
		case a == nil && b == nil:
			return v.Exceptions[i].ID < v.Exceptions[j].ID
		case a == nil:
			return false
		case b == nil:
			return true
		}
		if !a.Equal(*b) {
			return a.Before(*b)
		}
		return v.Exceptions[i].ID < v.Exceptions[j].ID
	})
}

func (v *view) buildCoverage() {
	v.API = v.In.API
	// Whole-scan totals default to the sum of the sections' figures.
	sum := v.API.Calls == 0 && v.API.RU == 0 && v.API.Retries == 0 && v.API.Throttled == 0
	for _, s := range tenant.AllSections {
		row := coverageRow{Section: s, State: "not_collected"}
		if v.In.Snapshot != nil {
			if st, ok := v.In.Snapshot.Status[s]; ok {
				row.State, row.Error = string(st.State), st.Error
				row.Calls, row.Retries, row.Throttled, row.RU = st.Calls, st.Retries, st.Throttled, st.RU
			}
		}
		if sum {
			v.API.Calls += row.Calls
			v.API.Retries += row.Retries
			v.API.Throttled += row.Throttled
			v.API.RU += row.RU
		}
		v.Coverage = append(v.Coverage, row)
	}
}

// CompleteSections counts the sections collected completely.
func (v *view) CompleteSections() int {
	n := 0
	for _, c := range v.Coverage {
		if c.State == string(tenant.StateComplete) {
			n++
		}
	}
	return n
}
