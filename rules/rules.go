package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

// Meta describes a rule for listings, reports and results.
type Meta struct {
	ID      string         `json:"id"`
	Title   string         `json:"title"`
	Section tenant.Section `json:"section"`
	// Reads lists every section the rule's verdicts rest on (its own
	// section included). While any of them is incomplete the runner, not
	// the rule, answers: one rule-wide unknown. Empty means Section alone.
	Reads       []tenant.Section `json:"reads,omitempty"`
	Severity    tenant.Severity  `json:"severity"`
	Rationale   string           `json:"rationale"`
	Remediation string           `json:"remediation"`
	References  References       `json:"references"`
	// Fixable marks a rule whose failures remediation can plan a fix for;
	// a test holds it and remediation's planners to each other.
	Fixable bool `json:"fixable,omitempty"`
}

// References ties a rule to published controls and Microsoft documentation.
type References struct {
	CIS   []string `json:"cis,omitempty"`
	SCuBA []string `json:"scuba,omitempty"`
	Docs  []string `json:"docs,omitempty"`
}

// Rule compares one aspect of a snapshot with a baseline. Evaluate must be
// pure (no I/O, no clock: "now" is s.CollectedAt) and call emit once per
// object it judges, or once with a tenant-level key.
type Rule interface {
	Meta() Meta
	Evaluate(s *tenant.Snapshot, b *baselines.Baseline, emit func(tenant.Result))
}

// builtin is a rule shipped with sharedrift. Its eval receives the shared
// per-evaluation index so that lookups are built once, not once per rule.
type builtin struct {
	meta Meta
	eval func(r *builtin, e *env, emit func(tenant.Result))
}

func (r *builtin) Meta() Meta { return r.meta }

// Evaluate runs the rule alone, guarded like every rule the runner runs.
func (r *builtin) Evaluate(s *tenant.Snapshot, b *baselines.Baseline, emit func(tenant.Result)) {
	e := newEnv(s, b)
	if res, ok := guard(r, e); ok {
		emit(res)
		return
	}
	r.eval(r, e, emit)
}

// ReadSections is what m reads: Reads, or Section alone when Reads is empty.
func (m *Meta) ReadSections() []tenant.Section {
	if len(m.Reads) == 0 {
		return []tenant.Section{m.Section}
	}
	return m.Reads
}

// guard answers for a rule whose input is incomplete. Its verdicts would
// rest on data the scan could not read (a link "not on confidential
// content" because the sites that say so were not read), so none is
// computed: one rule-wide unknown stands for all of them, and the store
// leaves every finding of the rule as it was. A rule the baseline says
// nothing about stays not applicable: it is probed on an empty snapshot,
// where a built-in rule answers from the baseline alone.
func guard(r Rule, e *env) (tenant.Result, bool) {
	m := r.Meta()
	why := e.incomplete(m.ReadSections()...)
	if why == "" {
		return tenant.Result{}, false
	}
	key := string(m.Section) + ":tenant"
	probe := &tenant.Snapshot{Tenant: e.s.Tenant, CollectedAt: e.s.CollectedAt}
	silentOnly, n := true, 0
	note := func(res tenant.Result) {
		n++
		silentOnly = silentOnly && res.Outcome == tenant.NotApplicable && res.Message == silent
	}
	if bi, ok := r.(*builtin); ok {
		bi.eval(bi, newEnv(probe, e.b), note)
	} else {
		r.Evaluate(probe, e.b, note)
	}
	if n > 0 && silentOnly {
		return tenant.Result{RuleID: m.ID, Section: m.Section, Outcome: tenant.NotApplicable, Severity: m.Severity,
			ObjectKey: key, ObjectName: string(m.Section), Message: silent}, true
	}
	return tenant.Result{RuleID: m.ID, Section: m.Section, Outcome: tenant.Unknown, Severity: m.Severity,
		ObjectKey: key, ObjectName: string(m.Section), Message: why, RuleWide: true}, true
}

func (r *builtin) result(o tenant.Outcome, key, name, expected, actual, msg string) tenant.Result {
	return tenant.Result{
		RuleID: r.meta.ID, Section: r.meta.Section, Outcome: o, Severity: r.meta.Severity,
		ObjectKey: key, ObjectName: name, Expected: expected, Actual: actual, Message: msg,
	}
}

// Builtin returns the built-in rules in ID order. The slice is new on each
// call; the rules are shared and stateless.
func Builtin() []Rule {
	out := make([]Rule, len(builtins))
	for i, r := range builtins {
		out[i] = r
	}
	return out
}

// Lookup finds a built-in rule by ID.
func Lookup(id string) (Rule, bool) {
	for _, r := range builtins {
		if r.meta.ID == id {
			return r, true
		}
	}
	return nil, false
}

// CheckBaseline reports baseline references to rules that do not exist,
// such as an exception naming a mistyped rule ID.
func CheckBaseline(b *baselines.Baseline) error {
	for i, ex := range b.Exceptions {
		if _, ok := Lookup(ex.Rule); !ok {
			return &baselines.Error{File: b.Source, Key: fmt.Sprintf("exceptions[%d].rule", i), Value: ex.Rule, Expected: "a built-in rule ID (see `sharedrift rules list`)"}
		}
	}
	return nil
}

// Evaluate runs every built-in rule, applies the baseline's exceptions and
// returns the results ordered by rule ID, then object key.
func Evaluate(s *tenant.Snapshot, b *baselines.Baseline) []tenant.Result {
	return EvaluateRules(Builtin(), s, b)
}

// EvaluateRules is Evaluate over an explicit rule list (built-in or custom).
func EvaluateRules(rs []Rule, s *tenant.Snapshot, b *baselines.Baseline) []tenant.Result {
	// Sized for the per-object rules' failures on a small tenant; plain
	// passes over sites, links and guests become one result per rule.
	out := make([]tenant.Result, 0, 256)
	_ = StreamRules(rs, s, b, func(r *tenant.Result) error {
		out = append(out, *r)
		return nil
	})
	slices.SortStableFunc(out, compareResults)
	return out
}

// Stream is Evaluate without holding the results: each goes to emit as it
// is made, exceptions applied, in no particular order. A large tenant's
// failures are then spooled (tenant.ResultSpool) rather than kept. The
// first error emit returns stops the evaluation and is returned.
func Stream(s *tenant.Snapshot, b *baselines.Baseline, emit func(*tenant.Result) error) error {
	return StreamRules(Builtin(), s, b, emit)
}

// StreamRules is Stream over an explicit rule list.
func StreamRules(rs []Rule, s *tenant.Snapshot, b *baselines.Baseline, emit func(*tenant.Result) error) error {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b Rule) int { return strings.Compare(a.Meta().ID, b.Meta().ID) })
	e := newEnv(s, b)
	var err error
	for _, r := range rs {
		m := r.Meta()
		// Custom rules may leave the identifying fields to us.
		send := func(res *tenant.Result) {
			if err != nil {
				return
			}
			if res.RuleID == "" {
				res.RuleID = m.ID
			}
			if res.Section == "" {
				res.Section = m.Section
			}
			if res.Severity == "" {
				res.Severity = m.Severity
			}
			if res.ObjectURL == "" {
				res.ObjectURL = e.objectURL(res)
			}
			if res.ObjectLabel == "" {
				res.ObjectLabel = e.objectLabel(res.ObjectKey)
			}
			applyException(res, b, s)
			err = emit(res)
		}
		if res, ok := guard(r, e); ok {
			send(&res)
			if err != nil {
				return err
			}
			continue
		}
		var agg passes
		var cur tenant.Result // one copy per rule, not one allocation per result
		collect := func(res tenant.Result) {
			if !agg.take(&res, m.Section) {
				cur = res
				send(&cur)
			}
		}
		if bi, ok := r.(*builtin); ok {
			bi.eval(bi, e, collect)
		} else {
			r.Evaluate(s, b, collect)
		}
		if res, ok := agg.result(m); ok {
			send(&res)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// aggregateKeys are the sections whose plain passes are counted into one
// result per rule, with the tenant-level key and name used for it: a large
// tenant has a million links and a hundred thousand guests, and one pass
// per object would cost memory and storage while telling nothing a count
// does not. Failures, unknowns and excepted results stay per object.
var aggregateKeys = map[tenant.Section][2]string{
	tenant.SectionSites:  {keySites, "sites"},
	tenant.SectionLinks:  {keyLinks, "sharing links"},
	tenant.SectionGuests: {keyGuests, "guests"},
}

// passes counts the plain per-object passes of one rule.
type passes struct {
	n        int
	expected string
	mixed    bool
}

// take counts res when it is a plain pass on one object of a section whose
// passes are aggregated; ruleSec is used when res names no section.
func (p *passes) take(res *tenant.Result, ruleSec tenant.Section) bool {
	sec := res.Section
	if sec == "" {
		sec = ruleSec
	}
	k, ok := aggregateKeys[sec]
	if !ok || res.Outcome != tenant.Pass || res.Exception != "" || res.ObjectKey == k[0] {
		return false
	}
	if p.n == 0 {
		p.expected = res.Expected
	} else if res.Expected != p.expected {
		p.mixed = true
	}
	p.n += res.Objects()
	return true
}

// result is the aggregate pass, if anything passed.
func (p *passes) result(m Meta) (tenant.Result, bool) {
	if p.n == 0 {
		return tenant.Result{}, false
	}
	k := aggregateKeys[m.Section]
	if k[0] == "" {
		k = [2]string{string(m.Section) + ":tenant", string(m.Section)}
	}
	expected := p.expected
	if p.mixed {
		expected = ""
	}
	return tenant.Result{RuleID: m.ID, Section: m.Section, Outcome: tenant.Pass, Severity: m.Severity,
		ObjectKey: k[0], ObjectName: k[1], Expected: expected, Actual: fmt.Sprintf("%d passed", p.n), Count: p.n}, true
}

func compareResults(a, b tenant.Result) int {
	if c := strings.Compare(a.RuleID, b.RuleID); c != 0 {
		return c
	}
	if c := strings.Compare(a.ObjectKey, b.ObjectKey); c != 0 {
		return c
	}
	return strings.Compare(a.Expected, b.Expected)
}

// applyException turns a failure that an exception accepts into a pass.
// An exception accepts only its stated value: a failure whose actual value
// differs stays a failure, as does one after the exception lapses.
func applyException(r *tenant.Result, b *baselines.Baseline, s *tenant.Snapshot) {
	if b == nil || r.Outcome != tenant.Fail {
		return
	}
	for j := range b.Exceptions {
		ex := &b.Exceptions[j]
		if !ex.Matches(r.RuleID, r.ObjectKey, r.ObjectName) {
			continue
		}
		switch {
		case ex.Lapsed(s.CollectedAt):
			r.Message = appendMsg(r.Message, fmt.Sprintf("exception %s lapsed at %s", ex.ID, ex.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")))
		case ex.Accepted != r.Actual:
			r.Message = appendMsg(r.Message, fmt.Sprintf("exception %s accepts %q but the actual value is %q", ex.ID, ex.Accepted, r.Actual))
		default:
			r.Outcome = tenant.Pass
			r.Exception = ex.ID
			r.Message = appendMsg(r.Message, fmt.Sprintf("accepted by exception %s (owner %s, until %s): %s", ex.ID, ex.Owner, ex.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"), ex.Reason))
		}
		return
	}
}

func appendMsg(msg, more string) string {
	if msg == "" {
		return more
	}
	return msg + "; " + more
}
