package m365test_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

var groupSpec = m365test.Spec{Seed: 7, Sites: 5, ItemsPerDrive: 600, SharedPerDrive: 60, LinksPerShared: 2, Guests: 50}

func newGroupTenant(t *testing.T) *m365test.Server {
	t.Helper()
	srv, err := m365test.NewGenerated(groupSpec, m365test.Options{PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// scanLinks collects the links section alone with the given discovery.
func scanLinks(t *testing.T, srv *m365test.Server, o m365.SourceOptions) *tenant.Snapshot {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	o.Now, o.TempDir = srv.Clock().Now, t.TempDir()
	srcs, err := m365.SourcesFor(c, o, tenant.SectionLinks)
	if err != nil {
		t.Fatal(err)
	}
	srv.ResetUsage()
	snap := scanner.Scan(context.Background(), srcs, scanner.Options{Tenant: srv.Meta().Tenant})
	t.Cleanup(func() { snap.Close() })
	if !snap.Complete(tenant.SectionLinks) {
		t.Fatalf("links: %+v", snap.Status[tenant.SectionLinks])
	}
	return snap
}

func byKey(s *tenant.Snapshot) map[string]tenant.Link {
	out := map[string]tenant.Link{}
	for _, l := range allLinks(s) {
		out[l.Key()] = l
	}
	return out
}

// truthKeys are the generator's link keys.
func truthKeys(srv *m365test.Server) map[string]bool {
	out := map[string]bool{}
	srv.Generated().EachLinkKey(func(k string) { out[k] = true })
	return out
}

// TestGroupDiscoveryMatchesItems: links found through the sites' groups
// are the generator's links, orphaned groups left out, with the same scope
// as a per-item read and every Anyone link read in full; permissions are
// read only for items with an Anyone link (or a people link when asked).
func TestGroupDiscoveryMatchesItems(t *testing.T) {
	srv := newGroupTenant(t)
	items := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryItems})
	itemPerms := srv.Usage().ByKind["permissions"]
	groups := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups})
	u := srv.Usage()
	truth := truthKeys(srv)
	want, got := byKey(items), byKey(groups)
	if len(got) != len(truth) || len(want) != len(truth) {
		t.Fatalf("groups found %d links, items %d, the tenant has %d", len(got), len(want), len(truth))
	}
	anyoneItems, peopleItems := map[string]bool{}, map[string]bool{}
	for k, w := range want {
		g, ok := got[k]
		if !ok || !truth[k] {
			t.Fatalf("link %s: found by groups %v, in the tenant %v", k, ok, truth[k])
		}
		if g.Scope != w.Scope || g.ItemPath != w.ItemPath || g.SiteURL != w.SiteURL {
			t.Errorf("link %s: groups %s %s %s, items %s %s %s", k, g.Scope, g.ItemPath, g.SiteURL, w.Scope, w.ItemPath, w.SiteURL)
		}
		if w.Type != "" && g.Type != "" && g.Type != w.Type {
			t.Errorf("link %s: type %s, want %s", k, g.Type, w.Type)
		}
		switch w.Scope {
		case tenant.LinkScopeAnonymous:
			anyoneItems[w.ItemID] = true
			if g.WebURL != w.WebURL || (g.Expires == nil) != (w.Expires == nil) || g.HasPassword == nil {
				t.Errorf("Anyone link %s not read in full: %+v", k, g)
			}
		case tenant.LinkScopeUsers:
			peopleItems[w.ItemID] = true
		}
	}
	if int(u.ByKind["permissions"]) != len(anyoneItems) {
		t.Errorf("groups read %d items' permissions, want the %d with an Anyone link", u.ByKind["permissions"], len(anyoneItems))
	}
	if u.ByKind["permissions"]*3 > itemPerms {
		t.Errorf("groups read %d permissions, items %d: expected well under a third", u.ByKind["permissions"], itemPerms)
	}
	if u.ByKind["site groups"] != int64(groupSpec.Sites) {
		t.Errorf("site group calls %d, want one per site (%d)", u.ByKind["site groups"], groupSpec.Sites)
	}
	d := groups.Status[tenant.SectionLinks].Discovery
	if d == nil || d.Method != "groups" || d.GroupSites != groupSpec.Sites || len(d.ItemSites) != 0 {
		t.Errorf("discovery status %+v", d)
	}
	// The tenant has orphaned groups, and none of them became a link.
	orphans := 0
	for s := 0; s < groupSpec.Sites; s++ {
		for _, title := range srv.Generated().SiteGroupTitles(s) {
			p := strings.Split(title, ".")
			if len(p) != 4 {
				continue
			}
			found := false
			for k := range truth {
				if strings.HasSuffix(k, "/"+p[3]) {
					found = true
					break
				}
			}
			if !found {
				orphans++
			}
		}
	}
	if orphans == 0 {
		t.Fatal("the generated tenant has no orphaned groups")
	}

	// Rules judging people links' recipients get them from the groups'
	// members: the same recipients as the permissions name, and no
	// permission read beyond the Anyone items.
	people := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true})
	if n := srv.Usage().ByKind["permissions"]; int(n) != len(anyoneItems) || len(peopleItems) == 0 {
		t.Errorf("with people detail: %d permission reads, want %d (%d people items)", n, len(anyoneItems), len(peopleItems))
	}
	if n := srv.Usage().ByKind["site groups"]; n != int64(groupSpec.Sites) {
		t.Errorf("with people detail: %d site group calls, want %d", n, groupSpec.Sites)
	}
	samePeople(t, want, byKey(people))
}

// samePeople checks that every people link of want has the same
// recipients in got, and that recipients were found at all. (Recipients
// outside the organization are on sites with guests among their users,
// which are read item by item: TestOutsiderSitesReadByItem.)
func samePeople(t *testing.T, want, got map[string]tenant.Link) {
	t.Helper()
	n := 0
	for k, w := range want {
		if w.Scope != tenant.LinkScopeUsers {
			continue
		}
		g, ok := got[k]
		if !ok {
			t.Errorf("people link %s missing", k)
			continue
		}
		n++
		if len(w.GrantedTo) == 0 {
			t.Fatalf("people link %s: the per-item read names no recipient", k)
		}
		if !slices.Equal(g.GrantedTo, w.GrantedTo) || !slices.Equal(g.RecipientDomains, w.RecipientDomains) ||
			!slices.Equal(g.ExternalRecipients, w.ExternalRecipients) {
			t.Errorf("people link %s: recipients %v %v %v, per item %v %v %v", k,
				g.GrantedTo, g.RecipientDomains, g.ExternalRecipients, w.GrantedTo, w.RecipientDomains, w.ExternalRecipients)
		}
	}
	if n == 0 {
		t.Fatalf("%d people links: nothing compared", n)
	}
}

// TestGroupMembersFallback: a site whose sharing-link groups' members are
// truncated or not listed is read item by item and named in the status;
// an empty people group has its item's permissions read. Recipients are
// the per-item ones either way.
func TestGroupMembersFallback(t *testing.T) {
	srv := newGroupTenant(t)
	want := byKey(scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryItems}))
	srv.Faults.Add("GET /sites/s00001/_api/web/sitegroups", m365test.Fault{Rewrite: func(_ string, b []byte) []byte {
		i := strings.Index(string(b), `.Flexible.`)
		return []byte(string(b)[:i] + strings.Replace(string(b)[i:], `"Users":[`, `"Users@odata.nextLink":"https://x/next","Users":[`, 1))
	}})
	emptied := false
	srv.Faults.Add("GET /sites/s00002/_api/web/sitegroups", m365test.Fault{Rewrite: func(_ string, b []byte) []byte {
		emptied = true
		i := strings.Index(string(b), `.Flexible.`)
		j := strings.Index(string(b)[i:], `"Users":[`)
		k := strings.Index(string(b)[i+j:], `]`)
		return []byte(string(b)[:i+j] + `"Users":[]` + string(b)[i+j+k+1:])
	}})
	snap := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true})
	if !emptied {
		t.Fatal("the fault emptying a people group's members did not apply")
	}
	got := byKey(snap)
	if len(got) != len(want) {
		t.Fatalf("found %d links, items %d", len(got), len(want))
	}
	samePeople(t, want, got)
	d := snap.Status[tenant.SectionLinks].Discovery
	if d == nil || len(d.ItemSites) != 1 || !strings.Contains(d.ItemSites[0].Site, "s00001") || !strings.Contains(d.ItemSites[0].Reason, "truncated") {
		t.Errorf("discovery status %+v, want s00001 read item by item for its truncated members", d)
	}
}

// TestGroupDiscoveryFallback: a site whose groups cannot be read, or whose
// groups include a title that does not parse, is read item by item and
// named in the status; an unknown kind makes its item's permissions read.
// No link is lost either way.
func TestGroupDiscoveryFallback(t *testing.T) {
	srv := newGroupTenant(t)
	srv.Faults.Add("GET /sites/s00001/_api/web/sitegroups", m365test.Fault{Status: http.StatusForbidden})
	srv.Faults.Add("GET /sites/s00002/_api/web/sitegroups", m365test.Fault{Rewrite: func(_ string, b []byte) []byte {
		return []byte(strings.Replace(string(b), `"Title":"SharingLinks.`, `"Title":"SharingLinks.not-a-guid.`, 1))
	}})
	srv.Faults.Add("GET /sites/s00003/_api/web/sitegroups", m365test.Fault{Rewrite: func(_ string, b []byte) []byte {
		return []byte(strings.ReplaceAll(string(b), ".OrganizationView.", ".FutureKind."))
	}})
	snap := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups})
	got, truth := byKey(snap), truthKeys(srv)
	if len(got) != len(truth) {
		t.Fatalf("found %d links, the tenant has %d", len(got), len(truth))
	}
	for k := range truth {
		if _, ok := got[k]; !ok {
			t.Fatalf("link %s missed", k)
		}
	}
	d := snap.Status[tenant.SectionLinks].Discovery
	if d == nil || d.GroupSites != groupSpec.Sites-2 || len(d.ItemSites) != 2 {
		t.Fatalf("discovery status %+v", d)
	}
	if !strings.HasSuffix(d.ItemSites[0].Site, "/sites/s00001") || !strings.Contains(d.ItemSites[0].Reason, "403") ||
		!strings.HasSuffix(d.ItemSites[1].Site, "/sites/s00002") || !strings.Contains(d.ItemSites[1].Reason, "SharingLinks.not-a-guid.") {
		t.Errorf("item sites %+v", d.ItemSites)
	}
	// Items of site 3 whose groups name the unknown kind were read: their
	// links carry what only permissions tell.
	read := 0
	for _, l := range got {
		if strings.HasSuffix(l.SiteURL, "/sites/s00003") && l.Scope == tenant.LinkScopeOrganization && l.WebURL != "" {
			read++
		}
	}
	if read == 0 {
		t.Error("no organization link of site 3 was read from its permissions")
	}
}

// TestSiteGroupsStrict: the fake's site groups answer refuses what
// SharePoint refuses and pages with odata.nextLink.
func TestSiteGroupsStrict(t *testing.T) {
	srv := newGroupTenant(t)
	tok := map[string]string{"Authorization": "Bearer " + srv.Token(m365.AudienceSharePoint, time.Hour), "Accept": "application/json;odata=nometadata"}
	noAccept := map[string]string{"Authorization": tok["Authorization"]}
	for _, tt := range []struct {
		name, method, path string
		h                  map[string]string
		status             int
		contains           string
	}{
		{"ok", "GET", "/sites/s00001/_api/web/sitegroups?$select=Id,Title", tok, 200, `"Title":"s00001 Owners"`},
		{"unknown property", "GET", "/sites/s00001/_api/web/sitegroups?$select=Id,Kind", tok, 400, "The property 'Kind' does not exist on type 'SP.Group'"},
		{"unknown option", "GET", "/sites/s00001/_api/web/sitegroups?$orderby=Title", tok, 400, "$orderby"},
		{"not JSON", "GET", "/sites/s00001/_api/web/sitegroups", noAccept, 400, "Accept"},
		{"write", "POST", "/sites/s00001/_api/web/sitegroups", tok, 405, "cannot be used"},
		{"unknown site", "GET", "/sites/s99999/_api/web/sitegroups", tok, 404, "File Not Found"},
		{"no token", "GET", "/sites/s00001/_api/web/sitegroups", map[string]string{"Accept": tok["Accept"]}, 401, ""},
		{"members", "GET", "/sites/s00001/_api/web/sitegroups?$select=Id,Title,Users/LoginName,Users/Email,Users/Title&$expand=Users", tok, 200,
			`"Users":[{"Email":"owner-s00001@`},
		{"members not expanded", "GET", "/sites/s00001/_api/web/sitegroups?$select=Id,Title,Users/LoginName", tok, 400, "$expand"},
		{"unknown member property", "GET", "/sites/s00001/_api/web/sitegroups?$select=Id,Users/Mail&$expand=Users", tok, 400, "The property 'Mail' does not exist on type 'SP.User'"},
		{"unknown expansion", "GET", "/sites/s00001/_api/web/sitegroups?$expand=Owner", tok, 400, "'Owner' does not exist"},
		{"expanded, not selected", "GET", "/sites/s00001/_api/web/sitegroups?$select=Id,Title&$expand=Users", tok, 200, `"Title":"s00001 Owners"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, tt.method, tt.path, tt.h, "")
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("got %d %.300s, want %d containing %q", status, body, tt.status, tt.contains)
			}
		})
	}
	// Paged at the page size: every group is on one page or another.
	small, err := m365test.NewGenerated(groupSpec, m365test.Options{PageSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	titles := 0
	next := "/sites/s00001/_api/web/sitegroups?$select=Id,Title"
	for pages := 0; next != ""; pages++ {
		status, body := do(t, small, "GET", next, tok, "")
		var page struct {
			Value []struct{ Title string }
			Next  string `json:"odata.nextLink"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &page) != nil || pages > 20 {
			t.Fatalf("page %d: %d %.200s", pages, status, body)
		}
		titles += len(page.Value)
		next = strings.TrimPrefix(page.Next, small.URL())
	}
	if want := len(small.Generated().SiteGroupTitles(1)); titles != want || want <= 40 {
		t.Errorf("paged %d groups, the site has %d", titles, want)
	}
	fix := newFabrikam(t)
	if status, body := do(t, fix, "GET", "/sites/x/_api/web/sitegroups", map[string]string{"Authorization": "Bearer " + fix.Token(m365.AudienceSharePoint, time.Hour), "Accept": "application/json"}, ""); status != 404 {
		t.Errorf("fixture tenant: %d %s", status, body)
	}
}

// TestGroupDiscoveryTokenRefused: once SharePoint refuses the app's token
// (401), the other sites are read item by item without asking again.
func TestGroupDiscoveryTokenRefused(t *testing.T) {
	srv := newGroupTenant(t)
	const pattern = "GET /sites/*/_api/web/sitegroups"
	srv.Faults.Add(pattern, m365test.Fault{Status: http.StatusUnauthorized})
	snap := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups, Concurrency: 1})
	if got, want := len(byKey(snap)), len(truthKeys(srv)); got != want {
		t.Fatalf("found %d links, the tenant has %d", got, want)
	}
	d := snap.Status[tenant.SectionLinks].Discovery
	if d == nil || d.GroupSites != 0 || len(d.ItemSites) != groupSpec.Sites {
		t.Fatalf("discovery status %+v", d)
	}
	if n := srv.Faults.Fired(pattern); n == 0 || n > 2 {
		t.Errorf("site groups asked %d times after the token was refused", n)
	}
}
