package m365

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

func doc(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// docItems returns the value array of a documented collection body.
func docItems(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	var p page
	if err := decodeJSON(name, doc(t, name), &p); err != nil {
		t.Fatal(err)
	}
	items, err := p.items(name)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func docArray(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	var arr []json.RawMessage
	if err := json.Unmarshal(doc(t, name), &arr); err != nil {
		t.Fatal(err)
	}
	return arr
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		t.Errorf("%s:\n got  %s\n want %s", what, gb, wb)
	}
}

func TestParseDocumentedExamples(t *testing.T) {
	t.Run("sharepointSettings (wrapped in value as documented)", func(t *testing.T) {
		var s tenant.SharePointSettings
		if err := ParseSharePointSettings(doc(t, "sharepointsettings-get.json"), &s); err != nil {
			t.Fatal(err)
		}
		check(t, "settings", s, tenant.SharePointSettings{
			SharingCapability: tenant.SharingAnyone, DomainRestrictionMode: tenant.DomainModeAllowList,
			AllowedDomains: []string{"contoso.com", "fabrikam.com"}, BlockedDomains: []string{"contoso.com", "fabrikam.com"},
			ResharingByGuests: tenant.Ptr(true), RequireAccountMatch: tenant.Ptr(true),
		})
	})
	t.Run("sharepointSettings (bare object)", func(t *testing.T) {
		var s tenant.SharePointSettings
		if err := ParseSharePointSettings([]byte(`{"sharingCapability":"unknownFutureValue"}`), &s); err != nil {
			t.Fatal(err)
		}
		check(t, "settings", s, tenant.SharePointSettings{SharingCapability: "unknownFutureValue"})
	})
	t.Run("CSOM Tenant", func(t *testing.T) {
		s := tenant.SharePointSettings{SharingCapability: tenant.SharingAnyone}
		if err := ParseCSOMTenant(docArray(t, "csom-tenant.json"), &s); err != nil {
			t.Fatal(err)
		}
		check(t, "settings", s, tenant.SharePointSettings{
			SharingCapability: tenant.SharingAnyone, OneDriveSharingCapability: tenant.SharingNewAndExistingGuests,
			DomainRestrictionMode: tenant.DomainModeNone, AllowedDomains: []string{"outlook.com"},
			DefaultLinkScope: tenant.LinkScopeOrganization, DefaultLinkPermission: tenant.LinkTypeEdit,
			AnyoneLinkExpirationDays: tenant.Ptr(-1), FileAnyoneLinkType: tenant.LinkTypeEdit, FolderAnyoneLinkType: tenant.LinkTypeEdit,
			ResharingByGuests: tenant.Ptr(true), RequireAccountMatch: tenant.Ptr(false),
			GuestExpirationRequired: tenant.Ptr(false), GuestExpirationDays: tenant.Ptr(60),
			EmailAttestationRequired: tenant.Ptr(false), EmailAttestationDays: tenant.Ptr(30),
		})
	})
	t.Run("getAllSites", func(t *testing.T) {
		sites, err := parseGraphSites(epGetAllSites, docItems(t, "site-getallsites.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "sites", sites, []graphSite{
			{ID: "bf6fb551-d508-4946-a439-b2a6154fc1d9", FullID: "contoso.sharepoint.com,bf6fb551-d508-4946-a439-b2a6154fc1d9,65a04b8b-1f44-442b-a1fc-9e5852fb946c", URL: "https://contoso.sharepoint.com", Title: "Root Site"},
			{ID: "d9ecf079-9b13-4376-ac5d-f242dda55626", FullID: "contoso.sharepoint.com,d9ecf079-9b13-4376-ac5d-f242dda55626,746dbcc1-fa2b-4120-b657-2670bae5bb6f", URL: "https://contoso.sharepoint.com/sites/siteA", Title: "Site A"},
			{ID: "fd1a778f-263e-4c43-acdf-d5c2519d80eb", FullID: "contoso.sharepoint.com,fd1a778f-263e-4c43-acdf-d5c2519d80eb,c06016db-dfec-4f79-83a1-09c6dbfd7022", URL: "https://contoso.sharepoint.com/sites/siteB", Title: "Site B"},
		})
	})
	t.Run("CSOM site properties", func(t *testing.T) {
		sites, next, err := parseCSOMSites(docArray(t, "csom-sites.json"))
		if err != nil {
			t.Fatal(err)
		}
		if next != "2" || len(sites) != 2 {
			t.Fatalf("next %q, %d sites", next, len(sites))
		}
		check(t, "sites", sites, []csomSite{
			{URL: "https://contoso.sharepoint.com/sites/siteA", Title: "Site A", Template: "GROUP#0", LockState: "Unlock",
				GroupID: "4e3a7c2d-0000-4000-8000-0000000000aa", SensitivityLabelID: "27451a5b-5823-4853-bcd4-2204d03ab477",
				SharingCapability: tenant.SharingNewAndExistingGuests, DomainRestrictionMode: tenant.DomainModeBlockList,
				AllowedDomains: []string{}, BlockedDomains: []string{"gmail.com", "outlook.com"}},
			// An unknown capability value is carried verbatim, never mapped.
			{URL: "https://contoso.sharepoint.com/sites/siteB", Title: "Site B", Template: "STS#3", LockState: "ReadOnly",
				SharingCapability: tenant.SharingLevel("7")},
		})
	})
	t.Run("driveItem delta", func(t *testing.T) {
		items, err := ParseDeltaItems(docItems(t, "driveitem-delta.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "items", items, []DriveItem{
			{ID: "0123456789abc", Name: "folder2", Folder: true},
			{ID: "123010204abac", Name: "file.txt"},
			{ID: "2353010204ddgg", Name: "file5.txt", Deleted: true},
		})
	})
	t.Run("permissions", func(t *testing.T) {
		base := tenant.Link{DriveID: "d", ItemID: "i"}
		links, err := ParsePermissions(docItems(t, "driveitem-list-permissions.json"), base)
		if err != nil {
			t.Fatal(err)
		}
		url := "https://onedrive.live.com/redir?resid=5D33DD65C6932946!70859&authkey=!AL7N1QAfSWcjNU8&ithint=folder%2cgif"
		// The example links carry no scope: it stays unknown, not "users".
		check(t, "links", links, []tenant.Link{
			{DriveID: "d", ItemID: "i", PermissionID: "1", Type: tenant.LinkTypeEdit, Roles: []string{"write"}, WebURL: url},
			{DriveID: "d", ItemID: "i", PermissionID: "3", Type: tenant.LinkTypeEdit, Roles: []string{"write"}, WebURL: url},
		})
	})
	t.Run("users with signInActivity", func(t *testing.T) {
		guests, err := ParseGuests(docItems(t, "user-list-signinactivity.json"), true)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "guests", guests, []tenant.Guest{{
			ID: "39807bd1-3dde-48f3-8165-81ddd4e46de0", UPN: "adelev_adatum.com#EXT#@contoso.onmicrosoft.com", Domain: "adatum.com",
			State: tenant.GuestAccepted, StateChangedAt: ts("2024-05-02T09:14:11Z"), CreatedAt: ts("2024-05-01T16:02:44Z"),
			SignIn: &tenant.SignIn{Last: ts("2025-01-17T16:41:33Z"), LastSuccessful: ts("2025-01-17T16:41:33Z")},
		}})
	})
	t.Run("users without signInActivity", func(t *testing.T) {
		guests, err := ParseGuests(docItems(t, "user-list-signinactivity.json"), false)
		if err != nil {
			t.Fatal(err)
		}
		if guests[0].SignIn != nil {
			t.Errorf("sign-in %+v, want nil (not collected)", guests[0].SignIn)
		}
	})
	t.Run("sponsors", func(t *testing.T) {
		refs, err := ParseRefs(docItems(t, "user-list-sponsors.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "refs", refs, []tenant.Ref{
			{ID: "08143e93-989e-4771-ac78-803bcdac52d2", Type: "group"},
			{ID: "263a1289-8282-4bf7-91f7-550d9bba8c02", DisplayName: "Sara Davis", Type: "user"},
		})
	})
	t.Run("authorizationPolicy", func(t *testing.T) {
		var e tenant.EntraSettings
		if err := ParseAuthorizationPolicy(doc(t, "authorizationpolicy-get.json"), &e); err != nil {
			t.Fatal(err)
		}
		// The documented example has no guestUserRoleId: unknown, not "member".
		check(t, "entra", e, tenant.EntraSettings{AllowInvitesFrom: tenant.InviteEveryone})
	})
	t.Run("b2bManagementPolicies", func(t *testing.T) {
		l, err := ParseB2BManagementPolicies(docItems(t, "b2bmanagementpolicies-list.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "invitations", l, &tenant.DomainList{Mode: tenant.DomainModeNone, Allowed: []string{}, Blocked: []string{}})
	})
	t.Run("crossTenantAccessPolicy default", func(t *testing.T) {
		d, err := ParseCrossTenantDefault(doc(t, "crosstenantaccesspolicy-default-get.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "default", d, &tenant.CrossTenantDefault{B2BCollaborationInbound: "allowed", B2BCollaborationOutbound: "allowed",
			B2BDirectConnectInbound: "blocked", B2BDirectConnectOutbound: "blocked", InboundTrustMFA: tenant.Ptr(false)})
	})
	t.Run("crossTenantAccessPolicy partners", func(t *testing.T) {
		l, err := ParseCrossTenantPartners(docItems(t, "crosstenantaccesspolicy-list-partners.json"))
		if err != nil {
			t.Fatal(err)
		}
		// null blocks inherit the default: they stay empty.
		check(t, "partners", l, []tenant.CrossTenantPartner{{TenantID: "123f4846-ba00-4fd7-ba43-dac1f8f63013", B2BDirectConnectInbound: "allowed"}})
	})
	t.Run("groupSettings", func(t *testing.T) {
		gs, err := ParseGroupSettings(docItems(t, "groupsettings-list.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "groups", gs, &tenant.GroupsSettings{Configured: true, AllowToAddGuests: tenant.Ptr(true),
			AllowGuestsToAccessGroups: tenant.Ptr(true), AllowGuestsToBeGroupOwner: tenant.Ptr(false)})
	})
	t.Run("group settings", func(t *testing.T) {
		v, err := ParseGroupGuestSetting(docItems(t, "group-settings-list.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "override", v, tenant.Ptr(false))
	})
	t.Run("Get-SharingPolicy", func(t *testing.T) {
		p, err := ParseSharingPolicies(docItems(t, "exchange-get-sharingpolicy.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "policies", p, []tenant.SharingPolicy{{Name: "Default Sharing Policy", Enabled: tenant.Ptr(true), Default: true, Domains: []tenant.SharingDomain{
			{Domain: "*", Actions: []string{tenant.CalendarFreeBusySimple}}, {Domain: "Anonymous", Actions: []string{tenant.CalendarFreeBusySimple}}}}})
	})
	t.Run("Get-OrganizationRelationship", func(t *testing.T) {
		r, err := ParseOrgRelationships(docItems(t, "exchange-get-organizationrelationship.json"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "relationships", r, []tenant.OrgRelationship{{Name: "Contoso", DomainNames: []string{"contoso.com", "service.contoso.com"},
			Enabled: tenant.Ptr(true), FreeBusyAccessEnabled: tenant.Ptr(true), FreeBusyAccessLevel: tenant.FreeBusyAvailabilityOnly,
			MailTipsAccessEnabled: tenant.Ptr(false), MailTipsAccessLevel: "None"}})
	})
}

// TestParseUnexpectedValues: unknown enums are carried verbatim, missing
// properties stay unknown, values of the wrong type are errors naming the
// field, never "absent".
func TestParseUnexpectedValues(t *testing.T) {
	links, err := ParsePermissions([]json.RawMessage{json.RawMessage(`{"id":"p","link":{"scope":"unknownFutureValue","type":"blocksDownload"},"expirationDateTime":"0001-01-01T00:00:00Z"}`)}, tenant.Link{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "link", links, []tenant.Link{{PermissionID: "p", Scope: "unknownFutureValue", Type: "blocksDownload"}})
	_, err = ParsePermissions([]json.RawMessage{json.RawMessage(`{"id":"p","link":{"scope":"anonymous"},"hasPassword":"yes"}`)}, tenant.Link{})
	if err == nil || !strings.Contains(err.Error(), `permission "p" field "hasPassword": expected boolean, got string`) {
		t.Errorf("hasPassword as a string: error %v", err)
	}

	var s tenant.SharePointSettings
	if err := ParseCSOMTenant([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`), json.RawMessage(`{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.Tenant","DefaultSharingLinkType":9}`)}, &s); err != nil {
		t.Fatal(err)
	}
	check(t, "csom", s, tenant.SharePointSettings{DefaultLinkScope: "9"})
	s = tenant.SharePointSettings{}
	err = ParseCSOMTenant([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`), json.RawMessage(`{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.Tenant","DefaultSharingLinkType":9,"RequireAnonymousLinksExpireInDays":"x"}`)}, &s)
	if err == nil || !strings.Contains(err.Error(), `field "RequireAnonymousLinksExpireInDays": expected number, got string`) {
		t.Errorf("days as a string: error %v", err)
	}
	// The fields that could be read are still applied.
	check(t, "csom with an unreadable field", s, tenant.SharePointSettings{DefaultLinkScope: "9"})

	r, err := ParseOrgRelationships([]json.RawMessage{json.RawMessage(`{"Name":"X","FreeBusyAccessLevel":2,"Enabled":"True","DomainNames":"x.com"}`)})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "relationship", r, []tenant.OrgRelationship{{Name: "X", DomainNames: []string{"x.com"}, Enabled: tenant.Ptr(true), FreeBusyAccessLevel: tenant.FreeBusyLimitedDetails}})

	gs, err := ParseGroupSettings([]json.RawMessage{})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "not configured", gs, &tenant.GroupsSettings{Configured: false})

	l, err := ParseB2BManagementPolicies([]json.RawMessage{json.RawMessage(`{"id":"p","definition":["{\"B2BManagementPolicy\":{\"InvitationsAllowedAndBlockedDomainsPolicy\":{\"AllowedDomains\":[\"Partner.COM\"]}}}"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	check(t, "allow list", l, &tenant.DomainList{Mode: tenant.DomainModeAllowList, Allowed: []string{"partner.com"}, Blocked: []string{}})
}

// TestParseMalformed: broken bodies are errors naming the endpoint.
func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name    string
		run     func() error
		mention string
	}{
		{"settings truncated", func() error {
			return ParseSharePointSettings([]byte(`{"sharingCapability":"disa`), &tenant.SharePointSettings{})
		}, "GET /v1.0/admin/sharepoint/settings: truncated"},
		{"settings not an object", func() error { return ParseSharePointSettings([]byte(`[1]`), &tenant.SharePointSettings{}) }, "expected a JSON object, got array"},
		{"settings without a setting", func() error {
			return ParseSharePointSettings([]byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#admin/sharepoint/settings/$entity"}`), &tenant.SharePointSettings{})
		}, "GET /v1.0/admin/sharepoint/settings: expected sharepointSettings with sharingCapability, "},
		{"settings all null", func() error {
			return ParseSharePointSettings([]byte(`{"sharingCapability":null,"sharingAllowedDomainList":null}`), &tenant.SharePointSettings{})
		}, "got an object holding none of them"},
		{"authorization policy garbage", func() error {
			return ParseAuthorizationPolicy([]byte(`<html>`), &tenant.EntraSettings{})
		}, "GET /v1.0/policies/authorizationPolicy: malformed JSON"},
		{"cross-tenant null", func() error { _, err := ParseCrossTenantDefault([]byte(`null`)); return err }, "expected a JSON object, got null"},
		{"user without id", func() error {
			_, err := ParseGuests([]json.RawMessage{json.RawMessage(`{"userType":"Guest"}`)}, false)
			return err
		}, `GET /v1.0/users: user 0 field "id": expected string, got nothing`},
		{"b2b definition garbage", func() error {
			_, err := ParseB2BManagementPolicies([]json.RawMessage{json.RawMessage(`{"id":"p","definition":["{oops"]}`)})
			return err
		}, `b2bManagementPolicies: policy "p": definition`},
		{"CSOM without tenant object", func() error {
			return ParseCSOMTenant([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`)}, &tenant.SharePointSettings{})
		}, "holds no Microsoft.Online.SharePoint.TenantAdministration.Tenant"},
		{"CSOM sites without items", func() error {
			_, _, err := parseCSOMSites([]json.RawMessage{json.RawMessage(`{"_ObjectType_":"` + csomSitesType + `"}`)})
			return err
		}, `field "_Child_Items_": expected array, got nothing`},
		{"collection without value", func() error {
			var p page
			_ = json.Unmarshal([]byte(`{"@odata.context":"x"}`), &p)
			_, err := p.items("GET /v1.0/users")
			return err
		}, "GET /v1.0/users: response has no value array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %v, want one mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestGuestDomain(t *testing.T) {
	tests := []struct{ mail, upn, want string }{
		{"Ann@Fabrikam.com", "", "fabrikam.com"},
		{"", "ann_fabrikam.co.uk#EXT#@contoso.onmicrosoft.com", "fabrikam.co.uk"},
		{"", "ann.b_x_gmail.com#ext#@contoso.onmicrosoft.com", "gmail.com"},
		{"", "weird", ""},
	}
	for _, tt := range tests {
		t.Run(tt.mail+tt.upn, func(t *testing.T) {
			if got := guestDomain(tt.mail, tt.upn); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseSharingDomain(t *testing.T) {
	tests := []struct {
		in   string
		want tenant.SharingDomain
	}{
		{"*:CalendarSharingFreeBusySimple", tenant.SharingDomain{Domain: "*", Actions: []string{"CalendarSharingFreeBusySimple"}}},
		{"anonymous: CalendarSharingFreeBusyReviewer", tenant.SharingDomain{Domain: "Anonymous", Actions: []string{"CalendarSharingFreeBusyReviewer"}}},
		{"Contoso.com:CalendarSharingFreeBusyDetail, ContactsSharing", tenant.SharingDomain{Domain: "contoso.com", Actions: []string{"CalendarSharingFreeBusyDetail", "ContactsSharing"}}},
		{"nodomain", tenant.SharingDomain{Domain: "nodomain", Actions: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) { check(t, tt.in, ParseSharingDomain(tt.in), tt.want) })
	}
}
