package storetest

import (
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// Clock is a settable clock for deterministic lease and outbox tests.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// T0 is the time of the first fixture scan.
var T0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// Tenant is the fixture tenant's name.
const Tenant = "contoso.example"

// Link builds a fixture link with permission id perm.
func Link(perm string, scope tenant.LinkScope) tenant.Link {
	return tenant.Link{DriveID: "drive1", ItemID: "item" + perm, PermissionID: "perm" + perm, SiteID: "s1",
		ItemPath: "/Shared Documents/file" + perm + ".docx", Scope: scope, Type: tenant.LinkTypeView,
		WebURL: "https://contoso.sharepoint.com/:w:/s/finance/E" + perm}
}

// Snapshot is a small tenant with every section complete: 12 objects,
// two Anyone links (link:drive1/item2/perm2, …/item3/perm3) and one guest
// without a sponsor (guest:g2), so Evaluate reports three failures.
func Snapshot(at time.Time) *tenant.Snapshot {
	s := &tenant.Snapshot{
		Schema: tenant.SchemaV1, Tenant: Tenant, TenantID: "00000000-0000-0000-0000-00000000c0de", CollectedAt: at,
		Status: map[tenant.Section]tenant.SectionStatus{},
		SharePoint: &tenant.SharePointSettings{SharingCapability: tenant.SharingExistingGuests,
			DomainRestrictionMode: tenant.DomainModeAllowList, AllowedDomains: []string{"partner.example"}, BlockedDomains: []string{}},
		Sites: []tenant.Site{
			{ID: "s1", URL: "https://contoso.sharepoint.com/sites/finance", SharingCapability: tenant.SharingExistingGuests},
			{ID: "s2", URL: "https://contoso.sharepoint.com/sites/hr", SharingCapability: tenant.SharingDisabled},
		},
		Links: []tenant.Link{Link("1", tenant.LinkScopeUsers), Link("2", tenant.LinkScopeAnonymous), Link("3", tenant.LinkScopeAnonymous)},
		Guests: []tenant.Guest{
			{ID: "g1", Mail: "ann@partner.example", Domain: "partner.example", State: tenant.GuestAccepted,
				Sponsors: []tenant.Ref{{ID: "u1"}}, MemberOf: []tenant.Ref{}},
			{ID: "g2", Mail: "bob@other.example", Domain: "other.example", State: tenant.GuestPending,
				Sponsors: []tenant.Ref{}, MemberOf: []tenant.Ref{}},
		},
		Entra: &tenant.EntraSettings{AllowInvitesFrom: tenant.InviteAdminsAndGuestInviters, GuestUserRoleID: tenant.GuestRoleRestricted,
			Invitations: &tenant.DomainList{Mode: tenant.DomainModeBlockList, Allowed: []string{}, Blocked: []string{"evil.example"}}},
		Groups: &tenant.GroupsSettings{Configured: true, AllowToAddGuests: tenant.Ptr(false)},
		Exchange: &tenant.ExchangeSettings{
			SharingPolicies: []tenant.SharingPolicy{{Name: "Default Sharing Policy", Default: true,
				Domains: []tenant.SharingDomain{{Domain: "*", Actions: []string{tenant.CalendarFreeBusySimple}}}}},
			OrganizationRelationships: []tenant.OrgRelationship{},
		},
	}
	for _, sec := range tenant.AllSections {
		s.Status[sec] = tenant.SectionStatus{State: tenant.StateComplete, Calls: 2, RU: 3}
	}
	return s
}

// ObjectCount is how many objects Snapshot holds.
const ObjectCount = 12

// Fixture rule IDs.
const (
	RuleAnyoneLink   = "links.anyone"
	RuleGuestSponsor = "guests.sponsor"
	RuleSharingLevel = "sharepoint.level"
)

// Evaluate is a miniature rule set over the fixture, enough to drive the
// findings lifecycle (a link result carries its site's label): Anyone links fail (high), guests without sponsors
// fail (medium), tenant sharing above existing guests fails (critical).
// Objects of an incomplete section get unknown, as real rules do.
func Evaluate(s *tenant.Snapshot) []tenant.Result {
	var out []tenant.Result
	outcome := func(sec tenant.Section, fail bool) tenant.Outcome {
		switch {
		case !s.Complete(sec):
			return tenant.Unknown
		case fail:
			return tenant.Fail
		}
		return tenant.Pass
	}
	if sp := s.SharePoint; sp != nil {
		r, _ := sp.SharingCapability.Rank()
		out = append(out, tenant.Result{RuleID: RuleSharingLevel, Section: tenant.SectionSharePoint, Severity: tenant.SeverityCritical,
			ObjectKey: sp.Key(), Outcome: outcome(tenant.SectionSharePoint, r > 1),
			Expected: string(tenant.SharingExistingGuests), Actual: string(sp.SharingCapability)})
	}
	siteLabel := map[string]string{}
	for _, st := range s.Sites {
		siteLabel[st.ID] = st.SensitivityLabel
	}
	for i := range s.Links {
		l := &s.Links[i]
		out = append(out, tenant.Result{RuleID: RuleAnyoneLink, Section: tenant.SectionLinks, Severity: tenant.SeverityHigh,
			ObjectKey: l.Key(), ObjectName: l.ItemPath, ObjectURL: l.WebURL, ObjectLabel: siteLabel[l.SiteID], Outcome: outcome(tenant.SectionLinks, l.Scope == tenant.LinkScopeAnonymous),
			Expected: "no Anyone links", Actual: string(l.Scope)})
	}
	for i := range s.Guests {
		g := &s.Guests[i]
		out = append(out, tenant.Result{RuleID: RuleGuestSponsor, Section: tenant.SectionGuests, Severity: tenant.SeverityMedium,
			ObjectKey: g.Key(), ObjectName: g.Mail, Outcome: outcome(tenant.SectionGuests, len(g.Sponsors) == 0),
			Expected: "at least one sponsor", Actual: "none"})
	}
	return out
}
