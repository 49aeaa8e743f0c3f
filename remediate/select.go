package remediate

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// Results yields a scan's results with their fingerprints
// (tenant.ResultSpool.Each, or Each over a slice).
type Results func(fn func(fp string, r *tenant.Result) error) error

// Each is Results over results held in a slice.
func Each(results []tenant.Result) Results {
	return func(fn func(string, *tenant.Result) error) error {
		for i := range results {
			if err := fn(results[i].Fingerprint(), &results[i]); err != nil {
				return err
			}
		}
		return nil
	}
}

// Selection is what Select keeps for planning, and what it leaves out.
type Selection struct {
	// Failures are ordered by rule and object, for Build.
	Failures []tenant.Result
	// Over counts fixable failures beyond MaxPlans; Off those of rules
	// whose mode is off; Held those of rules with a rule-wide unknown
	// result (tenant.Result.Blocks).
	Over, Off, Held int
}

// Select returns the failures of a scan that a fix could be planned for
// under pol, at most pol.MaxPlans of them, most severe first (then by
// fingerprint, so the same ones are kept scan after scan until fixed). It
// holds at most twice the cap, however many results there are.
//
// Unknown results are never planned, and neither is any failure of a rule
// that also gave a rule-wide unknown result: it was judged on incomplete
// data, and the store holds that rule's findings as they were. Such a
// rule's failures read before its rule-wide result may count in Over.
func Select(results Results, pol *Policy) (Selection, error) {
	var sel Selection
	limit := pol.withDefaults().MaxPlans
	type cand struct {
		fp string
		r  tenant.Result
	}
	var cs []cand
	var held []string // rules with a rule-wide unknown result
	rank := func(r *tenant.Result) int { n, _ := r.Severity.Rank(); return n }
	trim := func() {
		n := len(cs)
		cs = slices.DeleteFunc(cs, func(c cand) bool { return slices.Contains(held, c.r.RuleID) })
		sel.Held += n - len(cs)
		slices.SortFunc(cs, func(a, b cand) int {
			return cmp.Or(cmp.Compare(rank(&b.r), rank(&a.r)), strings.Compare(a.fp, b.fp))
		})
		if len(cs) > limit {
			sel.Over += len(cs) - limit
			clear(cs[limit:])
			cs = cs[:limit]
		}
	}
	err := results(func(fp string, res *tenant.Result) error {
		if res.Blocks() && !slices.Contains(held, res.RuleID) {
			held = append(held, res.RuleID)
		}
		if res.Outcome != tenant.Fail || res.Exception != "" || !Fixable(res.RuleID) {
			return nil
		}
		if pol.ModeFor(res.RuleID) == ModeOff {
			sel.Off++
			return nil
		}
		if cs = append(cs, cand{fp, *res}); len(cs) >= 2*limit {
			trim()
		}
		return nil
	})
	if err != nil {
		return Selection{}, fmt.Errorf("read results: %w", err)
	}
	trim()
	kept := make([]tenant.Result, len(cs))
	for i := range cs {
		kept[i] = cs[i].r
	}
	slices.SortStableFunc(kept, func(a, b tenant.Result) int { // plans in rule, then object order
		return cmp.Or(strings.Compare(a.RuleID, b.RuleID), strings.Compare(a.ObjectKey, b.ObjectKey))
	})
	sel.Failures = kept
	return sel, nil
}
