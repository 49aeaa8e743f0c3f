package drift

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

func TestDiffObject(t *testing.T) {
	tests := []struct {
		name, before, after string
		want                []string // FieldChange.String() of each change
	}{
		{"equal", `{"a":1}`, `{"a":1}`, nil},
		{"scalar", `{"scope":"users"}`, `{"scope":"anonymous"}`, []string{`scope: "users" -> "anonymous"`}},
		{"field removed", `{"expires":"2025-01-01T00:00:00Z","x":1}`, `{"x":1}`, []string{`expires: "2025-01-01T00:00:00Z" -> (none)`}},
		{"field added", `{}`, `{"hasPassword":false}`, []string{`hasPassword: (none) -> false`}},
		{"nested", `{"inv":{"mode":"blockList"}}`, `{"inv":{"mode":"allowList"}}`, []string{`inv.mode: "blockList" -> "allowList"`}},
		{"set reordered", `{"d":["a","b"]}`, `{"d":["b","a"]}`, nil},
		{"list cleared to null", `{"d":["a"]}`, `{"d":null}`, []string{`d: -a`}},
		{"set changed", `{"d":["a","b"]}`, `{"d":["b","c"]}`, []string{`d: -a +c`}},
		{"keyed list", `{"domains":[{"domain":"*","actions":["CalendarSharingFreeBusySimple"]}]}`,
			`{"domains":[{"domain":"*","actions":["CalendarSharingFreeBusyDetail"]},{"domain":"Anonymous","actions":["CalendarSharingFreeBusySimple"]}]}`,
			[]string{`domains[domain=*].actions: -CalendarSharingFreeBusySimple +CalendarSharingFreeBusyDetail`,
				`domains[domain=Anonymous]: (none) -> {"actions":["CalendarSharingFreeBusySimple"],"domain":"Anonymous"}`}},
		{"indexed list", `{"l":[{"x":1},{"x":2}]}`, `{"l":[{"x":1}]}`, []string{`l[1]: {"x":2} -> (none)`}},
		{"number kept exact", `{"n":1.0}`, `{"n":1.5}`, []string{`n: 1.0 -> 1.5`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields, err := DiffObject([]byte(tc.before), []byte(tc.after))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fields {
				got = append(got, f.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDiffObjectBadJSON(t *testing.T) {
	if _, err := DiffObject([]byte(`{`), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "previous") {
		t.Fatalf("want error naming the previous document, got %v", err)
	}
}

func snapshot(state tenant.State, links ...tenant.Link) *tenant.Snapshot {
	s := &tenant.Snapshot{Tenant: "t", CollectedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Status: map[tenant.Section]tenant.SectionStatus{
			tenant.SectionLinks:      {State: state},
			tenant.SectionSharePoint: {State: tenant.StateComplete},
		},
		SharePoint: &tenant.SharePointSettings{SharingCapability: tenant.SharingExistingGuests},
		Links:      links,
	}
	return s
}

func link(perm string, scope tenant.LinkScope) tenant.Link {
	return tenant.Link{DriveID: "d", ItemID: "i", PermissionID: perm, Scope: scope, Type: tenant.LinkTypeView, ItemPath: "/doc" + perm}
}

func TestDiff(t *testing.T) {
	base := snapshot(tenant.StateComplete, link("1", tenant.LinkScopeUsers), link("2", tenant.LinkScopeUsers), link("3", tenant.LinkScopeUsers))
	type want struct {
		key  string
		kind Kind
	}
	tests := []struct {
		name string
		prev *tenant.Snapshot
		cur  *tenant.Snapshot
		want []want
	}{
		{"no previous", nil, base, nil},
		{"unchanged", base, base, nil},
		{"added removed modified",
			base,
			snapshot(tenant.StateComplete, link("1", tenant.LinkScopeAnonymous), link("3", tenant.LinkScopeUsers), link("4", tenant.LinkScopeUsers)),
			[]want{{"link:d/i/1", Modified}, {"link:d/i/2", Removed}, {"link:d/i/4", Added}}},
		{"current incomplete: nothing, not even removals",
			base, snapshot(tenant.StatePartial, link("1", tenant.LinkScopeAnonymous)), nil},
		{"previous incomplete: nothing",
			snapshot(tenant.StateFailed), base, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := Diff(tc.prev, tc.cur)
			if err != nil {
				t.Fatal(err)
			}
			var got []want
			for _, c := range changes {
				got = append(got, want{c.Key, c.Kind})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDiffFieldPaths(t *testing.T) {
	prev := snapshot(tenant.StateComplete, link("1", tenant.LinkScopeUsers))
	l := link("1", tenant.LinkScopeAnonymous)
	l.Type = tenant.LinkTypeEdit
	cur := snapshot(tenant.StateComplete, l)
	changes, err := Diff(prev, cur)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 {
		t.Fatalf("want one change, got %+v", changes)
	}
	var paths []string
	for _, f := range changes[0].Fields {
		paths = append(paths, f.Path)
	}
	if !reflect.DeepEqual(paths, []string{"scope", "type"}) {
		t.Errorf("paths = %v", paths)
	}
	if changes[0].Name != "/doc1" {
		t.Errorf("name = %q", changes[0].Name)
	}
}

func TestObjectsEverySection(t *testing.T) {
	s := &tenant.Snapshot{
		SharePoint: &tenant.SharePointSettings{},
		Sites:      []tenant.Site{{ID: "s1"}},
		Links:      []tenant.Link{link("1", tenant.LinkScopeUsers)},
		Guests:     []tenant.Guest{{ID: "g1", Mail: "a@b.example"}},
		Entra:      &tenant.EntraSettings{Invitations: &tenant.DomainList{Mode: tenant.DomainModeNone}},
		Groups:     &tenant.GroupsSettings{Groups: []tenant.Group{{ID: "gr1"}}},
		Exchange: &tenant.ExchangeSettings{SharingPolicies: []tenant.SharingPolicy{{Name: "Default"}},
			OrganizationRelationships: []tenant.OrgRelationship{{Name: "Partner"}}},
	}
	var keys []string
	for _, sec := range tenant.AllSections {
		if err := Objects(s, sec, func(o Object) error {
			if o.Section != sec || len(o.Doc) == 0 {
				t.Errorf("bad object %+v", o)
			}
			keys = append(keys, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"sharepoint:tenant", "site:s1", "link:d/i/1", "guest:g1", tenant.KeyEntraAuthorization, tenant.KeyEntraInvitations,
		"groups:tenant", "group:gr1", "sharingpolicy:Default", "orgrel:Partner"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys = %v", keys)
	}
	if Hash([]byte("a")) == Hash([]byte("b")) {
		t.Error("hash collision on trivial input")
	}
}

// fullSnapshot holds objects with content in every section, all complete.
func fullSnapshot() *tenant.Snapshot {
	s := &tenant.Snapshot{Tenant: "t", CollectedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Status:     map[tenant.Section]tenant.SectionStatus{},
		SharePoint: &tenant.SharePointSettings{SharingCapability: tenant.SharingExistingGuests, BlockedDomains: []string{"evil.example"}},
		Sites:      []tenant.Site{{ID: "s1", URL: "https://t.example/sites/a", SharingCapability: tenant.SharingExistingGuests, SensitivityLabelID: "conf"}},
		Links:      []tenant.Link{link("1", tenant.LinkScopeUsers), link("2", tenant.LinkScopeAnonymous)},
		Guests:     []tenant.Guest{{ID: "g1", Mail: "ann@partner.example", Domain: "partner.example", State: tenant.GuestAccepted}},
		Entra: &tenant.EntraSettings{AllowInvitesFrom: tenant.InviteAdminsAndGuestInviters, GuestUserRoleID: tenant.GuestRoleRestricted,
			Invitations: &tenant.DomainList{Mode: tenant.DomainModeBlockList, Allowed: []string{}, Blocked: []string{"evil.example"}}},
		Groups: &tenant.GroupsSettings{Configured: true, AllowToAddGuests: tenant.Ptr(false), Groups: []tenant.Group{{ID: "gr1", DisplayName: "Finance"}}},
		Exchange: &tenant.ExchangeSettings{
			SharingPolicies:           []tenant.SharingPolicy{{Name: "Default", Default: true, Domains: []tenant.SharingDomain{{Domain: "*"}}}},
			OrganizationRelationships: []tenant.OrgRelationship{{Name: "Partner", DomainNames: []string{"partner.example"}, FreeBusyAccessLevel: "AvailabilityOnly"}},
		},
		Teams: &tenant.TeamsSettings{AllowFederatedUsers: tenant.Ptr(true), AllowedDomains: []string{"partner.example"}, BlockedDomains: []string{},
			AllowTeamsConsumer: tenant.Ptr(false), AllowGuestUser: tenant.Ptr(false)},
		PowerBI: &tenant.PowerBISettings{PublishToWeb: &tenant.PowerBISetting{Name: "PublishToWeb", Enabled: tenant.Ptr(false), SecurityGroups: []string{}}},
	}
	for _, sec := range tenant.AllSections {
		s.Status[sec] = tenant.SectionStatus{State: tenant.StateComplete}
	}
	return s
}

// hostile edits section sec of a copy of s the way an incomplete collection
// can leave it: "missing" drops its objects, "blank" keeps their identity
// with every other field empty.
func hostile(s *tenant.Snapshot, sec tenant.Section, how string) *tenant.Snapshot {
	c := *s
	c.Status = maps.Clone(s.Status)
	blank := how == "blank"
	switch sec {
	case tenant.SectionSharePoint:
		c.SharePoint = nil
		if blank {
			c.SharePoint = &tenant.SharePointSettings{}
		}
	case tenant.SectionSites:
		c.Sites = nil
		if blank {
			c.Sites = []tenant.Site{{ID: "s1"}}
		}
	case tenant.SectionLinks:
		c.Links = nil
		if blank {
			c.Links = []tenant.Link{{DriveID: "d", ItemID: "i", PermissionID: "1"}, {DriveID: "d", ItemID: "i", PermissionID: "2"}}
		}
	case tenant.SectionGuests:
		c.Guests = nil
		if blank {
			c.Guests = []tenant.Guest{{ID: "g1"}}
		}
	case tenant.SectionEntra:
		c.Entra = nil
		if blank {
			c.Entra = &tenant.EntraSettings{}
		}
	case tenant.SectionGroups:
		c.Groups = nil
		if blank {
			c.Groups = &tenant.GroupsSettings{Groups: []tenant.Group{{ID: "gr1"}}}
		}
	case tenant.SectionExchange:
		c.Exchange = nil
		if blank {
			c.Exchange = &tenant.ExchangeSettings{SharingPolicies: []tenant.SharingPolicy{{Name: "Default"}},
				OrganizationRelationships: []tenant.OrgRelationship{{Name: "Partner"}}}
		}
	case tenant.SectionTeams:
		c.Teams = nil
		if blank {
			c.Teams = &tenant.TeamsSettings{}
		}
	case tenant.SectionPowerBI:
		c.PowerBI = nil
		if blank {
			c.PowerBI = &tenant.PowerBISettings{}
		}
	}
	return &c
}

// TestDiffIncompleteIsNeverRemovedOrModified: whatever an incomplete
// collection of a section holds (objects missing, or present with their
// fields empty), on either side, Diff reports no change of that section,
// while the complete sections are still compared.
func TestDiffIncompleteIsNeverRemovedOrModified(t *testing.T) {
	incomplete := map[string]func(map[tenant.Section]tenant.SectionStatus, tenant.Section){
		"partial": func(st map[tenant.Section]tenant.SectionStatus, sec tenant.Section) {
			st[sec] = tenant.SectionStatus{State: tenant.StatePartial, Error: "page 3 timed out"}
		},
		"failed": func(st map[tenant.Section]tenant.SectionStatus, sec tenant.Section) {
			st[sec] = tenant.SectionStatus{State: tenant.StateFailed, Error: "403"}
		},
		"not collected": func(st map[tenant.Section]tenant.SectionStatus, sec tenant.Section) { delete(st, sec) },
		"unrecognised state": func(st map[tenant.Section]tenant.SectionStatus, sec tenant.Section) {
			st[sec] = tenant.SectionStatus{State: "Complete"}
		},
	}
	for _, sec := range tenant.AllSections {
		for state, mark := range incomplete {
			for _, how := range []string{"missing", "blank"} {
				t.Run(string(sec)+"/"+state+"/"+how, func(t *testing.T) {
					full := fullSnapshot()
					bad := hostile(full, sec, how)
					mark(bad.Status, sec)
					// A complete section changes alongside, and must still show.
					bad.Guests = append(slices.Clone(bad.Guests), tenant.Guest{ID: "g9"})
					if sec == tenant.SectionGuests {
						bad.Exchange = &tenant.ExchangeSettings{}
					}
					for _, pair := range [][2]*tenant.Snapshot{{full, bad}, {bad, full}} {
						changes, err := Diff(pair[0], pair[1])
						if err != nil {
							t.Fatal(err)
						}
						if len(changes) == 0 {
							t.Error("the complete section's change is missing")
						}
						for _, c := range changes {
							if c.Section == sec {
								t.Errorf("change of the incomplete section: %s %s %v", c.Kind, c.Key, c.Fields)
							}
						}
					}
				})
			}
		}
	}
}

// TestCrossTenantPartnerDrift: each partner is keyed by its tenant id, so a
// partner added, removed or widened is a change of that partner alone.
func TestCrossTenantPartnerDrift(t *testing.T) {
	prev := fullSnapshot()
	prev.Entra.CrossTenantPartners = []tenant.CrossTenantPartner{{TenantID: "AAAA"}, {TenantID: "bbbb", B2BDirectConnectInbound: tenant.AccessBlocked}}
	cur := fullSnapshot()
	cur.Entra.CrossTenantPartners = []tenant.CrossTenantPartner{{TenantID: "bbbb", B2BDirectConnectInbound: tenant.AccessAllowed}, {TenantID: "cccc"}}
	changes, err := Diff(prev, cur)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Key] = string(c.Kind)
		if c.Key == tenant.KeyCrossTenantPartnerPrefix+"bbbb" && (len(c.Fields) != 1 || c.Fields[0].String() != `b2bDirectConnectInbound: "blocked" -> "allowed"`) {
			t.Errorf("widened partner fields %v", c.Fields)
		}
	}
	want := map[string]string{tenant.KeyCrossTenantPartnerPrefix + "aaaa": "removed", tenant.KeyCrossTenantPartnerPrefix + "bbbb": "modified",
		tenant.KeyCrossTenantPartnerPrefix + "cccc": "added"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
	// An incomplete Entra section never reports a partner removed.
	cur.Status[tenant.SectionEntra] = tenant.SectionStatus{State: tenant.StatePartial}
	if changes, _ := Diff(prev, cur); len(changes) != 0 {
		t.Errorf("changes from a partial section: %+v", changes)
	}
}

// TestRemoteDomainDrift: remote domains are keyed by domain name, so the
// list drifts by domain: one added, one removed, one that starts
// forwarding.
func TestRemoteDomainDrift(t *testing.T) {
	prev := fullSnapshot()
	prev.Exchange.RemoteDomains = []tenant.RemoteDomain{{Name: "Default", DomainName: "*", AutoForwardEnabled: tenant.Ptr(false)}, {Name: "Old", DomainName: "old.example"}}
	cur := fullSnapshot()
	cur.Exchange.RemoteDomains = []tenant.RemoteDomain{{Name: "Default", DomainName: "*", AutoForwardEnabled: tenant.Ptr(true)}, {Name: "Gmail", DomainName: "gmail.com"}}
	changes, err := Diff(prev, cur)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Key] = string(c.Kind)
		if c.Key == "remotedomain:*" && (len(c.Fields) != 1 || c.Fields[0].String() != "autoForwardEnabled: false -> true") {
			t.Errorf("default fields %v", c.Fields)
		}
	}
	want := map[string]string{"remotedomain:*": "modified", "remotedomain:old.example": "removed", "remotedomain:gmail.com": "added"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
}

// TestTeamsAndPowerBIDrift: the Teams and Power BI settings are one object
// each; a widened allow list or a setting turned on is a modification that
// names the field.
func TestTeamsAndPowerBIDrift(t *testing.T) {
	prev := fullSnapshot()
	cur := fullSnapshot()
	cur.Teams.AllowedDomains = []string{}
	cur.Teams.AllowTeamsConsumer = tenant.Ptr(true)
	cur.PowerBI.PublishToWeb.Enabled = tenant.Ptr(true)
	changes, err := Diff(prev, cur)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, c := range changes {
		if c.Kind != "modified" {
			t.Errorf("%s: %s", c.Key, c.Kind)
		}
		for _, f := range c.Fields {
			got[c.Key] = append(got[c.Key], f.String())
		}
	}
	want := map[string][]string{
		"teams:tenant":   {"allowTeamsConsumer: false -> true", "allowedDomains: -partner.example"},
		"powerbi:tenant": {"publishToWeb.enabled: false -> true"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
}
