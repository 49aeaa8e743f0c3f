package m365_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestCloudEndpoints: every cloud's hosts, DoD included.
func TestCloudEndpoints(t *testing.T) {
	tests := []struct {
		cloud, login, graph, admin, exchange string
	}{
		{"global", "https://login.microsoftonline.com/", "https://graph.microsoft.com", "https://contoso-admin.sharepoint.com", "https://outlook.office365.com"},
		{"usgov", "https://login.microsoftonline.us/", "https://graph.microsoft.us", "https://contoso-admin.sharepoint.us", "https://outlook.office365.us"},
		{"usgovhigh", "https://login.microsoftonline.us/", "https://graph.microsoft.us", "https://contoso-admin.sharepoint.us", "https://outlook.office365.us"},
		{"dod", "https://login.microsoftonline.us/", "https://dod-graph.microsoft.us", "https://contoso-admin.sharepoint-mil.us", "https://outlook-dod.office365.us"},
		{"china", "https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn", "https://contoso-admin.sharepoint.cn", "https://partner.outlook.cn"},
	}
	for _, tt := range tests {
		c, err := m365.LookupCloud(tt.cloud)
		if err != nil {
			t.Fatal(err)
		}
		ep := c.Endpoints("contoso")
		if c.Authority != tt.login || ep.Graph != tt.graph || ep.SharePointAdmin != tt.admin || ep.Exchange != tt.exchange ||
			ep.Scope(m365.AudienceSharePoint) != tt.admin+"/.default" {
			t.Errorf("%s: %+v %+v", tt.cloud, c, ep)
		}
		if got, want := ep.Supported("GET /beta/policies/b2bManagementPolicies"), tt.cloud == "global"; got != want {
			t.Errorf("%s: b2bManagementPolicies supported %v", tt.cloud, got)
		}
	}
}

// TestEntraOutsideGlobalCloud: in clouds without the beta B2B management
// policy it is never asked for, the invitation list is recorded as not
// supported there, and the rest of the section is complete; writes to it
// are refused naming the cloud.
func TestEntraOutsideGlobalCloud(t *testing.T) {
	for _, cloud := range []string{"global", "usgov", "dod", "china"} {
		t.Run(cloud, func(t *testing.T) {
			srv, _ := fake(t, m365test.Options{})
			o := srv.ClientOptions()
			o.Endpoints.Cloud = cloud
			c, err := m365.New(o)
			if err != nil {
				t.Fatal(err)
			}
			snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionEntra)
			if !snap.Complete(tenant.SectionEntra) {
				t.Fatalf("status %+v", snap.Status[tenant.SectionEntra])
			}
			asked := srv.Calls()["GET /beta/policies/b2bManagementPolicies"]
			e := snap.Entra
			if cloud == "global" {
				if asked == 0 || e.Invitations == nil || len(e.NotInCloud) != 0 {
					t.Errorf("global: asked %d, invitations %v, notInCloud %v", asked, e.Invitations, e.NotInCloud)
				}
				return
			}
			if asked != 0 || e.Invitations != nil || !slices.Equal(e.NotInCloud, []string{"invitations"}) {
				t.Errorf("asked %d, invitations %v, notInCloud %v", asked, e.Invitations, e.NotInCloud)
			}
			if e.AllowInvitesFrom == "" || e.CrossTenantDefault == nil {
				t.Errorf("the rest of the section was not read: %+v", e)
			}
			err = c.SetInvitationDomains(context.Background(), &tenant.DomainList{Mode: tenant.DomainMode("blockList"), Blocked: []string{"x.example"}})
			if !errors.Is(err, m365.ErrNotInCloud) {
				t.Errorf("write: %v", err)
			}
		})
	}
}

// TestRefusedReadNamesPermission: when a refused (403) read of the
// cross-tenant partners makes the Entra section incomplete, its status
// names the permission to grant, the partners stay "not collected" (never
// "none"), and the other sections are complete.
func TestRefusedReadNamesPermission(t *testing.T) {
	srv, c := fake(t, m365test.Options{})
	srv.Faults.Add("GET /v1.0/policies/crossTenantAccessPolicy/partners", m365test.Fault{Status: http.StatusForbidden})
	snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionEntra, tenant.SectionGroups, tenant.SectionSharePoint)
	st := snap.Status[tenant.SectionEntra]
	if st.State != tenant.StatePartial || !strings.Contains(st.Error, "403") || !strings.Contains(st.Error, "Policy.Read.All") {
		t.Errorf("entra status %+v", st)
	}
	t.Logf("entra: %s: %s", st.State, st.Error)
	if snap.Entra == nil || snap.Entra.CrossTenantPartners != nil || snap.Entra.CrossTenantDefault == nil {
		t.Errorf("entra %+v", snap.Entra)
	}
	for _, sec := range []tenant.Section{tenant.SectionGroups, tenant.SectionSharePoint} {
		if !snap.Complete(sec) {
			t.Errorf("%s: %+v", sec, snap.Status[sec])
		}
	}
}

// TestRemoteDomainsRefused: Get-RemoteDomain refused leaves the Exchange
// section partial with the sharing policies read, remote domains not
// collected (never "none") and the status naming what to grant.
func TestRemoteDomainsRefused(t *testing.T) {
	srv, c := fake(t, m365test.Options{})
	srv.Faults.Add("EXO Get-RemoteDomain", m365test.Fault{Status: http.StatusForbidden})
	snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionExchange, tenant.SectionEntra)
	st := snap.Status[tenant.SectionExchange]
	if st.State != tenant.StatePartial || !strings.Contains(st.Error, "403") || !strings.Contains(st.Error, "Exchange.ManageAsApp") {
		t.Errorf("exchange status %+v", st)
	}
	t.Logf("exchange: %s: %s", st.State, st.Error)
	if snap.Exchange == nil || snap.Exchange.RemoteDomains != nil || len(snap.Exchange.SharingPolicies) == 0 {
		t.Errorf("exchange %+v", snap.Exchange)
	}
	if !snap.Complete(tenant.SectionEntra) {
		t.Errorf("entra: %+v", snap.Status[tenant.SectionEntra])
	}
}
