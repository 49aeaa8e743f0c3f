package m365test_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

func newFabrikam(t *testing.T) *m365test.Server {
	t.Helper()
	srv, err := m365test.New(fabrikam, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *m365test.Server, method, path string, h map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestStrictness checks that the fake rejects what the services reject.
func TestStrictness(t *testing.T) {
	srv := newFabrikam(t)
	tid := srv.Meta().TenantID
	bearer := map[string]string{"Authorization": "Bearer t"}
	exo := "/adminapi/beta/" + tid + "/InvokeCommand"
	anchor := map[string]string{"Authorization": "Bearer t", "X-AnchorMailbox": "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@" + tid}
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"%d","method":"GET","url":"/users"}`, i)
	}
	tests := []struct {
		name, method, path string
		h                  map[string]string
		body               string
		status             int
		contains           string
	}{
		{"no bearer", "GET", "/v1.0/users", nil, "", 401, `"code":"InvalidAuthenticationToken"`},
		{"no bearer CSOM", "POST", "/_vti_bin/client.svc/ProcessQuery", nil, "<Request/>", 401, "Access token is empty"},
		{"expired JWT", "GET", "/v1.0/users", map[string]string{"Authorization": "Bearer " + srv.Token(m365.AudienceGraph, -time.Minute)}, "", 401, "token is expired"},
		{"wrong audience", "GET", "/v1.0/users", map[string]string{"Authorization": "Bearer " + srv.Token(m365.AudienceExchange, time.Hour)}, "", 401, "Invalid audience"},
		{"unknown resource", "GET", "/v1.0/nothing/here", bearer, "", 404, "Request_ResourceNotFound"},
		{"page size over 999", "GET", "/v1.0/users?$top=5000", bearer, "", 400, "Invalid page size"},
		{"malformed CSOM", "POST", "/_vti_bin/client.svc/ProcessQuery", bearer, "<Request><Actions>", 400, "malformed request XML"},
		{"CSOM wrong namespace", "POST", "/_vti_bin/client.svc/ProcessQuery", bearer, "<Request><Actions><Query/></Actions></Request>", 400, "namespace"},
		{"missing anchor mailbox", "POST", exo, bearer, `{"CmdletInput":{"CmdletName":"Get-SharingPolicy","Parameters":{}}}`, 400, "X-AnchorMailbox"},
		{"unknown cmdlet", "POST", exo, anchor, `{"CmdletInput":{"CmdletName":"Get-Mailbox2","Parameters":{}}}`, 400, "is not recognized as a name of a cmdlet"},
		{"wrong tenant", "POST", "/adminapi/beta/00000000-0000-0000-0000-000000000000/InvokeCommand", anchor, `{}`, 404, "unknown admin API path"},
		{"batch over 20", "POST", "/v1.0/$batch", bearer, `{"requests":[` + strings.Join(many, ",") + `]}`, 400, "between 1 and 20"},
		{"bad delta token", "GET", "/v1.0/drives/x/root/delta?token=bogus", bearer, "", 410, "resyncRequired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, tt.method, tt.path, tt.h, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %s, want %d containing %q", status, body, tt.status, tt.contains)
			}
		})
	}
}

// TestDeltaTokens: an unchanged drive returns nothing for its token; a
// removed permission brings its item back, flagged sharedChanged.
func TestDeltaTokens(t *testing.T) {
	srv := newFabrikam(t)
	var deltas = map[string]string{}
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	snap := scanner.Scan(context.Background(), m365.Sources(c, m365.SourceOptions{OnDeltaLink: func(d, l string) { deltas[d] = l }}), scanner.Options{})
	if len(deltas) == 0 || len(snap.Links) == 0 {
		t.Fatalf("no delta links (%d) or links (%d)", len(deltas), len(snap.Links))
	}
	l := snap.Links[0]
	auth := map[string]string{"Authorization": "Bearer t"}
	link := strings.TrimPrefix(deltas[l.DriveID], srv.URL())
	if status, body := do(t, srv, "GET", link, auth, ""); status != 200 || !strings.Contains(body, `"value":[]`) {
		t.Fatalf("unchanged drive: %d %s", status, body)
	}
	status, body := do(t, srv, "DELETE", "/v1.0/drives/"+l.DriveID+"/items/"+l.ItemID+"/permissions/"+l.PermissionID, auth, "")
	if status != 204 {
		t.Fatalf("delete permission: %d %s", status, body)
	}
	status, body = do(t, srv, "GET", link, auth, "")
	if status != 200 || !strings.Contains(body, `"id":"`+l.ItemID+`"`) || !strings.Contains(body, `"@microsoft.graph.sharedChanged":"True"`) {
		t.Fatalf("changed drive: %d %s", status, body)
	}
}

// TestWritesAreSeenByRescan applies the writes remediation uses and checks
// a second scan sees each of them.
func TestWritesAreSeenByRescan(t *testing.T) {
	srv := newFabrikam(t)
	ctx := context.Background()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	scan := func() *tenant.Snapshot {
		s := scanner.Scan(ctx, m365.Sources(c, m365.SourceOptions{}), scanner.Options{})
		for _, sec := range tenant.AllSections {
			if !s.Complete(sec) {
				t.Fatalf("section %s: %+v", sec, s.Status[sec])
			}
		}
		return s
	}
	before := scan()
	link := before.Links[0]
	guest := before.Guests[0]
	site := before.Sites[len(before.Sites)-1]
	rel := before.Exchange.OrganizationRelationships[0]
	pol := before.Exchange.SharingPolicies[0]

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("patch sharepoint settings", c.GraphWrite(ctx, http.MethodPatch, m365.V1, "/admin/sharepoint/settings",
		map[string]any{"sharingCapability": "existingExternalUserSharingOnly", "isResharingByExternalUsersEnabled": false}, nil))
	must("csom tenant", c.SetSharePointSetting(ctx, "defaultLinkScope", json.RawMessage(`"users"`)))
	_, err = c.ProcessQuery(ctx, m365.SiteSetPropertyXML(site.URL, "SharingCapability", "Enum", "0"))
	must("csom site", err)
	must("delete permission", c.GraphWrite(ctx, http.MethodDelete, m365.V1, "/drives/"+link.DriveID+"/items/"+link.ItemID+"/permissions/"+link.PermissionID, nil, nil))
	must("block guest", c.GraphWrite(ctx, http.MethodPatch, m365.V1, "/users/"+guest.ID, map[string]any{"accountEnabled": false}, nil))
	must("delete guest", c.GraphWrite(ctx, http.MethodDelete, m365.V1, "/users/"+before.Guests[1].ID, nil, nil))
	must("authorization policy", c.GraphWrite(ctx, http.MethodPatch, m365.V1, "/policies/authorizationPolicy",
		map[string]any{"allowInvitesFrom": "adminsAndGuestInviters", "guestUserRoleId": tenant.GuestRoleRestricted}, nil))
	var pols struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	must("list b2b", c.GraphGet(ctx, m365.Beta, "/policies/b2bManagementPolicies", &pols))
	def := `{"B2BManagementPolicy":{"InvitationsAllowedAndBlockedDomainsPolicy":{"BlockedDomains":["mailinator.com"]}}}`
	must("b2b policy", c.GraphWrite(ctx, http.MethodPatch, m365.Beta, "/policies/b2bManagementPolicies/"+pols.Value[0].ID, map[string]any{"definition": []string{def}}, nil))
	var gs struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	must("list group settings", c.GraphGet(ctx, m365.V1, "/groupSettings", &gs))
	must("group settings", c.GraphWrite(ctx, http.MethodPatch, m365.V1, "/groupSettings/"+gs.Value[0].ID, map[string]any{"values": []map[string]string{
		{"name": "AllowToAddGuests", "value": "true"}, {"name": "AllowGuestsToAccessGroups", "value": "true"}, {"name": "AllowGuestsToBeGroupOwner", "value": "false"}}}, nil))
	grp := before.Groups.Groups[0]
	must("group override", c.GraphWrite(ctx, http.MethodPost, m365.V1, "/groups/"+grp.ID+"/settings", map[string]any{
		"templateId": m365.TemplateGroupUnifiedGuest, "values": []map[string]string{{"name": "AllowToAddGuests", "value": "false"}}}, nil))
	_, err = c.InvokeCommand(ctx, "Set-SharingPolicy", map[string]any{"Identity": pol.Name, "Domains": []string{"*:CalendarSharingFreeBusySimple"}}, nil)
	must("Set-SharingPolicy", err)
	_, err = c.InvokeCommand(ctx, "Set-OrganizationRelationship", map[string]any{"Identity": rel.Name, "FreeBusyAccessLevel": "AvailabilityOnly"}, nil)
	must("Set-OrganizationRelationship", err)
	if len(before.Exchange.OrganizationRelationships) > 1 {
		_, err = c.InvokeCommand(ctx, "Remove-OrganizationRelationship", map[string]any{"Identity": before.Exchange.OrganizationRelationships[1].Name, "Confirm": false}, nil)
		must("Remove-OrganizationRelationship", err)
	}
	if _, err := c.InvokeCommand(ctx, "Set-OrganizationRelationship", map[string]any{"Identity": "nobody"}, nil); err == nil || !strings.Contains(err.Error(), "couldn't be found") {
		t.Errorf("unknown identity: %v", err)
	}

	after := scan()
	checks := []struct {
		name string
		ok   bool
	}{
		{"tenant sharing level", after.SharePoint.SharingCapability == tenant.SharingExistingGuests},
		{"resharing", after.SharePoint.ResharingByGuests != nil && !*after.SharePoint.ResharingByGuests},
		{"default link scope", after.SharePoint.DefaultLinkScope == tenant.LinkScopeUsers},
		{"site sharing level", findSite(after, site.ID).SharingCapability == tenant.SharingDisabled},
		{"permission removed", !hasLink(after, link.Key())},
		{"guest blocked", findGuest(after, guest.ID) != nil && *findGuest(after, guest.ID).AccountEnabled == false},
		{"guest deleted", findGuest(after, before.Guests[1].ID) == nil},
		{"invite from", after.Entra.AllowInvitesFrom == tenant.InviteAdminsAndGuestInviters},
		{"guest role", after.Entra.GuestAccess() == tenant.GuestAccessRestricted},
		{"b2b list", after.Entra.Invitations.Mode == tenant.DomainModeBlockList && fmt.Sprint(after.Entra.Invitations.Blocked) == "[mailinator.com]"},
		{"guests as owners", after.Groups.AllowGuestsToBeGroupOwner != nil && !*after.Groups.AllowGuestsToBeGroupOwner},
		{"group override", findGroup(after, grp.ID).AllowToAddGuests != nil && !*findGroup(after, grp.ID).AllowToAddGuests},
		{"sharing policy", len(findPolicy(after, pol.Name).Domains) == 1 && findPolicy(after, pol.Name).Domains[0].Domain == "*"},
		{"free/busy level", findRel(after, rel.Name).FreeBusyAccessLevel == tenant.FreeBusyAvailabilityOnly},
		{"relationship removed", len(before.Exchange.OrganizationRelationships) < 2 || len(after.Exchange.OrganizationRelationships) == len(before.Exchange.OrganizationRelationships)-1},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("re-scan does not show the write: %s", ch.name)
		}
	}
	b, _ := json.Marshal(after.Links)
	if strings.Contains(string(b), link.PermissionID+`"`) {
		t.Errorf("deleted permission %s still listed", link.PermissionID)
	}
}

func findSite(s *tenant.Snapshot, id string) tenant.Site {
	for _, x := range s.Sites {
		if x.ID == id {
			return x
		}
	}
	return tenant.Site{}
}

func hasLink(s *tenant.Snapshot, key string) bool {
	for _, l := range s.Links {
		if l.Key() == key {
			return true
		}
	}
	return false
}

func findGuest(s *tenant.Snapshot, id string) *tenant.Guest {
	for i := range s.Guests {
		if s.Guests[i].ID == id {
			return &s.Guests[i]
		}
	}
	return nil
}

func findGroup(s *tenant.Snapshot, id string) tenant.Group {
	for _, g := range s.Groups.Groups {
		if g.ID == id {
			return g
		}
	}
	return tenant.Group{}
}

func findPolicy(s *tenant.Snapshot, name string) tenant.SharingPolicy {
	for _, p := range s.Exchange.SharingPolicies {
		if p.Name == name {
			return p
		}
	}
	return tenant.SharingPolicy{}
}

func findRel(s *tenant.Snapshot, name string) tenant.OrgRelationship {
	for _, r := range s.Exchange.OrganizationRelationships {
		if r.Name == name {
			return r
		}
	}
	return tenant.OrgRelationship{}
}
