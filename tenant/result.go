package tenant

import (
	"crypto/sha256"
	"encoding/hex"
)

// Outcome is a rule's verdict on one object. There are four, not two.
type Outcome string

// Rule outcomes.
const (
	Pass          Outcome = "pass"
	Fail          Outcome = "fail"
	NotApplicable Outcome = "not_applicable"
	Unknown       Outcome = "unknown"
)

// Severity ranks how bad a failed rule is.
type Severity string

// Severities, lowest first.
const (
	SeverityInfo     Severity = "info"
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// Rank orders severities: info(0) … critical(4); ok is false for unknown values.
func (s Severity) Rank() (rank int, ok bool) {
	switch s {
	case SeverityInfo:
		return 0, true
	case SeverityLow:
		return 1, true
	case SeverityMedium:
		return 2, true
	case SeverityHigh:
		return 3, true
	case SeverityCritical:
		return 4, true
	}
	return 0, false
}

// AtLeast reports whether s is at or above threshold.
func (s Severity) AtLeast(threshold Severity) bool {
	a, ok1 := s.Rank()
	b, ok2 := threshold.Rank()
	return ok1 && ok2 && a >= b
}

// Result is one rule's outcome for one object.
type Result struct {
	RuleID     string   `json:"ruleId"`
	Section    Section  `json:"section"`
	Outcome    Outcome  `json:"outcome"`
	Severity   Severity `json:"severity"`
	ObjectKey  string   `json:"objectKey"`
	ObjectName string   `json:"objectName,omitempty"`
	// ObjectURL opens the object where an admin can act on it: the
	// file's, folder's or site's web URL, or the admin-center page of a
	// tenant setting. Empty when the scan knows of none.
	ObjectURL string `json:"objectUrl,omitempty"`
	// ObjectLabel is the sensitivity label of the object as the snapshot
	// has it: a site's own label, a link's site's label, a group's labels
	// (joined with ", "). Empty when the object carries none or has no
	// label at all (tenant settings, guests).
	ObjectLabel string `json:"objectLabel,omitempty"`
	Expected    string `json:"expected,omitempty"`
	Actual      string `json:"actual,omitempty"`
	Message     string `json:"message,omitempty"`
	// Exception names the baseline exception that accepted this result, if any.
	Exception string `json:"exception,omitempty"`
	// Count is how many objects an aggregate result stands for: rules over
	// sites, links and guests report their plain passes as one result per
	// rule. 0 means one object.
	Count int `json:"count,omitempty"`
	// RuleWide marks an unknown result that stands for every object the
	// rule judges: the rule could not be evaluated (a section it reads is
	// incomplete, or its input was unreadable), so none of the rule's
	// findings may be resolved, reopened or rewritten by this scan.
	RuleWide bool `json:"ruleWide,omitempty"`
	// Expect is the machine-readable expectation the result was judged
	// against, for the rules remediation can fix; nil for others.
	Expect *Expectation `json:"expect,omitempty"`
}

// Blocks reports whether r is a rule-wide unknown (see RuleWide).
func (r *Result) Blocks() bool { return r.RuleWide && r.Outcome == Unknown }

// Objects is how many objects r stands for (at least one).
func (r *Result) Objects() int { return max(r.Count, 1) }

// Fingerprint is the stable identity of the drift a result describes: the
// same rule, object and expectation give the same fingerprint in every scan.
func (r *Result) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte(r.RuleID))
	h.Write([]byte{0})
	h.Write([]byte(r.ObjectKey))
	h.Write([]byte{0})
	h.Write([]byte(r.Expected))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Ptr returns a pointer to v; handy for optional snapshot fields.
func Ptr[T any](v T) *T { return &v }

// Counts tallies results by outcome.
type Counts struct {
	Pass          int `json:"pass"`
	Fail          int `json:"fail"`
	NotApplicable int `json:"not_applicable"`
	Unknown       int `json:"unknown"`
}

// AddResult counts r once per object it stands for.
func (c *Counts) AddResult(r *Result) { c.AddN(r.Outcome, r.Objects()) }

// Add counts one result of outcome o.
func (c *Counts) Add(o Outcome) { c.AddN(o, 1) }

// AddN counts n results of outcome o. An outcome it does not recognise
// counts as unknown: it proves nothing either way.
func (c *Counts) AddN(o Outcome, n int) {
	switch o {
	case Pass:
		c.Pass += n
	case Fail:
		c.Fail += n
	case NotApplicable:
		c.NotApplicable += n
	default:
		c.Unknown += n
	}
}

// Of returns the count for outcome o, 0 for an outcome it does not recognise.
func (c Counts) Of(o Outcome) int {
	switch o {
	case Pass:
		return c.Pass
	case Fail:
		return c.Fail
	case NotApplicable:
		return c.NotApplicable
	case Unknown:
		return c.Unknown
	}
	return 0
}

// Total is the sum of all four outcomes.
func (c Counts) Total() int { return c.Pass + c.Fail + c.NotApplicable + c.Unknown }

// Plus returns the sum of c and o.
func (c Counts) Plus(o Counts) Counts {
	return Counts{Pass: c.Pass + o.Pass, Fail: c.Fail + o.Fail, NotApplicable: c.NotApplicable + o.NotApplicable, Unknown: c.Unknown + o.Unknown}
}
