// Package remediate puts drift back: for every finding a rule can fix it
// plans the API operations that restore the baseline (each with the value
// before and after), decides per tenant and rule whether to only plan, wait
// for an approval or apply, and applies with guardrails: findings from
// incomplete sections or stale scans are never acted on, each object is
// re-read right before it is changed and skipped when it moved since the
// scan, a run stops at its change cap, excluded objects are never touched,
// destructive steps need an explicit allowance or a person's approval, and
// every change is verified by reading it back. Every attempt is recorded in
// the store's remediation audit; reversible changes can be rolled back to
// the recorded before value.
//
// The package is wired like the rest of the flow: plans are a pure function
// of a snapshot, a baseline and rule results; execution goes through the
// small Target interface (M365Target talks to the tenant through the
// collector's client); state lives in the store.
package remediate
