package report

import (
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// sampleInput is a small hand-made input exercising every section and all
// four outcomes, independent of the shipped rules.
func sampleInput() *Input {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return at.AddDate(0, 0, d) }
	ptr := func(t time.Time) *time.Time { return &t }
	snap := &tenant.Snapshot{
		Schema: tenant.SchemaV1, Tenant: "Sample Ltd", TenantID: "00000000-0000-0000-0000-000000000001", CollectedAt: at,
		Status: map[tenant.Section]tenant.SectionStatus{
			tenant.SectionSharePoint: {State: tenant.StateComplete, Calls: 2, RU: 2},
			tenant.SectionSites:      {State: tenant.StateComplete, Calls: 4, RU: 8},
			tenant.SectionLinks:      {State: tenant.StatePartial, Error: "drive b!x: 503 after 5 retries", Calls: 40, Retries: 5, Throttled: 3, RU: 180},
			tenant.SectionGuests:     {State: tenant.StateComplete, Calls: 6},
			tenant.SectionEntra:      {State: tenant.StateComplete, Calls: 3},
			tenant.SectionExchange:   {State: tenant.StateFailed, Error: "InvokeCommand: 401"},
		},
		SharePoint: &tenant.SharePointSettings{DomainRestrictionMode: tenant.DomainModeBlockList, BlockedDomains: []string{"rival.example"}},
		Sites: []tenant.Site{
			{ID: "s1", URL: "https://sample.sharepoint.com/sites/finance", Title: "Finance", SensitivityLabel: "Confidential"},
			{ID: "s2", URL: "https://sample.sharepoint.com/sites/marketing", Title: "Marketing"},
		},
		Links: []tenant.Link{
			{DriveID: "d1", ItemID: "i1", PermissionID: "p1", SiteID: "s1", ItemPath: "/Budget 2027.xlsx", Scope: tenant.LinkScopeAnonymous, Type: tenant.LinkTypeEdit},
			{DriveID: "d1", ItemID: "i2", PermissionID: "p2", SiteID: "s1", ItemPath: "/Payroll", Folder: true, Scope: tenant.LinkScopeAnonymous, Type: tenant.LinkTypeView, Expires: ptr(day(5))},
			{DriveID: "d2", ItemID: "i3", PermissionID: "p3", SiteID: "s2", ItemPath: "/=HYPERLINK(\"x\")|<b>.docx", Scope: tenant.LinkScopeAnonymous, Type: tenant.LinkTypeView, Expires: ptr(day(-2)), HasPassword: tenant.Ptr(true)},
			{DriveID: "d2", ItemID: "i4", PermissionID: "p4", SiteID: "s2", ItemPath: "/Brochure.pdf", Scope: tenant.LinkScopeOrganization, Type: tenant.LinkTypeView},
		},
		Guests: []tenant.Guest{
			{ID: "g1", DisplayName: "Ann Partner", Mail: "ann@partner.example", State: tenant.GuestAccepted, CreatedAt: ptr(day(-400)),
				SignIn: &tenant.SignIn{Last: ptr(day(-3))}, Sponsors: []tenant.Ref{{ID: "u1"}}, MemberOf: []tenant.Ref{{ID: "grp1"}}},
			{ID: "g2", DisplayName: "Bob Rival", Mail: "bob@rival.example", State: tenant.GuestAccepted, CreatedAt: ptr(day(-300)),
				SignIn: &tenant.SignIn{Last: ptr(day(-200))}, Sponsors: []tenant.Ref{}, MemberOf: []tenant.Ref{}},
			{ID: "g3", UPN: "cat_vendor.example#EXT#@sample.onmicrosoft.com", State: tenant.GuestPending, CreatedAt: ptr(day(-20)),
				SignIn: &tenant.SignIn{}, Sponsors: []tenant.Ref{{ID: "u2"}}, MemberOf: []tenant.Ref{}},
			{ID: "g4", DisplayName: "Dan NoData", Mail: "dan@partner.example", State: tenant.GuestAccepted, AccountEnabled: tenant.Ptr(false)},
		},
		Exchange: &tenant.ExchangeSettings{
			SharingPolicies: []tenant.SharingPolicy{{Name: "Default Sharing Policy", Default: true, Enabled: tenant.Ptr(true), Domains: []tenant.SharingDomain{
				{Domain: "*", Actions: []string{tenant.CalendarFreeBusyDetail}},
				{Domain: "Anonymous", Actions: []string{tenant.CalendarFreeBusyReviewer}},
			}}},
			OrganizationRelationships: []tenant.OrgRelationship{{Name: "Partner", DomainNames: []string{"partner.example"}, Enabled: tenant.Ptr(true),
				FreeBusyAccessEnabled: tenant.Ptr(true), FreeBusyAccessLevel: tenant.FreeBusyLimitedDetails, FreeBusyAccessScope: "Everyone"}},
		},
	}
	rules := []RuleInfo{
		{ID: "SP-001", Title: "Tenant sharing level within baseline", Section: tenant.SectionSharePoint, Severity: tenant.SeverityHigh,
			Rationale: "Anyone links let anybody with the URL open content.", Remediation: "Set the SharePoint sharing level to New and existing guests.",
			CIS: []string{"7.2.3"}, SCuBA: []string{"MS.SHAREPOINT.1.1v1"}},
		{ID: "LINK-001", Title: "Anyone links expire", Section: tenant.SectionLinks, Severity: tenant.SeverityMedium,
			Remediation: "Remove the link or set an expiry.", CIS: []string{"7.2.9"}, SCuBA: []string{"MS.SHAREPOINT.3.1v1"}},
		{ID: "GUEST-001", Title: "No stale guests", Section: tenant.SectionGuests, Severity: tenant.SeverityLow, CIS: []string{"5.1.6.2"}},
		{ID: "EXO-001", Title: "Calendar details not shared with all domains", Section: tenant.SectionExchange, Severity: tenant.SeverityHigh, SCuBA: []string{"MS.EXO.6.2v1"}},
		{ID: "GRP-001", Title: "Owners may not add guests", Section: tenant.SectionGroups, Severity: tenant.SeverityLow, CIS: []string{"1.3.10"}},
	}
	results := []tenant.Result{
		{RuleID: "SP-001", Section: tenant.SectionSharePoint, Outcome: tenant.Pass, Severity: tenant.SeverityHigh, ObjectKey: "sharepoint:tenant"},
		{RuleID: "LINK-001", Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityHigh, ObjectKey: "link:d1/i1/p1", ObjectName: "/Budget 2027.xlsx", Expected: "expires within 30 days", Actual: "never expires"},
		{RuleID: "LINK-001", Section: tenant.SectionLinks, Outcome: tenant.Unknown, Severity: tenant.SeverityMedium, ObjectKey: "links", Message: "links section partial"},
		{RuleID: "GUEST-001", Section: tenant.SectionGuests, Outcome: tenant.Fail, Severity: tenant.SeverityLow, ObjectKey: "guest:g2", ObjectName: "Bob Rival", Expected: "signed in within 90 days", Actual: "last sign-in 200 days ago", Exception: "EXC-1"},
		{RuleID: "GUEST-001", Section: tenant.SectionGuests, Outcome: tenant.Pass, Severity: tenant.SeverityLow, ObjectKey: "guest:g1"},
		{RuleID: "EXO-001", Section: tenant.SectionExchange, Outcome: tenant.Unknown, Severity: tenant.SeverityHigh, ObjectKey: "exchange", Message: "exchange section failed"},
		{RuleID: "GRP-001", Section: tenant.SectionGroups, Outcome: tenant.NotApplicable, Severity: tenant.SeverityLow, ObjectKey: "groups:tenant"},
	}
	return &Input{
		Tenant: "Sample Ltd", TenantID: snap.TenantID, GeneratedAt: at.Add(time.Hour), Period: Period{From: day(-30), To: at},
		Baseline: "recommended", Version: "test", Snapshot: snap, Results: results, Rules: rules,
		Previous: []tenant.Result{
			{RuleID: "SP-001", Section: tenant.SectionSharePoint, Outcome: tenant.Fail, Severity: tenant.SeverityHigh, ObjectKey: "sharepoint:tenant"},
			{RuleID: "LINK-001", Section: tenant.SectionLinks, Outcome: tenant.Pass, Severity: tenant.SeverityMedium, ObjectKey: "links"},
		},
		PreviousAt: day(-30),
		Changes: []Change{
			{At: day(-10), Kind: "modified", Section: tenant.SectionSharePoint, ObjectKey: "sharepoint:tenant", Field: "sharingCapability", Before: "externalUserAndGuestSharing", After: "externalUserSharingOnly"},
			{At: day(-4), Kind: "added", Section: tenant.SectionLinks, ObjectKey: "link:d1/i1/p1", ObjectName: "/Budget 2027.xlsx"},
			{At: day(-4), Kind: "removed", Section: tenant.SectionGuests, ObjectKey: "guest:g9", ObjectName: "Old Guest"},
		},
		Remediation: []RemediationEntry{
			{At: day(-9), RuleID: "SP-001", ObjectKey: "sharepoint:tenant", Action: "set sharing level", Mode: "apply", Status: "applied", Actor: "sharedrift", Before: "anyone", After: "new_and_existing_guests", Verified: tenant.Ptr(true)},
			{At: day(-3), RuleID: "LINK-001", ObjectKey: "link:d1/i1/p1", Action: "remove link", Mode: "dry-run", Status: "planned"},
		},
		Exceptions: []Exception{
			{ID: "EXC-1", RuleID: "GUEST-001", Object: "guest:g2", AcceptedValue: "last sign-in 200 days ago", Owner: "it-security@sample.example", Reason: "Auditor account", Expires: ptr(day(12))},
			{ID: "EXC-2", RuleID: "LINK-001", Object: "link:d9/*", Owner: "marketing@sample.example", Expires: ptr(day(-1))},
			{ID: "EXC-3", RuleID: "EXO-001", Owner: "cio@sample.example", Expires: ptr(day(200))},
		},
	}
}
