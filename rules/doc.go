// Package rules compares a tenant snapshot with a baseline. Each rule judges
// one risk and reports one of four outcomes per object: pass, fail,
// not_applicable (the baseline sets no expectation, or the rule does not
// apply to the tenant's configuration) and unknown (the section was not
// collected completely or the data is missing). A rule never passes over an
// incomplete section.
//
// The built-in rules are listed explicitly in registry.go; Evaluate runs
// them all, applies the baseline's exceptions and orders results by rule ID
// and object key. Rules are pure: the reference time for ages and expiries is
// the snapshot's CollectedAt.
package rules
