package remediate

import (
	"strconv"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// largeTenant is a tenant whose settings fail most of `recommended`, with
// nSites sites (one in four shared with Anyone), nGuests guests and nLinks
// links, one in ten of them an Anyone link.
func largeTenant(nSites, nGuests, nLinks int) *tenant.Snapshot {
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	s := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: "bench.onmicrosoft.com", CollectedAt: at, Status: map[tenant.Section]tenant.SectionStatus{}}
	for _, sec := range tenant.AllSections {
		s.Status[sec] = tenant.SectionStatus{State: tenant.StateComplete}
	}
	s.SharePoint = &tenant.SharePointSettings{
		SharingCapability: tenant.SharingAnyone, OneDriveSharingCapability: tenant.SharingAnyone,
		DomainRestrictionMode: tenant.DomainModeAllowList, AllowedDomains: []string{"northwindtraders.com", "mailinator.com"}, BlockedDomains: []string{},
		DefaultLinkScope: tenant.LinkScopeAnonymous, DefaultLinkPermission: tenant.LinkTypeEdit,
		AnyoneLinkExpirationDays: tenant.Ptr(0), FileAnyoneLinkType: tenant.LinkTypeEdit, FolderAnyoneLinkType: tenant.LinkTypeEdit,
		ResharingByGuests: tenant.Ptr(true), GuestExpirationRequired: tenant.Ptr(false), GuestExpirationDays: tenant.Ptr(365),
		EmailAttestationRequired: tenant.Ptr(false), EmailAttestationDays: tenant.Ptr(90),
	}
	levels := []tenant.SharingLevel{tenant.SharingDisabled, tenant.SharingExistingGuests, tenant.SharingNewAndExistingGuests, tenant.SharingAnyone}
	labels := []string{"", "General", "", "Confidential", "", "", "Highly Confidential", "", "", ""}
	s.Sites = make([]tenant.Site, nSites)
	for i := range s.Sites {
		id := "site-" + strconv.Itoa(i)
		s.Sites[i] = tenant.Site{ID: id, URL: "https://bench.sharepoint.com/sites/S" + strconv.Itoa(i), Title: id,
			SharingCapability: levels[i%len(levels)], SensitivityLabel: labels[i%len(labels)]}
	}
	domains := []string{"northwindtraders.com", "adatum.com", "mailinator.com", "gmail.com"}
	sponsor := []tenant.Ref{{ID: "u1", DisplayName: "Owner"}}
	group := []tenant.Ref{{ID: "g1", DisplayName: "Group", Type: "group"}}
	s.Guests = make([]tenant.Guest, nGuests)
	for i := range s.Guests {
		last := at.AddDate(0, 0, -(i % 200))
		created := at.AddDate(0, 0, -(i%400)-1)
		g := tenant.Guest{ID: "guest-" + strconv.Itoa(i), Domain: domains[i%len(domains)], State: tenant.GuestAccepted,
			CreatedAt: &created, StateChangedAt: &created, SignIn: &tenant.SignIn{Last: &last}, AccountEnabled: tenant.Ptr(true),
			Sponsors: sponsor, MemberOf: group}
		g.Mail = "user" + strconv.Itoa(i) + "@" + g.Domain
		s.Guests[i] = g
	}
	s.Links = make([]tenant.Link, nLinks)
	for i := range s.Links {
		st := &s.Sites[i%nSites]
		l := tenant.Link{DriveID: st.ID, ItemID: strconv.Itoa(i), PermissionID: "p", SiteID: st.ID, SiteURL: st.URL,
			Library: "Shared Documents", ItemPath: "/Reports/report.docx", Scope: tenant.LinkScopeOrganization, Type: tenant.LinkTypeView}
		if i%10 == 0 {
			l.Scope, l.Type = tenant.LinkScopeAnonymous, tenant.LinkTypeEdit
		}
		s.Links[i] = l
	}
	s.Entra = &tenant.EntraSettings{AllowInvitesFrom: tenant.InviteEveryone, GuestUserRoleID: tenant.GuestRoleMember,
		Invitations: &tenant.DomainList{Mode: tenant.DomainModeAllowList, Allowed: []string{"northwindtraders.com", "mailinator.com"}, Blocked: []string{}}}
	s.Groups = &tenant.GroupsSettings{Configured: true, AllowToAddGuests: tenant.Ptr(true), AllowGuestsToAccessGroups: tenant.Ptr(true), AllowGuestsToBeGroupOwner: tenant.Ptr(true)}
	s.Exchange = &tenant.ExchangeSettings{SharingPolicies: []tenant.SharingPolicy{{Name: "Default", Enabled: tenant.Ptr(true),
		Domains: []tenant.SharingDomain{{Domain: "*", Actions: []string{tenant.CalendarFreeBusyDetail, tenant.ContactsSharing}}}}}, OrganizationRelationships: []tenant.OrgRelationship{}}
	return s
}

// BenchmarkBuild measures Build, never-loosen check included, on a tenant
// of 10k sites, 100k guests and 1M links failing most of `recommended`,
// for the default cap of 1,000 plans (the most severe failures: Anyone
// links on confidential content, then other high-severity ones) and for a
// selection of one failure of each fixable rule.
func BenchmarkBuild(b *testing.B) {
	s := largeTenant(10_000, 100_000, 1_000_000)
	base, err := baselines.Load("recommended")
	if err != nil {
		b.Fatal(err)
	}
	results := rules.Evaluate(s, base)
	pol := Policy{Mode: ModeDryRun}
	sel, err := Select(Each(results), &pol)
	if err != nil {
		b.Fatal(err)
	}
	onePerRule := map[string]tenant.Result{}
	for _, r := range results {
		if _, ok := onePerRule[r.RuleID]; !ok && r.Outcome == tenant.Fail && Fixable(r.RuleID) {
			onePerRule[r.RuleID] = r
		}
	}
	var mix []tenant.Result
	for _, r := range onePerRule {
		mix = append(mix, r)
	}
	for _, tc := range []struct {
		name     string
		failures []tenant.Result
	}{{"cap-1000", sel.Failures}, {"one-per-rule", mix}} {
		b.Run(tc.name, func(b *testing.B) {
			var plans []Plan
			for b.Loop() {
				plans, _ = Build(s, base, tc.failures)
			}
			blocked := 0
			for _, p := range plans {
				if p.Blocked != "" {
					blocked++
				}
			}
			b.ReportMetric(float64(len(plans)), "plans")
			b.ReportMetric(float64(blocked), "blocked")
			if len(plans) > 0 {
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(plans)), "µs/plan")
			}
		})
	}
}

// BenchmarkNeverLoosen measures the never-loosen check alone (what Build
// adds to planning), per kind of plan, on the same tenant: the plans of
// the default cap (Anyone-link deletions), and one plan per fixable rule
// (tenant settings, whose rules may read every guest, and sites, whose
// links are read with them).
func BenchmarkNeverLoosen(b *testing.B) {
	s := largeTenant(10_000, 100_000, 1_000_000)
	base, err := baselines.Load("recommended")
	if err != nil {
		b.Fatal(err)
	}
	results := rules.Evaluate(s, base)
	pol := Policy{Mode: ModeDryRun}
	sel, err := Select(Each(results), &pol)
	if err != nil {
		b.Fatal(err)
	}
	capped, _ := Build(s, base, sel.Failures)
	onePerRule := map[string]tenant.Result{}
	for _, r := range results {
		if _, ok := onePerRule[r.RuleID]; !ok && r.Outcome == tenant.Fail && Fixable(r.RuleID) {
			onePerRule[r.RuleID] = r
		}
	}
	var mix []tenant.Result
	for _, r := range onePerRule {
		mix = append(mix, r)
	}
	mixed, _ := Build(s, base, mix)
	groups := map[string][]Plan{"cap-1000": capped}
	for _, p := range mixed {
		secs, _ := changes(&p)
		k := "sections-changed"
		if onlyObjects(secs) {
			k = "objects-only"
		}
		groups[k] = append(groups[k], p)
	}
	for _, name := range []string{"cap-1000", "objects-only", "sections-changed"} {
		plans := groups[name]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				sf := &safety{s: s, b: base}
				sf.prepare(plans)
				for i := range plans {
					_ = sf.blocked(&plans[i])
				}
			}
			b.ReportMetric(float64(len(plans)), "plans")
			if len(plans) > 0 {
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(len(plans)), "µs/plan")
			}
		})
	}
}
