package m365test_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// sitesScan collects the sites section of srv and returns it with the
// requests it took, by endpoint key.
func sitesScan(t *testing.T, srv *m365test.Server, o m365.SourceOptions) ([]tenant.Site, map[string]int) {
	t.Helper()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := m365.SourcesFor(c, o, tenant.SectionSites)
	if err != nil {
		t.Fatal(err)
	}
	before := srv.Calls()
	snap := scanner.Scan(context.Background(), srcs, scanner.Options{Tenant: srv.Meta().Tenant})
	if !snap.Complete(tenant.SectionSites) {
		t.Fatalf("sites: %+v", snap.Status[tenant.SectionSites])
	}
	calls := map[string]int{}
	for k, v := range srv.Calls() {
		if d := v - before[k]; d > 0 {
			calls[k] = d
		}
	}
	if o.State != nil {
		o.State.(*memState).commit(snap)
	}
	return snap.Sites, calls
}

const (
	callListSites = "GET /v1.0/sites/getAllSites"
	callSitesPage = "CSOM GetSitePropertiesFromSharePoint"
	callSiteByURL = "CSOM GetSitePropertiesByUrl"
)

// TestSitesIncremental: with a State, sites follow the sites delta instead
// of listing every site; site properties, which have no change feed, are
// read for every site each scan unless SitePropertiesEvery spaces them,
// and then only the sites the delta reports are read. The result always
// equals a full read, except for property changes made between two
// properties reads, which is the documented trade.
func TestSitesIncremental(t *testing.T) {
	srv, err := m365test.New("../../../testdata/tenants/fabrikam", m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	st := &memState{tokens: map[string]string{}, pending: map[string]string{}}
	every := m365.SourceOptions{State: st, Now: func() time.Time { return now }}
	daily := every
	daily.SitePropertiesEvery = 24 * time.Hour
	full := func() []tenant.Site {
		s, _ := sitesScan(t, srv, m365.SourceOptions{})
		return s
	}

	first, calls := sitesScan(t, srv, every)
	if calls[callListSites] == 0 || calls[callSitesPage] == 0 || st.tokens["sites/delta"] == "" || st.tokens["sites/properties"] == "" {
		t.Fatalf("first scan: calls %v, tokens %v", calls, st.tokens)
	}
	if !reflect.DeepEqual(first, full()) {
		t.Fatal("first scan with a state differs from a stateless one")
	}

	for _, tt := range []struct {
		name   string
		change func()
		o      m365.SourceOptions
		// want: requests by key; a key absent here must not be asked.
		want map[string]int
	}{
		{"unchanged, properties every scan", nil, every,
			map[string]int{"GET /v1.0/sites/delta": 1, callSitesPage: 1}},
		{"unchanged, properties daily", nil, daily,
			map[string]int{"GET /v1.0/sites/delta": 1}},
		{"a site added and one deleted", func() {
			srv.RemoveSite("fabrikam.sharepoint.com,6a0b1c2d-5e2f-4a3b-8c4d-5e6f7a8b9c05,4b3e0118-6f8c-5bbc-9edc-d8fc58b23277")
			srv.AddSite(map[string]any{
				"id": "fabrikam.sharepoint.com,6a0b1c2d-7e2f-4a3b-8c4d-5e6f7a8b9c07,5c4f1229-7f9d-5ccd-8fed-e9fd69c34388", "name": "Partners",
				"webUrl": "https://fabrikam.sharepoint.com/sites/Partners", "displayName": "Partners", "root": map[string]any{},
				"sharepointIds":  map[string]any{"siteId": "6a0b1c2d-7e2f-4a3b-8c4d-5e6f7a8b9c07"},
				"siteCollection": map[string]any{"hostname": "fabrikam.sharepoint.com"},
			}, map[string]any{
				"Url": "https://fabrikam.sharepoint.com/sites/Partners", "Title": "Partners", "Template": "STS#3",
				"GroupId": "/Guid(00000000-0000-0000-0000-000000000000)/", "LockState": "Unlock", "SharingCapability": 2,
				"SharingDomainRestrictionMode": 0, "SharingAllowedDomainList": "", "SharingBlockedDomainList": "",
				"SensitivityLabel": "/Guid(00000000-0000-0000-0000-000000000000)/",
			})
		}, daily, map[string]int{"GET /v1.0/sites/delta": 1, callSiteByURL: 1,
			// The delta names the new site by id and name only (as
			// Microsoft documents), so the site itself is read once.
			"GET /v1.0/sites/fabrikam.sharepoint.com%2C6a0b1c2d-7e2f-4a3b-8c4d-5e6f7a8b9c07%2C5c4f1229-7f9d-5ccd-8fed-e9fd69c34388": 1}},
		{"properties due again", func() { now = now.Add(25 * time.Hour) }, daily,
			map[string]int{"GET /v1.0/sites/delta": 1, callSitesPage: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.change != nil {
				tt.change()
			}
			got, calls := sitesScan(t, srv, tt.o)
			for k, n := range calls {
				if k == "POST /v1.0/$batch" || k == "GET /beta/security/informationProtection/sensitivityLabels" {
					continue
				}
				if tt.want[k] != n {
					t.Errorf("%d requests %q, want %d (all: %v)", n, k, tt.want[k], calls)
				}
			}
			if want := full(); !reflect.DeepEqual(got, want) {
				t.Errorf("incremental sites differ from a full read:\n got  %+v\n want %+v", got, want)
			}
		})
	}

	// A sharing change shows no trace in the sites delta: with daily
	// properties it is seen at the next properties read, not before.
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	const finance = "https://fabrikam.sharepoint.com/sites/Finance"
	if err := c.SetSiteSharing(context.Background(), finance, tenant.SharingAnyone); err != nil {
		t.Fatal(err)
	}
	level := func(sites []tenant.Site) tenant.SharingLevel {
		for _, s := range sites {
			if s.URL == finance {
				return s.SharingCapability
			}
		}
		return ""
	}
	want := level(full())
	if want != tenant.SharingAnyone {
		t.Fatalf("fake did not apply the change: %q", want)
	}
	if got, _ := sitesScan(t, srv, daily); level(got) == want {
		t.Error("daily properties: a sharing change was seen before the properties were due")
	}
	if got, _ := sitesScan(t, srv, every); level(got) != want {
		t.Errorf("properties every scan: site sharing %q, want %q", level(got), want)
	}
}
