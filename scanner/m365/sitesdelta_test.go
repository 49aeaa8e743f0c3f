package m365_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	financeID  = "fabrikam.sharepoint.com,6a0b1c2d-2e2f-4a3b-8c4d-5e6f7a8b9c02,46c7a2e7-16b7-587c-a20b-0a444e7950d8"
	partnersID = "fabrikam.sharepoint.com,6a0b1c2d-7e2f-4a3b-8c4d-5e6f7a8b9c07,5c4f1229-7f9d-5ccd-8fed-e9fd69c34388"
)

func addPartners(srv *m365test.Server) { addSite(srv, partnersID, "Partners") }

func addSite(srv *m365test.Server, id, name string) {
	srv.AddSite(map[string]any{
		"id": id, "name": name, "displayName": name,
		"webUrl": "https://fabrikam.sharepoint.com/sites/" + name, "root": map[string]any{},
		"sharepointIds":  map[string]any{"siteId": strings.Split(id, ",")[1]},
		"siteCollection": map[string]any{"hostname": "fabrikam.sharepoint.com"},
	}, map[string]any{
		"Url": "https://fabrikam.sharepoint.com/sites/" + name, "Title": name, "Template": "STS#3",
		"GroupId": "/Guid(00000000-0000-0000-0000-000000000000)/", "LockState": "Unlock", "SharingCapability": 2,
		"SharingDomainRestrictionMode": 0, "SharingAllowedDomainList": "", "SharingBlockedDomainList": "",
		"SensitivityLabel": "/Guid(00000000-0000-0000-0000-000000000000)/",
	})
}

func siteURLs(s *tenant.Snapshot) []string {
	var out []string
	for _, x := range s.Sites {
		out = append(out, x.URL)
	}
	return out
}

// TestSparseSitesDelta: sites delta items carry only id and name (as
// Microsoft documents them). A site the collector already holds takes its
// URL from there without a read; a new one is read; one that cannot be
// read leaves the section partial, keeps nothing of that delta and loses
// no stored site.
func TestSparseSitesDelta(t *testing.T) {
	for _, sec := range []tenant.Section{tenant.SectionSites, tenant.SectionLinks} {
		t.Run(string(sec), func(t *testing.T) {
			srv, c := fake(t, m365test.Options{})
			st := newMemState()
			o := m365.SourceOptions{State: st}
			first := collectSection(t, c, o, sec)
			if !first.Complete(sec) {
				t.Fatalf("first scan %+v", first.Status[sec])
			}
			st.commit(first)
			base := srv.Calls()
			readsOf := func(id string) int {
				n := 0
				for k, v := range srv.Calls() {
					if strings.HasPrefix(k, "GET /v1.0/sites/fabrikam") && strings.Contains(k, strings.ReplaceAll(id, ",", "%2C")) && !strings.HasSuffix(k, "/drives") {
						n += v - base[k]
					}
				}
				return n
			}

			// A known site changes: its URL comes from what is held.
			srv.RemoveSite(financeID)
			if sec == tenant.SectionSites {
				fin := first.Sites[0]
				for _, s := range first.Sites {
					if strings.HasSuffix(s.URL, "/Finance") {
						fin = s
					}
				}
				srv.AddSite(map[string]any{"id": financeID, "name": "Finance", "displayName": "Finance and Payroll", "webUrl": fin.URL,
					"sharepointIds": map[string]any{"siteId": "6a0b1c2d-2e2f-4a3b-8c4d-5e6f7a8b9c02"}, "siteCollection": map[string]any{"hostname": "fabrikam.sharepoint.com"}},
					map[string]any{"Url": fin.URL, "Title": "Finance", "Template": fin.Template, "LockState": "Unlock", "SharingCapability": 2,
						"SharingDomainRestrictionMode": 0, "SharingAllowedDomainList": "", "SharingBlockedDomainList": "",
						"GroupId": "/Guid(00000000-0000-0000-0000-000000000000)/", "SensitivityLabel": "/Guid(00000000-0000-0000-0000-000000000000)/"})
			}
			// A new site is read by id.
			addPartners(srv)
			second := collectSection(t, c, o, sec)
			if !second.Complete(sec) {
				t.Fatalf("second scan %+v", second.Status[sec])
			}
			if n := readsOf(financeID); n != 0 {
				t.Errorf("known site read %d times", n)
			}
			if n := readsOf(partnersID); n != 1 {
				t.Errorf("new site read %d times, want 1", n)
			}
			if sec == tenant.SectionSites && !strings.Contains(strings.Join(siteURLs(second), " "), "/sites/Partners") {
				t.Errorf("new site missing: %v", siteURLs(second))
			}
			st.commit(second)

			// The read of a new site fails: partial, nothing stored lost.
			const vendorsID = "fabrikam.sharepoint.com,6a0b1c2d-8e2f-4a3b-8c4d-5e6f7a8b9c08,6d5f1229-7f9d-5ccd-8fed-e9fd69c34389"
			srv.Faults.Add("GET /v1.0/sites/"+strings.ReplaceAll(vendorsID, ",", "%2C"), m365test.Fault{Status: http.StatusNotFound})
			addSite(srv, vendorsID, "Vendors")
			tokensBefore := len(st.pending)
			third := collectSection(t, c, o, sec)
			switch sec {
			case tenant.SectionSites:
				if third.Complete(sec) || !strings.Contains(third.Status[sec].Error, "site "+vendorsID+" from sites delta") {
					t.Errorf("unresolved site: status %+v", third.Status[sec])
				}
				if len(third.Sites) < len(second.Sites) {
					t.Errorf("stored sites lost: %v, had %v", siteURLs(third), siteURLs(second))
				}
				if len(st.pending) != tokensBefore {
					t.Errorf("a partial section handed over tokens %v", st.pending)
				}
			case tenant.SectionLinks:
				// The links inventory lists every site again instead.
				if !third.Complete(sec) {
					t.Errorf("links after an unresolved site: %+v", third.Status[sec])
				}
			}
		})
	}
}
