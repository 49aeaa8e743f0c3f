package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// These helpers turn the pipeline's own types into report input, so that
// the CLI, the daemon and scheduled delivery fill an Input the same way.

// RuleInfos describes rules for Input.Rules.
func RuleInfos(rs []rules.Rule) []RuleInfo {
	out := make([]RuleInfo, 0, len(rs))
	for _, r := range rs {
		m := r.Meta()
		out = append(out, RuleInfo{
			ID: m.ID, Title: m.Title, Section: m.Section, Severity: m.Severity,
			Rationale: m.Rationale, Remediation: m.Remediation,
			CIS: m.References.CIS, SCuBA: m.References.SCuBA, Docs: m.References.Docs,
		})
	}
	return out
}

// ExceptionsFromBaseline lists a baseline's exceptions for Input.Exceptions.
func ExceptionsFromBaseline(b *baselines.Baseline) []Exception {
	if b == nil {
		return nil
	}
	out := make([]Exception, 0, len(b.Exceptions))
	for _, e := range b.Exceptions {
		x := Exception{ID: e.ID, RuleID: e.Rule, Object: cmp.Or(e.Object, e.Name), AcceptedValue: e.Accepted, Owner: e.Owner, Reason: e.Reason}
		if !e.ExpiresAt.IsZero() {
			t := e.ExpiresAt
			x.Expires = &t
		}
		out = append(out, x)
	}
	return out
}

// ExceptionsFromRisks lists the risks accepted on findings (from the CLI,
// the API or Slack) for Input.Exceptions, next to the baseline's own.
func ExceptionsFromRisks(fs []store.Finding) []Exception {
	out := make([]Exception, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		if f.Accepted == nil {
			continue
		}
		until := f.Accepted.Until
		out = append(out, Exception{ID: f.ExceptionID(), RuleID: f.RuleID, Object: cmp.Or(f.ObjectName, f.ObjectKey),
			AcceptedValue: f.Accepted.Value, Owner: f.Accepted.Owner, Reason: f.Accepted.Reason, Expires: &until})
	}
	return out
}

// ChangesFromDrift flattens drift changes seen at time at into timeline
// entries: one per changed field of a modified object, one per added or
// removed object.
func ChangesFromDrift(at time.Time, changes []drift.Change) []Change {
	var out []Change
	for _, c := range changes {
		base := Change{At: at, Kind: string(c.Kind), Section: c.Section, ObjectKey: c.Key, ObjectName: c.Name}
		if c.Kind != drift.Modified || len(c.Fields) == 0 {
			out = append(out, base)
			continue
		}
		for _, f := range c.Fields {
			ch := base
			ch.Field = f.Path
			if len(f.Added) > 0 || len(f.Removed) > 0 {
				ch.Before = prefixed("-", f.Removed)
				ch.After = prefixed("+", f.Added)
			} else {
				ch.Before, ch.After = rawText(f.Old), rawText(f.New)
			}
			out = append(out, ch)
		}
	}
	return out
}

func prefixed(p string, vs []string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = p + v
	}
	return strings.Join(parts, " ")
}

// rawText shows a JSON value for people: strings without quotes, absent
// values as "(none)".
func rawText(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return "(none)"
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// BlockedDomainsFromBaseline lists the domain globs a baseline requires to
// be blocked (SharePoint and Entra invitations), for Options.BlockedDomains.
func BlockedDomainsFromBaseline(b *baselines.Baseline) []string {
	if b == nil {
		return nil
	}
	var out []string
	if d := b.SharePoint.DomainRestriction; d != nil {
		out = append(out, d.MustBlock...)
	}
	if d := b.Entra.InvitationDomains; d != nil {
		out = append(out, d.MustBlock...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Offline builds the input for a report of snapshot cur evaluated against
// baseline b, without a store. With prev (an earlier snapshot of the same
// tenant) the report also shows the trend and the drift between the two;
// the period then runs from prev to cur. baselineName is how the user named
// the baseline. GeneratedAt is cur's collection time; callers that want the
// wall clock set it afterwards.
func Offline(cur, prev *tenant.Snapshot, b *baselines.Baseline, baselineName string) (*Input, error) {
	if cur == nil {
		return nil, fmt.Errorf("report: no snapshot")
	}
	in := &Input{
		Tenant: cur.Tenant, TenantID: cur.TenantID, GeneratedAt: cur.CollectedAt,
		Period:   Period{To: cur.CollectedAt},
		Baseline: baselineName, Snapshot: cur,
		Results:    rules.Evaluate(cur, b),
		Rules:      RuleInfos(rules.Builtin()),
		Exceptions: ExceptionsFromBaseline(b),
	}
	in.Options.BlockedDomains = BlockedDomainsFromBaseline(b)
	if b != nil && b.Guests.StaleAfterDays != nil {
		in.Options.StaleDays = *b.Guests.StaleAfterDays
	}
	if prev != nil {
		if prev.Tenant != cur.Tenant {
			return nil, fmt.Errorf("previous snapshot is of tenant %q, not %q", prev.Tenant, cur.Tenant)
		}
		if !prev.CollectedAt.Before(cur.CollectedAt) {
			return nil, fmt.Errorf("previous snapshot (collected %s) is not older than the current one (%s)",
				prev.CollectedAt.Format(time.RFC3339), cur.CollectedAt.Format(time.RFC3339))
		}
		changes, err := drift.Diff(prev, cur)
		if err != nil {
			return nil, fmt.Errorf("compare snapshots: %w", err)
		}
		in.Previous = rules.Evaluate(prev, b)
		in.PreviousAt = prev.CollectedAt
		in.Period.From = prev.CollectedAt
		in.Changes = ChangesFromDrift(cur.CollectedAt, changes)
	}
	return in, nil
}
