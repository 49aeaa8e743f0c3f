package m365test_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// TestGraphRefusals: requests Graph refuses are refused by the fake with
// Graph's status, error code and message.
func TestGraphRefusals(t *testing.T) {
	srv := newFabrikam(t)
	bearer := map[string]string{"Authorization": "Bearer t"}
	eventual := map[string]string{"Authorization": "Bearer t", "ConsistencyLevel": "eventual"}
	tests := []struct {
		name    string
		path    string
		h       map[string]string
		status  int
		code    string
		message string
	}{
		{"label displayName", "/beta/security/informationProtection/sensitivityLabels?$select=id,name,displayName", bearer, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'displayName' on type 'microsoft.graph.security.sensitivityLabel'."},
		{"unknown permission property", "/v1.0/drives/b!Qx1-fin/items/01FIN8PAYROLL2026/permissions?$select=id,linkk", bearer, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'linkk' on type 'microsoft.graph.permission'."},
		{"unknown site property", "/v1.0/sites/getAllSites?$select=id,sharingCapability", bearer, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'sharingCapability' on type 'microsoft.graph.site'."},
		{"unknown settings property", "/v1.0/admin/sharepoint/settings?$select=sharingCapability,oneDriveSharingCapability", bearer, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'oneDriveSharingCapability' on type 'microsoft.graph.sharepointSettings'."},
		{"unknown user property", "/v1.0/users?$select=id,lastSignIn", bearer, 400, "Request_UnsupportedQuery",
			"Property 'lastSignIn' does not exist as a declared property or extension property."},
		{"directoryObject property no directory type has", "/v1.0/users/8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61/memberOf?$select=id,mail", bearer, 400, "Request_UnsupportedQuery",
			"Property 'mail' does not exist as a declared property or extension property."},
		{"unknown expand", "/v1.0/users?$expand=inviter", bearer, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'inviter' on type 'microsoft.graph.user'."},
		{"expand of a plain property", "/v1.0/users?$expand=mail", bearer, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'mail' on type 'microsoft.graph.user'."},
		{"unknown name inside expand", "/v1.0/users?$expand=sponsors($select=id,mail)", bearer, 400, "Request_UnsupportedQuery",
			"Property 'mail' does not exist as a declared property or extension property."},
		{"unknown filter property", "/v1.0/groups?$filter=groupType+eq+'Unified'", bearer, 400, "Request_UnsupportedQuery",
			"Property 'groupType' does not exist as a declared property or extension property."},
		{"unknown filter path step", "/v1.0/users?$filter=signInActivity/lastSignIn+ge+2026-01-01T00:00:00Z", bearer, 400, "BadRequest",
			"Invalid filter clause: Could not find a property named 'lastSignIn' on type 'microsoft.graph.signInActivity'."},
		{"unknown orderby property", "/v1.0/sites/getAllSites?$orderby=title", bearer, 400, "BadRequest",
			"Invalid orderby clause: Could not find a property named 'title' on type 'microsoft.graph.site'."},
		{"top over 999", "/v1.0/users?$top=1000", bearer, 400, "Request_BadRequest",
			"Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"top over 120 with signInActivity", "/v1.0/users?$select=id,signInActivity&$top=999", bearer, 400, "Request_BadRequest",
			"Invalid page size specified: '999'. Must be between 1 and 120 inclusive."},
		{"top over 120 filtering on signInActivity", "/v1.0/users?$filter=signInActivity/lastSignInDateTime+ge+2026-01-01T00:00:00Z&$top=121", bearer, 400, "Request_BadRequest",
			"Invalid page size specified: '121'. Must be between 1 and 120 inclusive."},
		{"unknown query option", "/v1.0/users?$selekt=id", bearer, 400, "BadRequest", "The query parameter '$selekt' is not supported."},
		{"option given twice", "/v1.0/users?$select=id&$select=mail", bearer, 400, "BadRequest",
			"Query option '$select' was specified more than once, but it must be specified at most once."},
		{"count without ConsistencyLevel", "/v1.0/users?$count=true&$filter=userType+eq+'Guest'", bearer, 400, "Request_UnsupportedQuery", "Unsupported Query."},
		{"endsWith without ConsistencyLevel", "/v1.0/users?$filter=endsWith(mail,'@partner.com')", bearer, 400, "Request_UnsupportedQuery", "Unsupported Query."},
		{"ne without ConsistencyLevel", "/v1.0/users?$filter=userType+ne+'Member'", bearer, 400, "Request_UnsupportedQuery", "Unsupported Query."},
		{"search without ConsistencyLevel", "/v1.0/groups?$search=%22displayName:Sales%22", bearer, 400, "Request_UnsupportedQuery", "Unsupported Query."},
		{"unknown segment", "/v1.0/admin/sharepoint/setting", bearer, 400, "BadRequest", "Resource not found for the segment 'setting'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, "GET", tt.path, tt.h, "")
			var e struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal([]byte(body), &e)
			if status != tt.status || e.Error.Code != tt.code || e.Error.Message != tt.message {
				t.Errorf("got %d %s %q, want %d %s %q", status, e.Error.Code, e.Error.Message, tt.status, tt.code, tt.message)
			}
		})
	}
	writes := []struct{ name, method, path, body, message string }{
		{"patch of a property the type lacks", "PATCH", "/v1.0/admin/sharepoint/settings", `{"oneDriveSharingCapability":"disabled"}`,
			"The property 'oneDriveSharingCapability' does not exist on type 'microsoft.graph.sharepointSettings'. Make sure to only use property names that are defined by the type or mark the type as open type."},
		{"patch with a value outside the enum", "PATCH", "/v1.0/policies/authorizationPolicy", `{"allowInvitesFrom":"nobody"}`,
			`Invalid request body: allowInvitesFrom: "nobody" is not a member of microsoft.graph.allowInvitesFrom`},
		{"post of a setting with a misspelt property", "POST", "/v1.0/groupSettings", `{"templateID":"08d542b9-071f-4e16-94b0-74abb372e3d9","values":[]}`,
			"The property 'templateID' does not exist on type 'microsoft.graph.groupSetting'. Make sure to only use property names that are defined by the type or mark the type as open type."},
	}
	for _, tt := range writes {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, tt.method, tt.path, map[string]string{"Authorization": "Bearer t", "Content-Type": "application/json"}, tt.body)
			var e struct {
				Error struct{ Code, Message string }
			}
			_ = json.Unmarshal([]byte(body), &e)
			if status != 400 || e.Error.Code != "BadRequest" || !strings.HasPrefix(e.Error.Message, tt.message) {
				t.Errorf("got %d %s %q, want 400 BadRequest %q", status, e.Error.Code, e.Error.Message, tt.message)
			}
		})
	}
	// The same requests written as Graph takes them pass.
	for _, p := range []string{
		"/beta/security/informationProtection/sensitivityLabels?$select=id,name",
		"/v1.0/users?$select=ID,SignInActivity&$top=120",
		"/v1.0/users/8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61/memberOf?$select=id,displayName",
		"/v1.0/users?$expand=sponsors($select=id,displayName)&$select=id",
		"/v1.0/users?$filter=endsWith(mail,'@partner.com')&$count=true",
		"/v1.0/users?$select=id,extension_0a1b2c3d4e5f_costCentre",
	} {
		h := bearer
		if strings.Contains(p, "$count") {
			h = eventual
		}
		if status, body := do(t, srv, "GET", p, h, ""); status != 200 {
			t.Errorf("%s: got %d %s, want 200", p, status, body)
		}
	}
}

// TestSelectReturnsOnlySelected: a $select answer holds the selected
// properties, id and annotations, nothing else.
func TestSelectReturnsOnlySelected(t *testing.T) {
	srv := newFabrikam(t)
	status, body := do(t, srv, "GET", "/v1.0/users?$select=displayName&$filter=userType+eq+'Guest'", map[string]string{"Authorization": "Bearer t"}, "")
	if status != 200 {
		t.Fatalf("got %d %s", status, body)
	}
	var out struct{ Value []map[string]any }
	if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Value) == 0 {
		t.Fatalf("body %s: %v", body, err)
	}
	for _, u := range out.Value {
		for k := range u {
			if k != "id" && k != "displayName" && !strings.HasPrefix(k, "@") {
				t.Errorf("unselected property %q returned", k)
			}
		}
	}
}

// TestFixtureBodiesChecked: a fixture body the service could not send is
// refused at load, naming the file and the property.
func TestFixtureBodiesChecked(t *testing.T) {
	tests := []struct {
		name, file, body, want string
	}{
		{"unknown property", "graph/v1.0/drives/b!x/items/01X/permissions.json",
			`{"value":[{"id":"p1","roles":["read"],"link":{"scope":"anonymous","type":"view","scop":"users"}}]}`,
			`value[0].link.scop: property "scop" is not defined on type microsoft.graph.sharingLink (Graph v1.0 schema)`},
		{"label displayName", "graph/beta/security/informationProtection/sensitivityLabels.json",
			`{"value":[{"id":"l1","name":"General","displayName":"General"}]}`,
			`value[0].displayName: property "displayName" is not defined on type microsoft.graph.security.sensitivityLabel (Graph beta schema)`},
		{"wrong value type", "graph/v1.0/policies/authorizationPolicy.json",
			`{"id":"authorizationPolicy","allowInvitesFrom":"everyone","allowedToSignUpEmailBasedSubscriptions":"yes"}`,
			`allowedToSignUpEmailBasedSubscriptions: expected a boolean (Edm.Boolean), got a string`},
		{"enum value", "graph/v1.0/admin/sharepoint/settings.json",
			`{"sharingCapability":"anyone"}`,
			`sharingCapability: "anyone" is not a member of microsoft.graph.sharingCapabilities`},
		{"unknown annotation", "graph/v1.0/users.json",
			`{"value":[],"@foo.bar":1}`,
			`@foo.bar: a collection body holds only "value" and annotations`},
		{"odata.type not derived", "graph/v1.0/users/u1/memberOf.json",
			`{"value":[{"@odata.type":"#microsoft.graph.sharingLink","id":"g"}]}`,
			`value[0].@odata.type: @odata.type #microsoft.graph.sharingLink is not a microsoft.graph.directoryObject`},
		{"derived type's property", "graph/v1.0/users/u1/memberOf.json",
			`{"value":[{"@odata.type":"#microsoft.graph.group","id":"g","displayName":"G","securityEnabled":"true"}]}`,
			`value[0].securityEnabled: expected a boolean (Edm.Boolean), got a string`},
		{"path no endpoint serves", "graph/v1.0/me/drive.json", `{}`, `no Graph endpoint the fake serves has the path /v1.0/me/drive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			meta := `{"tenantId":"2b7e4d1a-8c3f-4e6a-b5d2-9f0a1c3e5b72","sharepointTenant":"fabrikam"}`
			if err := os.WriteFile(filepath.Join(dir, "tenant.json"), []byte(meta), 0o600); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(tt.file))
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := m365test.New(dir, m365test.Options{})
			if err == nil {
				t.Fatalf("loaded; want an error naming %s", tt.file)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to name %s and say %q", err, p, tt.want)
			}
		})
	}
}

// TestRecordedBodiesPassFixtureCheck: bodies recorded from real tenants
// are accepted: the check refuses what the service could not send, not
// what it does send. Skipped where the reference copy is absent.
func TestRecordedBodiesPassFixtureCheck(t *testing.T) {
	root := filepath.Join(repoRoot, "..", "shared", "reference", "recorded")
	if _, err := os.Stat(root); err != nil {
		t.Skip("reference recordings not present")
	}
	places := map[string]string{
		"graph-permissions": "drives/d/items/i/permissions", "graph-groups": "groups", "graph-sites-list": "sites/getAllSites",
		"graph-directory-objects": "users/u/memberOf", "graph-drives": "sites/s/drives",
	}
	checked := 0
	for folder, place := range places {
		files, _ := filepath.Glob(filepath.Join(root, folder, "*.json"))
		for _, f := range files {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), `"value"`) {
				continue // a single object or an error body
			}
			dir := t.TempDir()
			_ = os.WriteFile(filepath.Join(dir, "tenant.json"), []byte(`{"tenantId":"t","sharepointTenant":"x"}`), 0o600)
			p := filepath.Join(dir, "graph", "v1.0", filepath.FromSlash(place)+".json")
			_ = os.MkdirAll(filepath.Dir(p), 0o700)
			_ = os.WriteFile(p, body, 0o600)
			srv, err := m365test.New(dir, m365test.Options{})
			if err != nil {
				t.Errorf("%s/%s: %v", folder, filepath.Base(f), err)
				continue
			}
			srv.Close()
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no recorded collection was checked")
	}
	t.Logf("%d recorded collections accepted", checked)
}

// TestSecretTokensRefusedBySharePoint: SharePoint refuses app-only tokens
// got with a client secret; Graph takes them; a certificate's token is
// taken by both.
func TestSecretTokensRefusedBySharePoint(t *testing.T) {
	srv := newFabrikam(t)
	csom := m365.TenantQueryXML([]string{"SharingCapability"})
	for _, tt := range []struct {
		cred        m365test.Credential
		csomStatus  int
		graphStatus int
	}{
		{m365test.CredentialSecret, 401, 200},
		{m365test.CredentialCertificate, 200, 200},
	} {
		sp := map[string]string{"Authorization": "Bearer " + srv.TokenWith(tt.cred, m365.AudienceSharePoint, time.Hour, "Sites.FullControl.All")}
		status, body := do(t, srv, "POST", "/_vti_bin/client.svc/ProcessQuery", sp, csom)
		if status != tt.csomStatus {
			t.Errorf("credential %s: CSOM got %d %s, want %d", tt.cred, status, body, tt.csomStatus)
		}
		if tt.csomStatus == 401 && body != `{"error_description":"Unsupported app only token."}` {
			t.Errorf("credential %s: CSOM body %s", tt.cred, body)
		}
		g := map[string]string{"Authorization": "Bearer " + srv.TokenWith(tt.cred, m365.AudienceGraph, time.Hour, "Policy.Read.All")}
		if status, body := do(t, srv, "GET", "/v1.0/policies/authorizationPolicy", g, ""); status != tt.graphStatus {
			t.Errorf("credential %s: Graph got %d %s", tt.cred, status, body)
		}
	}

	// A scan with a secret's tokens leaves the sections read through
	// SharePoint incomplete, saying why.
	co := srv.ClientOptions()
	co.Tokens = srv.TokensWith(m365test.CredentialSecret, nil)
	co.Sleep = func(context.Context, time.Duration) error { return nil }
	c, err := m365.New(co)
	if err != nil {
		t.Fatal(err)
	}
	snap := scanner.Scan(context.Background(), m365.Sources(c, m365.SourceOptions{}), scanner.Options{Tenant: "fabrikam", Timeout: 30 * time.Second})
	for _, sec := range []tenant.Section{tenant.SectionSharePoint, tenant.SectionSites} {
		st := snap.Status[sec]
		if st.State == tenant.StateComplete || !strings.Contains(st.Error, "Unsupported app only token") {
			t.Errorf("%s: %+v, want incomplete naming the refusal", sec, st)
		}
	}
	if st := snap.Status[tenant.SectionEntra]; st.State != tenant.StateComplete {
		t.Errorf("entra (Graph only): %+v, want complete", st)
	}
}

// TestTokenEndpoint: the fake's token endpoint hands out tokens that say
// how the application proved itself, and SharePoint takes only the
// certificate's.
func TestTokenEndpoint(t *testing.T) {
	srv := newFabrikam(t)
	spScope := srv.Endpoints().Scope(m365.AudienceSharePoint)
	get := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := http.Post(srv.TokenURL(), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.AccessToken + out.Error
	}
	base := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "scope": {spScope}}
	secret, cert := cloneForm(base), cloneForm(base)
	secret.Set("client_secret", "s3cret")
	cert.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	cert.Set("client_assertion", "header.claims.signature")
	for _, tt := range []struct {
		name       string
		form       url.Values
		csomStatus int
	}{{"secret", secret, 401}, {"certificate", cert, 200}} {
		status, tok := get(tt.form)
		if status != 200 {
			t.Fatalf("%s: token endpoint %d %s", tt.name, status, tok)
		}
		st, body := do(t, srv, "POST", "/_vti_bin/client.svc/ProcessQuery", map[string]string{"Authorization": "Bearer " + tok}, m365.TenantQueryXML([]string{"SharingCapability"}))
		if st != tt.csomStatus {
			t.Errorf("%s token: CSOM %d %s, want %d", tt.name, st, body, tt.csomStatus)
		}
	}
	none := cloneForm(base)
	if status, e := get(none); status != 401 || e != "invalid_client" {
		t.Errorf("no credential: %d %s, want 401 invalid_client", status, e)
	}
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
