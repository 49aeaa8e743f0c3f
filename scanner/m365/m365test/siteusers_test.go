package m365test_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// outsiderSpec has 201 sites, so that one (s00199) has guests among its
// users and direct grants to its guest (m365test.LinkMix).
var outsiderSpec = m365test.Spec{Seed: 7, Sites: 201, ItemsPerDrive: 60, SharedPerDrive: 12, LinksPerShared: 2, Guests: 50}

const outsiderSite = "/sites/s00199"

func newOutsiderTenant(t *testing.T) *m365test.Server {
	t.Helper()
	srv, err := m365test.NewGenerated(outsiderSpec, m365test.Options{PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestOutsiderSitesReadByItem: the site with guests among its users is
// read item by item (its groups are not asked for) and its direct grants
// are found, outside the organization; the other sites are read through
// their groups, no permissions read beyond their Anyone items.
func TestOutsiderSitesReadByItem(t *testing.T) {
	srv := newOutsiderTenant(t)
	items := byKey(scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryItems}))
	snap := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true})
	u := srv.Usage()
	got, truth := byKey(snap), truthKeys(srv)
	if len(got) != len(truth) || len(items) != len(truth) {
		t.Fatalf("groups found %d links, items %d, the tenant has %d", len(got), len(items), len(truth))
	}
	grants, anyoneElsewhere, sharedThere := 0, map[string]bool{}, map[string]bool{}
	for k := range truth {
		l, ok := got[k]
		if !ok {
			t.Fatalf("link %s missed", k)
		}
		if l.Direct {
			grants++
			if !strings.HasSuffix(l.SiteURL, outsiderSite) || l.Scope != tenant.LinkScopeUsers || len(l.ExternalRecipients) != 1 ||
				len(l.RecipientDomains) != 1 || l.Type == "" {
				t.Errorf("direct grant %s: %+v", k, l)
			}
		}
		switch {
		case strings.HasSuffix(l.SiteURL, outsiderSite):
			sharedThere[l.ItemID] = true
		case l.Scope == tenant.LinkScopeAnonymous:
			anyoneElsewhere[l.ItemID] = true
		}
	}
	if grants == 0 {
		t.Fatal("the tenant has no direct grant: nothing tested")
	}
	if n := int(u.ByKind["permissions"]); n != len(anyoneElsewhere)+len(sharedThere) {
		t.Errorf("%d permission reads, want %d (Anyone items elsewhere) + %d (every shared item of %s)", n, len(anyoneElsewhere), len(sharedThere), outsiderSite)
	}
	if u.ByKind["site users"] != int64(outsiderSpec.Sites) || u.ByKind["site groups"] != int64(outsiderSpec.Sites-1) {
		t.Errorf("site users calls %d, site group calls %d; want %d and %d", u.ByKind["site users"], u.ByKind["site groups"], outsiderSpec.Sites, outsiderSpec.Sites-1)
	}
	d := snap.Status[tenant.SectionLinks].Discovery
	if d == nil || d.OutsiderSites != 1 || len(d.ItemSites) != 1 || !strings.HasSuffix(d.ItemSites[0].Site, outsiderSite) ||
		!strings.Contains(d.ItemSites[0].Reason, "may be outside the organization") || !strings.Contains(d.ItemSites[0].Reason, "#ext#") ||
		d.GroupSites != outsiderSpec.Sites-1 {
		t.Errorf("discovery status %+v", d)
	}
	// The per-item read and the fallback agree on the grants' recipients.
	for k, w := range items {
		if g := got[k]; w.Direct != g.Direct || strings.Join(w.ExternalRecipients, ",") != strings.Join(g.ExternalRecipients, ",") {
			t.Errorf("%s: items %+v, groups %+v", k, w, g)
		}
	}
}

// TestSiteUsersFailClosed: a site whose users cannot be read, or whose
// answer lacks what is needed, or names a user of no known form, is read
// item by item; no link is lost.
func TestSiteUsersFailClosed(t *testing.T) {
	srv := newGroupTenant(t)
	srv.Faults.Add("GET /sites/s00001/_api/web/siteusers", m365test.Fault{Status: http.StatusForbidden})
	srv.Faults.Add("GET /sites/s00002/_api/web/siteusers", m365test.Fault{Rewrite: func(_ string, b []byte) []byte {
		return []byte(strings.Replace(string(b), `"PrincipalType":1,`, ``, 1))
	}})
	srv.Faults.Add("GET /sites/s00003/_api/web/siteusers", m365test.Fault{Rewrite: func(_ string, b []byte) []byte {
		return []byte(strings.Replace(string(b), `"LoginName":"SHAREPOINT\\system"`, `"LoginName":"x:0?.unknown|form"`, 1))
	}})
	snap := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups})
	got, truth := byKey(snap), truthKeys(srv)
	if len(got) != len(truth) {
		t.Fatalf("found %d links, the tenant has %d", len(got), len(truth))
	}
	d := snap.Status[tenant.SectionLinks].Discovery
	if d == nil || len(d.ItemSites) != 3 || d.OutsiderSites != 1 || d.GroupSites != groupSpec.Sites-3 {
		t.Fatalf("discovery status %+v", d)
	}
	for i, want := range []string{"site users not read: ", "site users not read: ", "1 site users may be outside the organization (x:0?.unknown|form)"} {
		if !strings.HasSuffix(d.ItemSites[i].Site, "/sites/s0000"+string(rune('1'+i))) || !strings.Contains(d.ItemSites[i].Reason, want) {
			t.Errorf("item site %d: %+v, want %q", i, d.ItemSites[i], want)
		}
	}
	if !strings.Contains(d.ItemSites[0].Reason, "403") || !strings.Contains(d.ItemSites[1].Reason, "PrincipalType missing") {
		t.Errorf("item sites %+v", d.ItemSites)
	}
}

// TestSiteUsersStrict: the fake answers site users as SharePoint does and
// refuses what it would refuse or what the fake does not model.
func TestSiteUsersStrict(t *testing.T) {
	srv := newOutsiderTenant(t)
	get := func(method, path, accept string) (int, string) {
		t.Helper()
		h := map[string]string{"Authorization": "Bearer " + srv.Token(m365.AudienceSharePoint, time.Hour)}
		if accept != "" {
			h["Accept"] = accept
		}
		return do(t, srv, method, path, h, "")
	}
	const js = "application/json;odata=nometadata"
	for _, tt := range []struct {
		method, path, accept string
		status               int
		body                 string
	}{
		{"GET", outsiderSite + "/_api/web/siteusers?$select=LoginName,PrincipalType", js, 200, `"LoginName":"i:0#.f|membership|`},
		{"POST", outsiderSite + "/_api/web/siteusers", js, 405, "cannot be used"},
		{"GET", outsiderSite + "/_api/web/siteusers?$select=Bogus", js, 400, "'Bogus' does not exist on type 'SP.User'"},
		{"GET", outsiderSite + "/_api/web/siteusers?$filter=IsShareByEmailGuestUser%20eq%20true", js, 400, "not supported"},
		{"GET", outsiderSite + "/_api/web/siteusers", "", 400, "JSON only"},
		{"GET", "/sites/s99999/_api/web/siteusers", js, 404, "File Not Found"},
	} {
		st, body := get(tt.method, tt.path, tt.accept)
		if st != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s: %d %s, want %d with %q", tt.method, tt.path, st, body, tt.status, tt.body)
		}
	}
	// Only the selected properties are sent; the guest is listed.
	_, body := get("GET", outsiderSite+"/_api/web/siteusers?$select=LoginName,PrincipalType", js)
	var v struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	guests := 0
	for _, u := range v.Value {
		if len(u) != 2 {
			t.Errorf("user %v: want LoginName and PrincipalType only", u)
		}
		if strings.Contains(u["LoginName"].(string), "#ext#") {
			guests++
		}
	}
	if guests == 0 {
		t.Errorf("%s lists no guest: %s", outsiderSite, body)
	}
}

// TestGroundTruthHasGrants: the generator's link keys, which the bench
// compares a scan with, include the direct grants it serves.
func TestGroundTruthHasGrants(t *testing.T) {
	srv := newOutsiderTenant(t)
	grants := 0
	srv.Generated().EachLinkKey(func(k string) {
		if strings.HasPrefix(k, "link:b!gen-00199/") && len(k[strings.LastIndexByte(k, '/')+1:]) != 36 {
			grants++ // a grant's id is base64, a link's a GUID
		}
	})
	if grants == 0 {
		t.Error("no direct grant among the generator's link keys")
	}
}

// TestFixtureSiteUsers: group discovery on the fixture tenants reads every
// site's users from its fixture file; the sites listing someone who may be
// outside are read item by item for that reason (their groups never asked
// for), the others for their groups, which fixtures do not serve. The
// direct grants are found either way.
func TestFixtureSiteUsers(t *testing.T) {
	for name, want := range map[string]map[string]string{
		"fabrikam": {"/sites/Finance": "quickdeals_mailinator.com#ext#", "/sites/Sales": "urn:spo:guest#chris.d@outlook.com"},
		"contoso":  {"/sites/Marketing": "priya.patel_adatum.com#ext#", "/sites/ProjectAtlas": "jordan.lee_northwindtraders.com#ext#"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, err := m365test.New(filepath.Join(repoRoot, "testdata", "tenants", name), m365test.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			snap := scanLinks(t, srv, m365.SourceOptions{Discovery: m365.DiscoveryGroups, PeopleLinkDetail: true})
			u := srv.Usage()
			d := snap.Status[tenant.SectionLinks].Discovery
			if d == nil || d.OutsiderSites != len(want) || u.ByKind["site users"] == 0 {
				t.Fatalf("discovery %+v, %d site users calls", d, u.ByKind["site users"])
			}
			for _, s := range d.ItemSites {
				path := s.Site[strings.Index(s.Site, ".com")+4:]
				if w, ok := want[path]; ok {
					if !strings.Contains(s.Reason, "may be outside the organization") || !strings.Contains(s.Reason, w) {
						t.Errorf("%s: %q, want its outside users (%s)", s.Site, s.Reason, w)
					}
				} else if !strings.HasPrefix(s.Reason, "sharing-link groups not read: ") {
					t.Errorf("%s: %q, want its groups not found", s.Site, s.Reason)
				}
			}
			grants := 0
			for _, l := range allLinks(snap) {
				if l.Direct {
					grants++
				}
			}
			if wantGrants := map[string]int{"fabrikam": 1, "contoso": 2}[name]; grants != wantGrants {
				t.Errorf("%d direct grants, want %d", grants, wantGrants)
			}
		})
	}
}

// TestSiteUsersFixtureRefused: a site users fixture that SharePoint could
// not have sent is refused at load with the file and the property named.
func TestSiteUsersFixtureRefused(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"value":[{"LoginName":"i:0#.f|membership|a@fabrikam.com","PrincipalType":"User"}]}`, "value[0].PrincipalType: expected a number"},
		{`{"value":[{"LoginName":"i:0#.f|membership|a@fabrikam.com"}]}`, "value[0]: PrincipalType missing"},
		{`{"value":[{"LoginName":"i:0#.f|membership|a@fabrikam.com","PrincipalType":1,"IsGuest":true}]}`, `property "IsGuest" is not defined on type SP.User`},
		{`{"d":{"results":[]}}`, "a site users body holds only"},
	} {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "testdata", "tenants", "fabrikam"))); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "sharepoint", "sites", "Finance", "_api", "web", "siteusers.json")
		if err := os.WriteFile(f, []byte(tt.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := m365test.New(dir, m365test.Options{})
		if err == nil || !strings.Contains(err.Error(), "sharepoint/sites/Finance/_api/web/siteusers.json") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want the file named and %q", tt.body, err, tt.want)
		}
	}
}
