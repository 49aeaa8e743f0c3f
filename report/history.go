package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// History is what a report reads from the store; store.Store satisfies it.
type History interface {
	Tenants(ctx context.Context) ([]store.Tenant, error)
	Scans(ctx context.Context, f store.ScanFilter) ([]store.Scan, error)
	Results(ctx context.Context, scanID int64) ([]tenant.Result, error)
	RuleSummary(ctx context.Context, scanID int64) ([]store.RuleCount, error)
	Changes(ctx context.Context, f store.ChangeFilter) ([]store.Change, error)
	Remediations(ctx context.Context, f store.RemediationFilter) ([]store.Remediation, error)
	CurrentObjects(ctx context.Context, tenantName string, sec tenant.Section, fn func(drift.Object) error) error
	AcceptedRisks(ctx context.Context, tenantName string, at time.Time) ([]store.Finding, error)
}

// FromStore builds the input for a report of tenantName over the period
// [since, now) from the store: the latest scan is the current state, the
// last scan at or before since (else the oldest scan of the period) gives
// the trend, and the period's changes and remediation attempts fill the
// timeline and the log. Links and guests are streamed from the store when
// rendered, never loaded whole. ctx is kept for those reads, so it must
// outlive rendering.
func FromStore(ctx context.Context, h History, tenantName string, since, now time.Time, log *slog.Logger) (*Input, error) {
	// Scoped scans (the drives change notifications named) judged part of
	// a section: the results, counts and trend are of whole scans, while
	// the objects, changes and findings below include what they recorded.
	scans, err := h.Scans(ctx, store.ScanFilter{Tenant: tenantName, Whole: true})
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", tenantName, err)
	}
	if len(scans) == 0 {
		return nil, fmt.Errorf("report %s: no scans recorded: %w", tenantName, store.ErrNotFound)
	}
	cur := scans[0] // newest first
	var prev *store.Scan
	for i := range scans[1:] {
		if s := &scans[i+1]; !s.CollectedAt.After(since) {
			prev = s
			break
		}
	}
	if prev == nil && len(scans) > 1 {
		prev = &scans[len(scans)-1]
	}

	in := &Input{
		Tenant: tenantName, GeneratedAt: now, Period: Period{From: since, To: now},
		Baseline: cur.Baseline, Rules: RuleInfos(rules.Builtin()),
		API: APIStats{Calls: int(cur.Stats.APICalls), RU: cur.Stats.RU, Throttled: int(cur.Stats.Throttled), Retries: int(cur.Stats.Retries),
			Duration: cur.FinishedAt.Sub(cur.StartedAt)},
	}
	tenants, err := h.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", tenantName, err)
	}
	for _, t := range tenants {
		if t.Name == tenantName {
			in.TenantID = t.TenantID
		}
	}
	if in.Results, in.RuleCounts, err = scanResults(ctx, h, cur.ID); err != nil {
		return nil, err
	}
	if prev != nil {
		if in.Previous, in.PreviousCounts, err = scanResults(ctx, h, prev.ID); err != nil {
			return nil, err
		}
		in.PreviousAt = prev.CollectedAt
	}
	if in.Trend, err = trend(ctx, h, scans, in.Rules); err != nil {
		return nil, err
	}
	if in.Snapshot, err = currentSnapshot(ctx, h, tenantName, cur); err != nil {
		return nil, err
	}
	in.Links = storedObjects[tenant.Link](ctx, h, tenantName, tenant.SectionLinks)
	in.Guests = storedObjects[tenant.Guest](ctx, h, tenantName, tenant.SectionGuests)

	changes, err := h.Changes(ctx, store.ChangeFilter{Tenant: tenantName, Since: since})
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", tenantName, err)
	}
	for _, c := range changes {
		in.Changes = append(in.Changes, ChangesFromDrift(c.DetectedAt, []drift.Change{c.Change})...)
	}
	rems, err := h.Remediations(ctx, store.RemediationFilter{Tenant: tenantName})
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", tenantName, err)
	}
	for _, r := range rems {
		if r.CreatedAt.Before(since) {
			continue
		}
		in.Remediation = append(in.Remediation, remediationEntry(r))
	}

	// Exceptions live in the baseline, which the store names but does not
	// keep; a baseline file that has moved only costs the exception list.
	if cur.Baseline != "" {
		b, err := baselines.Load(cur.Baseline)
		if err != nil {
			log.Warn("baseline of the latest scan not loadable; exceptions not listed", "baseline", cur.Baseline, "error", err.Error())
		} else {
			in.Exceptions = ExceptionsFromBaseline(b)
			in.Options.BlockedDomains = BlockedDomainsFromBaseline(b)
			if b.Guests.StaleAfterDays != nil {
				in.Options.StaleDays = *b.Guests.StaleAfterDays
			}
		}
	}
	risks, err := h.AcceptedRisks(ctx, tenantName, now)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", tenantName, err)
	}
	in.Exceptions = append(in.Exceptions, ExceptionsFromRisks(risks)...)
	return in, nil
}

func scanResults(ctx context.Context, h History, scanID int64) ([]tenant.Result, map[string]Counts, error) {
	results, err := h.Results(ctx, scanID)
	if err != nil {
		return nil, nil, fmt.Errorf("results of scan %d: %w", scanID, err)
	}
	_, counts, err := scanCounts(ctx, h, scanID)
	if err != nil {
		return nil, nil, err
	}
	return results, counts, nil
}

// scanCounts reads a scan's per-rule outcome counts.
func scanCounts(ctx context.Context, h History, scanID int64) ([]store.RuleCount, map[string]Counts, error) {
	summary, err := h.RuleSummary(ctx, scanID)
	if err != nil {
		return nil, nil, fmt.Errorf("rule summary of scan %d: %w", scanID, err)
	}
	counts := map[string]Counts{}
	for _, rc := range summary {
		c := counts[rc.RuleID]
		c.AddN(rc.Outcome, int(rc.Count))
		counts[rc.RuleID] = c
	}
	return summary, counts, nil
}

// maxTrend caps the scans the trend chart reads, one rule summary each.
const maxTrend = 90

// trend scores the most recent scans (newest first in scans), oldest first.
func trend(ctx context.Context, h History, scans []store.Scan, infos []RuleInfo) ([]TrendPoint, error) {
	sevOf := map[string]tenant.Severity{}
	for _, ri := range infos {
		sevOf[ri.ID] = ri.Severity
	}
	sev := func(id string) tenant.Severity { return sevOf[id] }
	n := min(len(scans), maxTrend)
	out := make([]TrendPoint, 0, n)
	for i := n - 1; i >= 0; i-- {
		_, counts, err := scanCounts(ctx, h, scans[i].ID)
		if err != nil {
			return nil, err
		}
		sc := ScoreOf(counts, sev)
		out = append(out, TrendPoint{At: scans[i].CollectedAt, Score: sc.Value, Failing: sc.Failing})
	}
	return out, nil
}

// currentSnapshot reassembles the settings sections of the tenant's
// current state from the store's objects; links and guests are streamed
// separately.
func currentSnapshot(ctx context.Context, h History, tenantName string, cur store.Scan) (*tenant.Snapshot, error) {
	s := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: tenantName, CollectedAt: cur.CollectedAt, Status: cur.Sections}
	decode := func(o drift.Object, v any) error {
		if err := json.Unmarshal(o.Doc, v); err != nil {
			return fmt.Errorf("stored object %s: %w", o.Key, err)
		}
		return nil
	}
	for _, sec := range []tenant.Section{tenant.SectionSharePoint, tenant.SectionSites, tenant.SectionEntra, tenant.SectionGroups, tenant.SectionExchange, tenant.SectionTeams, tenant.SectionPowerBI} {
		err := h.CurrentObjects(ctx, tenantName, sec, func(o drift.Object) error {
			switch {
			case o.Key == (*tenant.SharePointSettings).Key(nil):
				s.SharePoint = &tenant.SharePointSettings{}
				return decode(o, s.SharePoint)
			case strings.HasPrefix(o.Key, "site:"):
				s.Sites = append(s.Sites, tenant.Site{})
				return decode(o, &s.Sites[len(s.Sites)-1])
			case o.Key == tenant.KeyEntraAuthorization:
				if s.Entra == nil {
					s.Entra = &tenant.EntraSettings{}
				}
				return decode(o, s.Entra) // allowInvitesFrom and guestUserRoleId
			case o.Key == tenant.KeyEntraInvitations:
				if s.Entra == nil {
					s.Entra = &tenant.EntraSettings{}
				}
				s.Entra.Invitations = &tenant.DomainList{}
				return decode(o, s.Entra.Invitations)
			case o.Key == tenant.KeyEntraCrossTenant:
				if s.Entra == nil {
					s.Entra = &tenant.EntraSettings{}
				}
				s.Entra.CrossTenantDefault = &tenant.CrossTenantDefault{}
				return decode(o, s.Entra.CrossTenantDefault)
			case strings.HasPrefix(o.Key, tenant.KeyCrossTenantPartnerPrefix):
				if s.Entra == nil {
					s.Entra = &tenant.EntraSettings{}
				}
				s.Entra.CrossTenantPartners = append(s.Entra.CrossTenantPartners, tenant.CrossTenantPartner{})
				return decode(o, &s.Entra.CrossTenantPartners[len(s.Entra.CrossTenantPartners)-1])
			case o.Key == (*tenant.GroupsSettings).Key(nil):
				groups := s.Groups
				s.Groups = &tenant.GroupsSettings{}
				if err := decode(o, s.Groups); err != nil {
					return err
				}
				if groups != nil {
					s.Groups.Groups = groups.Groups
				}
			case strings.HasPrefix(o.Key, "group:"):
				if s.Groups == nil {
					s.Groups = &tenant.GroupsSettings{}
				}
				s.Groups.Groups = append(s.Groups.Groups, tenant.Group{})
				return decode(o, &s.Groups.Groups[len(s.Groups.Groups)-1])
			case strings.HasPrefix(o.Key, "sharingpolicy:"):
				if s.Exchange == nil {
					s.Exchange = &tenant.ExchangeSettings{}
				}
				s.Exchange.SharingPolicies = append(s.Exchange.SharingPolicies, tenant.SharingPolicy{})
				return decode(o, &s.Exchange.SharingPolicies[len(s.Exchange.SharingPolicies)-1])
			case strings.HasPrefix(o.Key, "remotedomain:"):
				if s.Exchange == nil {
					s.Exchange = &tenant.ExchangeSettings{}
				}
				s.Exchange.RemoteDomains = append(s.Exchange.RemoteDomains, tenant.RemoteDomain{})
				return decode(o, &s.Exchange.RemoteDomains[len(s.Exchange.RemoteDomains)-1])
			case strings.HasPrefix(o.Key, "orgrel:"):
				if s.Exchange == nil {
					s.Exchange = &tenant.ExchangeSettings{}
				}
				s.Exchange.OrganizationRelationships = append(s.Exchange.OrganizationRelationships, tenant.OrgRelationship{})
				return decode(o, &s.Exchange.OrganizationRelationships[len(s.Exchange.OrganizationRelationships)-1])
			case o.Key == (*tenant.TeamsSettings).Key(nil):
				s.Teams = &tenant.TeamsSettings{}
				return decode(o, s.Teams)
			case o.Key == (*tenant.PowerBISettings).Key(nil):
				s.PowerBI = &tenant.PowerBISettings{}
				return decode(o, s.PowerBI)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("current %s of %s: %w", sec, tenantName, err)
		}
	}
	return s, nil
}

// errStop ends a store walk early when the consumer stops iterating.
var errStop = errors.New("stop")

// storedObjects streams the current objects of a section as T, one at a
// time; each pass reads the store again.
func storedObjects[T any](ctx context.Context, h History, tenantName string, sec tenant.Section) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		err := h.CurrentObjects(ctx, tenantName, sec, func(o drift.Object) error {
			var v T
			if err := json.Unmarshal(o.Doc, &v); err != nil {
				return fmt.Errorf("stored object %s: %w", o.Key, err)
			}
			if !yield(&v, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, fmt.Errorf("current %s of %s: %w", sec, tenantName, err))
		}
	}
}

func remediationEntry(r store.Remediation) RemediationEntry {
	e := RemediationEntry{
		At: r.CreatedAt, RuleID: r.RuleID, ObjectKey: r.ObjectKey, Action: r.Action, Mode: r.Mode,
		Status: string(r.State), Actor: r.ApprovedBy, Before: compactJSON(r.Before), After: compactJSON(r.After), Error: r.Error,
	}
	// The remediation engine reads an object back after applying a change
	// and records the outcome in Result.
	switch r.Result {
	case "verified":
		e.Verified = tenant.Ptr(true)
	case "mismatch", "not_verified":
		e.Verified = tenant.Ptr(false)
	}
	return e
}

// compactJSON shows a stored JSON document on one line, cut to a length a
// table cell can hold.
func compactJSON(doc []byte) string {
	if len(doc) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, doc) == nil {
		doc = buf.Bytes()
	}
	return truncate(rawText(doc), 160)
}
