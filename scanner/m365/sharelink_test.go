package m365_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

const (
	finDrive, finItem, finPerm = "b!Qx1-fin", "01FIN8PAYROLL2026", "5f0c2b7e-3a9d-4c1e-8b6f-0d2e4a6c8e15"
	finShareLink               = "/sites/Finance/_api/web/lists(guid'5c1f3e2a-8b4d-4e6f-9a1b-2c3d4e5f6a71')/items(14)/ShareLink"
)

// TestSetLinkExpiry sets, reads back and removes the expiry of fabrikam's
// Anyone link that never expires, without touching its id or kind.
func TestSetLinkExpiry(t *testing.T) {
	srv, c := fake(t, m365test.Options{})
	ctx := context.Background()
	want := srv.Meta().Now.Add(7 * 24 * time.Hour).UTC()
	if err := c.SetLinkExpiry(ctx, finDrive, finItem, finPerm, &want); err != nil {
		t.Fatal(err)
	}
	l, err := c.ReadLink(ctx, finDrive, finItem, finPerm)
	if err != nil || l == nil || l.Expires == nil || !l.Expires.Equal(want) || l.Scope != tenant.LinkScopeAnonymous || l.Type != tenant.LinkTypeEdit {
		t.Fatalf("link after the change: %+v %v", l, err)
	}
	if err := c.SetLinkExpiry(ctx, finDrive, finItem, finPerm, nil); err != nil {
		t.Fatal(err)
	}
	if l, err = c.ReadLink(ctx, finDrive, finItem, finPerm); err != nil || l.Expires != nil {
		t.Fatalf("link after removing the expiry: %+v %v", l, err)
	}
	if n := srv.Calls()["POST "+finShareLink]; n != 2 {
		t.Errorf("%d ShareLink calls, want 2: %v", n, srv.Calls())
	}
}

// TestLinkExpiryAPIRefuses names why a link cannot get an expiry through
// SharePoint's API.
func TestLinkExpiryAPIRefuses(t *testing.T) {
	for _, tc := range []struct {
		l    tenant.Link
		want string
	}{
		{tenant.Link{Scope: tenant.LinkScopeAnonymous, Type: tenant.LinkTypeView, PermissionID: "YW5vbnltb3Vz"}, "not a SharePoint sharing link id"},
		{tenant.Link{Scope: tenant.LinkScopeUsers, Type: tenant.LinkTypeView, PermissionID: finPerm}, "not anonymous"},
		{tenant.Link{Scope: tenant.LinkScopeAnonymous, Type: "blocksDownload", PermissionID: finPerm}, "no SharePoint link kind"},
	} {
		if _, why := m365.LinkExpiryAPI(&tc.l); !strings.Contains(why, tc.want) {
			t.Errorf("%+v: %q, want %q", tc.l, why, tc.want)
		}
	}
	if api, why := m365.LinkExpiryAPI(&tenant.Link{Scope: tenant.LinkScopeAnonymous, Type: tenant.LinkTypeView, PermissionID: finPerm}); why != "" || !strings.Contains(api, "ShareLink") {
		t.Errorf("addressable link: %q %q", api, why)
	}
}

// TestShareLinkStrict: the fake answers what SharePoint would to requests
// it does not accept, and changes nothing.
func TestShareLinkStrict(t *testing.T) {
	srv, c := fake(t, m365test.Options{})
	future := `"` + srv.Meta().Now.Add(24*time.Hour).UTC().Format(time.RFC3339) + `"`
	for _, tc := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"unknown property", finShareLink, `{"request":{"createLink":true,"settings":{"shareId":"` + finPerm + `","linkKind":5,"expiration":` + future + `,"expiry":1}}}`, 400, "'expiry' does not exist on type 'SP.Sharing.ShareLinkSettings'"},
		{"wrong link kind", finShareLink, `{"request":{"createLink":true,"settings":{"shareId":"` + finPerm + `","linkKind":4,"expiration":` + future + `}}}`, 400, "does not match"},
		{"no such link", finShareLink, `{"request":{"createLink":true,"settings":{"shareId":"00000000-0000-4000-8000-000000000000","linkKind":5,"expiration":` + future + `}}}`, 404, "does not exist"},
		{"expiry in the past", finShareLink, `{"request":{"createLink":true,"settings":{"shareId":"` + finPerm + `","linkKind":5,"expiration":"2020-01-01T00:00:00Z"}}}`, 400, "in the future"},
		{"not a date", finShareLink, `{"request":{"createLink":true,"settings":{"shareId":"` + finPerm + `","linkKind":5,"expiration":"next week"}}}`, 400, "ISO 8601"},
		{"list on another site", strings.Replace(finShareLink, "/sites/Finance", "/sites/Sales", 1), `{"request":{"createLink":true,"settings":{"shareId":"` + finPerm + `","linkKind":5,"expiration":` + future + `}}}`, 404, "does not exist at site"},
		{"no request", finShareLink, `{"settings":{}}`, 400, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL()+tc.path, bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer fake-token")
			req.Header.Set("Content-Type", "application/json;odata=nometadata")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.want) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, b.String(), tc.status, tc.want)
			}
		})
	}
	l, err := c.ReadLink(context.Background(), finDrive, finItem, finPerm)
	if err != nil || l.Expires != nil {
		t.Errorf("refused requests changed the link: %+v %v", l, err)
	}
}

// TestSiteBaseRefusesForeignHosts: a site URL outside the tenant's
// SharePoint hosts never receives the tenant's token.
func TestSiteBaseRefusesForeignHosts(t *testing.T) {
	srv, err := m365test.New(fabrikam, m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var posts int
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	// Graph names a site on another host for the item.
	srv.Faults.Add("GET /v1.0/drives/*Qx1-fin/items/01FIN8PAYROLL2026", m365test.Fault{Rewrite: func(_ string, body []byte) []byte {
		return bytes.ReplaceAll(body, []byte("https://fabrikam.sharepoint.com/sites/Finance"), []byte("https://evil.example.com/sites/Finance"))
	}})
	when := srv.Meta().Now.Add(24 * time.Hour)
	err = c.SetLinkExpiry(context.Background(), finDrive, finItem, finPerm, &when)
	if err == nil || !strings.Contains(err.Error(), "not on this tenant's SharePoint hosts") {
		t.Fatalf("foreign site: %v", err)
	}
	for k, n := range srv.Calls() {
		if strings.Contains(k, "ShareLink") {
			posts += n
		}
	}
	if posts != 0 {
		t.Errorf("%d ShareLink requests sent", posts)
	}
}
