package rules_test

import (
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/tenant"
)

// syntheticSnapshot builds a large tenant: sites with a mix of levels and
// labels, guests in every hygiene state and links of which one in ten is an
// Anyone link. Strings shared per site are reused, as a decoder would not,
// to keep the fixture itself from dominating memory.
func syntheticSnapshot(nSites, nGuests, nLinks int) *tenant.Snapshot {
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	s := &tenant.Snapshot{Schema: tenant.SchemaV1, Tenant: "bench.onmicrosoft.com", CollectedAt: at, Status: map[tenant.Section]tenant.SectionStatus{}}
	for _, sec := range tenant.AllSections {
		s.Status[sec] = tenant.SectionStatus{State: tenant.StateComplete}
	}
	s.SharePoint = &tenant.SharePointSettings{
		SharingCapability: tenant.SharingNewAndExistingGuests, OneDriveSharingCapability: tenant.SharingExistingGuests,
		DomainRestrictionMode: tenant.DomainModeBlockList, AllowedDomains: []string{}, BlockedDomains: []string{"mailinator.com"},
		DefaultLinkScope: tenant.LinkScopeUsers, DefaultLinkPermission: tenant.LinkTypeView,
		AnyoneLinkExpirationDays: tenant.Ptr(7), FileAnyoneLinkType: tenant.LinkTypeView, FolderAnyoneLinkType: tenant.LinkTypeView,
		ResharingByGuests: tenant.Ptr(false), GuestExpirationRequired: tenant.Ptr(true), GuestExpirationDays: tenant.Ptr(60),
		EmailAttestationRequired: tenant.Ptr(true), EmailAttestationDays: tenant.Ptr(30),
	}
	levels := []tenant.SharingLevel{tenant.SharingDisabled, tenant.SharingExistingGuests, tenant.SharingNewAndExistingGuests, tenant.SharingAnyone}
	labels := []string{"", "General", "", "Confidential", "", "", "Highly Confidential", "", "", ""}
	s.Sites = make([]tenant.Site, nSites)
	for i := range s.Sites {
		id := "site-" + strconv.Itoa(i)
		s.Sites[i] = tenant.Site{
			ID: id, URL: "https://bench.sharepoint.com/sites/S" + strconv.Itoa(i), Title: id,
			SharingCapability: levels[i%len(levels)], SensitivityLabel: labels[i%len(labels)],
			Personal: i%5 == 0,
		}
	}
	domains := []string{"northwindtraders.com", "adatum.com", "tailspintoys.com", "mailinator.com", "gmail.com"}
	sponsor := []tenant.Ref{{ID: "u1", DisplayName: "Owner"}}
	group := []tenant.Ref{{ID: "g1", DisplayName: "Group", Type: "group"}}
	s.Guests = make([]tenant.Guest, nGuests)
	for i := range s.Guests {
		last := at.AddDate(0, 0, -(i % 200))
		created := at.AddDate(0, 0, -(i%400)-1)
		g := tenant.Guest{
			ID: "guest-" + strconv.Itoa(i), Domain: domains[i%len(domains)], State: tenant.GuestAccepted,
			CreatedAt: &created, StateChangedAt: &created, SignIn: &tenant.SignIn{Last: &last},
			Sponsors: sponsor, MemberOf: group,
		}
		g.Mail = "user" + strconv.Itoa(i) + "@" + g.Domain
		if i%7 == 0 {
			g.State = tenant.GuestPending
		}
		if i%11 == 0 {
			g.Sponsors = []tenant.Ref{}
		}
		if i%13 == 0 {
			g.MemberOf = []tenant.Ref{}
		}
		s.Guests[i] = g
	}
	s.Links = make([]tenant.Link, nLinks)
	for i := range s.Links {
		st := &s.Sites[i%nSites]
		l := tenant.Link{
			DriveID: st.ID, ItemID: strconv.Itoa(i), PermissionID: "p", SiteID: st.ID, SiteURL: st.URL,
			Library: "Shared Documents", ItemPath: "/Reports/report.docx", Scope: tenant.LinkScopeOrganization, Type: tenant.LinkTypeView,
		}
		if i%10 == 0 {
			l.Scope = tenant.LinkScopeAnonymous
			if i%30 == 0 {
				l.Type = tenant.LinkTypeEdit
			}
			if i%20 != 0 {
				exp := at.AddDate(0, 0, i%40)
				l.Expires = &exp
			}
		} else if i%3 == 0 {
			l.Scope = tenant.LinkScopeUsers
		}
		s.Links[i] = l
	}
	s.Entra = &tenant.EntraSettings{AllowInvitesFrom: tenant.InviteAdminsAndGuestInviters, GuestUserRoleID: tenant.GuestRoleLimited,
		Invitations: &tenant.DomainList{Mode: tenant.DomainModeBlockList, Allowed: []string{}, Blocked: []string{"mailinator.com"}}}
	s.Groups = &tenant.GroupsSettings{Configured: true, AllowToAddGuests: tenant.Ptr(true), AllowGuestsToAccessGroups: tenant.Ptr(true), AllowGuestsToBeGroupOwner: tenant.Ptr(false)}
	s.Exchange = &tenant.ExchangeSettings{SharingPolicies: []tenant.SharingPolicy{{Name: "Default", Enabled: tenant.Ptr(true), Domains: []tenant.SharingDomain{{Domain: "*", Actions: []string{tenant.CalendarFreeBusySimple}}}}}, OrganizationRelationships: []tenant.OrgRelationship{}}
	return s
}

// BenchmarkEvaluate runs every built-in rule over 10k sites, 100k guests and
// 1M links against the recommended baseline (with a URL pattern so that the
// library-level confidential lookup is exercised too).
func BenchmarkEvaluate(b *testing.B) {
	s := syntheticSnapshot(10_000, 100_000, 1_000_000)
	base, err := baselines.Load("recommended")
	if err != nil {
		b.Fatal(err)
	}
	base.Confidential.URLPatterns = []string{"*/sites/S1*/Shared Documents"}
	objects := float64(len(s.Sites) + len(s.Guests) + len(s.Links))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(rules.Evaluate(s, base))
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(objects*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	// On a shared machine wall time includes time spent descheduled; CPU
	// time per object is the per-core figure.
	b.ReportMetric(objects*float64(b.N)/cpu.Seconds(), "objects/cpu-s")
	b.ReportMetric(float64(n), "results")
	b.ReportMetric(float64(after.HeapSys)/(1<<20), "heap-sys-MiB")
	b.ReportMetric(float64(before.HeapAlloc)/(1<<20), "snapshot-heap-MiB")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
