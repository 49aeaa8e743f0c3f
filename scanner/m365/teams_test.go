package m365_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// fixtureCopy copies the fabrikam fixture to a temporary directory and
// applies edit to it.
func fixtureCopy(t *testing.T, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(fabrikam)); err != nil {
		t.Fatal(err)
	}
	edit(dir)
	return dir
}

func fakeAt(t *testing.T, dir string) (*m365test.Server, *m365.Client) {
	t.Helper()
	srv, err := m365test.New(dir, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

const noTeamsNoPowerBI = `{"value":[{"id":"x_6fd2c87f-b296-42f0-b197-1e91e994b900","skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900",
 "skuPartNumber":"EXCHANGESTANDARD","servicePlans":[{"servicePlanId":"9aaf7827-d63c-4b61-89c3-182f06f82e5c","servicePlanName":"EXCHANGE_S_STANDARD"}]}]}`

// TestServiceNotLicensed: a tenant without Teams or Power BI gives those
// sections not_applicable with the reason; a tenant whose subscriptions
// cannot be read, or do hold the service, gives failed; the other sections
// are unaffected either way.
func TestServiceNotLicensed(t *testing.T) {
	unlicensed := func(skus string) string {
		return fixtureCopy(t, func(dir string) {
			for _, d := range []string{"teams", "fabric"} {
				if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "graph", "v1.0", "subscribedSkus.json"), []byte(skus), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("not licensed", func(t *testing.T) {
		_, c := fakeAt(t, unlicensed(noTeamsNoPowerBI))
		snap := collectSection(t, c, m365.SourceOptions{TempDir: t.TempDir()}, tenant.AllSections...)
		for _, sec := range tenant.AllSections {
			if !snap.Complete(sec) {
				t.Errorf("%s: %+v", sec, snap.Status[sec])
			}
		}
		if snap.Teams == nil || !strings.Contains(snap.Teams.NotApplicable, "Teams is not licensed") || snap.Teams.AllowFederatedUsers != nil {
			t.Errorf("teams %+v", snap.Teams)
		}
		if snap.PowerBI == nil || !strings.Contains(snap.PowerBI.NotApplicable, "Power BI is not licensed") || snap.PowerBI.PublishToWeb != nil {
			t.Errorf("powerbi %+v", snap.PowerBI)
		}
	})
	t.Run("licensed but unreachable", func(t *testing.T) {
		// Subscriptions that hold Teams and Power BI: the refusal is an
		// error, never "not applicable".
		_, c := fakeAt(t, unlicensed(`{"value":[{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900","servicePlans":[
			{"servicePlanId":"57ff2da0-773e-42df-b2af-ffb7a2317929","servicePlanName":"TEAMS1"},
			{"servicePlanId":"70d33638-9c74-4d01-bfd3-562de28bd4ba","servicePlanName":"BI_AZURE_P2"}]}]}`))
		snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionTeams, tenant.SectionPowerBI, tenant.SectionExchange)
		for _, sec := range []tenant.Section{tenant.SectionTeams, tenant.SectionPowerBI} {
			if st := snap.Status[sec]; st.State != tenant.StateFailed || !strings.Contains(st.Error, "403") {
				t.Errorf("%s: %+v", sec, st)
			}
		}
		if !snap.Complete(tenant.SectionExchange) {
			t.Errorf("exchange: %+v", snap.Status[tenant.SectionExchange])
		}
	})
	t.Run("subscriptions unreadable", func(t *testing.T) {
		// A subscription that cannot be parsed is doubt, not "unlicensed".
		srv, c := fakeAt(t, unlicensed(noTeamsNoPowerBI))
		srv.Faults.Add("GET /v1.0/subscribedSkus", m365test.Fault{Rewrite: func(_ string, body []byte) []byte {
			return []byte(`{"value":[{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900","servicePlans":{"servicePlanName":"EXCHANGE_S_STANDARD"}}]}`)
		}})
		snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionTeams)
		if st := snap.Status[tenant.SectionTeams]; st.State != tenant.StateFailed || snap.Teams != nil {
			t.Errorf("teams: %+v %+v", st, snap.Teams)
		}
	})
}

// TestTeamsRefusedNamesRole: an app whose token carries no role that may
// read Teams settings gets a failed section naming the roles; a refused
// Fabric read names the tenant setting that lets a service principal in.
// The other sections are complete.
func TestTeamsRefusedNamesRole(t *testing.T) {
	dir := fixtureCopy(t, func(dir string) {
		p := filepath.Join(dir, "tenant.json")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Global Reader becomes a role that reads no Teams settings
		// (Exchange Administrator).
		b = []byte(strings.Replace(string(b), "f2ef992c-3afb-46b9-b7cf-a126ee74c451", "29232cdf-9323-42fd-ade2-1d097af3e4de", 1))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	srv, c := fakeAt(t, dir)
	srv.Faults.Add("GET /v1/admin/tenantsettings", m365test.Fault{Status: http.StatusForbidden})
	snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionTeams, tenant.SectionPowerBI, tenant.SectionEntra)
	st := snap.Status[tenant.SectionTeams]
	if st.State != tenant.StateFailed || !strings.Contains(st.Error, "403") || !strings.Contains(st.Error, "Teams Administrator") {
		t.Errorf("teams: %+v", st)
	}
	st = snap.Status[tenant.SectionPowerBI]
	if st.State != tenant.StateFailed || !strings.Contains(st.Error, "Service principals can access read-only admin APIs") {
		t.Errorf("powerbi: %+v", st)
	}
	if !snap.Complete(tenant.SectionEntra) {
		t.Errorf("entra: %+v", snap.Status[tenant.SectionEntra])
	}
	rep := m365.Doctor(context.Background(), srv.Tokens(srv.Meta().Roles), srv.Endpoints())
	for _, s := range rep.Sections {
		if s.Section == tenant.SectionTeams && (s.Readable || !strings.Contains(strings.Join(s.Missing, " "), "Teams Administrator")) {
			t.Errorf("doctor teams: %+v", s)
		}
	}
}

// TestTeamsFakeIsStrict: the fake refuses what it does not serve on the
// Teams and Fabric endpoints, as it does on Graph's.
func TestTeamsFakeIsStrict(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	tok := srv.Token(m365.AudienceTeams, 3600e9)
	ftok := srv.Token(m365.AudienceFabric, 3600e9)
	for _, c := range []struct {
		path, tok string
		want      int
	}{
		{"/Skype.Policy/configurations/TenantFederationSettings/configuration/Global", tok, http.StatusOK},
		{"/Skype.Policy/configurations/TenantFederationSettings/configuration/Global?$select=Identity", tok, http.StatusBadRequest},
		{"/Skype.Policy/configurations/TeamsMessagingPolicy/configuration/Global", tok, http.StatusNotFound},
		{"/Skype.Policy/configurations/TenantFederationSettings", tok, http.StatusNotFound},
		{"/Skype.Policy/configurations/TenantFederationSettings/configuration/Global", ftok, http.StatusUnauthorized},
		{"/v1/admin/tenantsettings", ftok, http.StatusOK},
		{"/v1/admin/tenantsettings?$top=5", ftok, http.StatusBadRequest},
		{"/v1/admin/tenantsettings?continuationToken=x", ftok, http.StatusBadRequest},
		{"/v1/admin/capacities", ftok, http.StatusNotFound},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+c.path, nil)
		req.Header.Set("Authorization", "Bearer "+c.tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.want)
		}
	}
}
