package m365test_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

const csomNS = `xmlns="http://schemas.microsoft.com/sharepoint/clientquery/2009"`

func csomReq(actions, paths string) string {
	return `<Request AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName="test" ` + csomNS +
		`><Actions>` + actions + `</Actions><ObjectPaths>` + paths + `</ObjectPaths></Request>`
}

// csomAnswer posts a ProcessQuery and returns the raw body and the
// ErrorInfo message ("" when none).
func csomAnswer(t *testing.T, srv *m365test.Server, body string) (string, string) {
	t.Helper()
	status, raw := do(t, srv, "POST", "/_vti_bin/client.svc/ProcessQuery", map[string]string{"Authorization": "Bearer t"}, body)
	if status != 200 {
		t.Fatalf("ProcessQuery answered %d %s; the service answers 200", status, raw)
	}
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &arr); err != nil || len(arr) == 0 {
		t.Fatalf("answer %s: %v", raw, err)
	}
	var head struct {
		ErrorInfo *struct{ ErrorMessage string }
	}
	_ = json.Unmarshal(arr[0], &head)
	if head.ErrorInfo != nil {
		return raw, head.ErrorInfo.ErrorMessage
	}
	return raw, ""
}

// TestCSOMLikeTheService: queries return what they ask for, formatted as
// the service formats; writes need the object's identity and the declared
// type; a site change takes effect on Update.
func TestCSOMLikeTheService(t *testing.T) {
	srv := newFabrikam(t)
	tenantObj, _ := srv.Doc("sharepoint/tenant")
	identity := tenantObj.(map[string]any)["_ObjectIdentity_"].(string)

	raw, msg := csomAnswer(t, srv, m365.TenantQueryXML([]string{"SharingCapability", "ODBSharingCapability"}))
	if msg != "" {
		t.Fatal(msg)
	}
	if !strings.HasPrefix(raw, "[\n{\n\"SchemaVersion\":\"15.0.0.0\",\"LibraryVersion\":") || !strings.HasSuffix(raw, "\n}\n]") {
		t.Errorf("not in the service's layout:\n%s", raw)
	}
	var arr []json.RawMessage
	_ = json.Unmarshal([]byte(raw), &arr)
	var obj map[string]any
	_ = json.Unmarshal(arr[len(arr)-1], &obj)
	if len(obj) != 4 || obj["_ObjectIdentity_"] != identity || obj["SharingCapability"] == nil || obj["ODBSharingCapability"] == nil {
		t.Errorf("tenant query answered %v; want _ObjectType_, _ObjectIdentity_ and the two properties asked for", obj)
	}

	site := "https://fabrikam.sharepoint.com/sites/Finance"
	raw, msg = csomAnswer(t, srv, csomReq(
		`<ObjectPath Id="2" ObjectPathId="1"/><ObjectPath Id="4" ObjectPathId="3"/><Query Id="5" ObjectPathId="3"><Query SelectAllProperties="false"><Properties>`+
			`<Property Name="Url" ScalarProperty="true"/><Property Name="GroupId" ScalarProperty="true"/></Properties></Query></Query>`,
		`<Constructor Id="1" TypeId="`+m365.TenantTypeID+`"/><Method Id="3" ParentId="1" Name="GetSitePropertiesByUrl"><Parameters>`+
			`<Parameter Type="String">`+site+`</Parameter><Parameter Type="Boolean">false</Parameter></Parameters></Method>`))
	if msg != "" {
		t.Fatal(msg)
	}
	for _, want := range []string{`"Url":"https:\u002f\u002ffabrikam.sharepoint.com\u002fsites\u002fFinance"`, `"GroupId":"\/Guid(`, `)\/"`,
		`\nSiteProperties\nhttps%3a%2f%2ffabrikam.sharepoint.com%2fsites%2ffinance"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("site answer lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, `"Title"`) {
		t.Errorf("site answer carries a property not asked for:\n%s", raw)
	}

	// The last page of sites says null for the next start index.
	raw, msg = csomAnswer(t, srv, m365.SitesQueryXML("", false, []string{"Url"}))
	if msg != "" || !strings.Contains(raw, `"NextStartIndexFromSharePoint":null`) {
		t.Errorf("sites page: %q\n%s", msg, raw)
	}

	siteIdentity := "0|908bed80-a04a-4433-b4a0-883d9847d110:" + srv.Meta().TenantID + "\nSiteProperties\n" + strings.ToLower(url.QueryEscape(site))
	refusals := []struct{ name, body, want string }{
		{"unknown property", m365.TenantQueryXML([]string{"SharingCapabilty"}), `Field or property "SharingCapabilty" does not exist.`},
		{"write on a constructor path", csomReq(`<SetProperty Id="2" ObjectPathId="1" Name="SharingCapability"><Parameter Type="Enum">0</Parameter></SetProperty>`,
			`<Constructor Id="1" TypeId="`+m365.TenantTypeID+`"/>`), "must be named by its identity"},
		{"enum sent as Int32", m365.TenantSetPropertyXML(identity, "SharingCapability", "Int32", "0"), "the property is of type Enum, the parameter of type Int32"},
		{"unknown identity", m365.TenantSetPropertyXML("0|908bed80-a04a-4433-b4a0-883d9847d110:00000000-0000-0000-0000-000000000000\nTenant", "SharingCapability", "Enum", "0"), "not found"},
		{"unknown property written", m365.TenantSetPropertyXML(identity, "SharingCapabilty", "Enum", "0"), `Field or property "SharingCapabilty" does not exist.`},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			if _, msg := csomAnswer(t, srv, r.body); !strings.Contains(msg, r.want) {
				t.Errorf("ErrorInfo %q, want it to say %q", msg, r.want)
			}
		})
	}
	if doc, _ := srv.Doc("sharepoint/tenant"); doc.(map[string]any)["SharingCapability"] != tenantObj.(map[string]any)["SharingCapability"] {
		t.Error("a refused write changed the tenant")
	}

	if _, msg := csomAnswer(t, srv, m365.TenantSetPropertyXML(identity, "SharingCapability", "Enum", "0")); msg != "" {
		t.Fatal(msg)
	}
	if doc, _ := srv.Doc("sharepoint/tenant"); doc.(map[string]any)["SharingCapability"] != json.Number("0") {
		t.Errorf("tenant SharingCapability = %v after the write", doc.(map[string]any)["SharingCapability"])
	}

	// A site's SetProperty without Update changes nothing; with it, the
	// change is made.
	sharing := func() any {
		doc, _ := srv.Doc("sharepoint/sites")
		for _, it := range doc.([]any) {
			if m := it.(map[string]any); m["Url"] == site {
				return m["SharingCapability"]
			}
		}
		return nil
	}
	before := sharing()
	if _, msg := csomAnswer(t, srv, csomReq(`<SetProperty Id="2" ObjectPathId="1" Name="SharingCapability"><Parameter Type="Enum">3</Parameter></SetProperty>`,
		`<Identity Id="1" Name="`+strings.ReplaceAll(siteIdentity, "\n", "&#xA;")+`"/>`)); msg != "" {
		t.Fatal(msg)
	}
	if sharing() != before {
		t.Errorf("a site change without Update took effect")
	}
	if _, msg := csomAnswer(t, srv, m365.SiteSetPropertyXML(siteIdentity, "SharingCapability", "Enum", "3")); msg != "" {
		t.Fatal(msg)
	}
	if sharing() != json.Number("3") {
		t.Errorf("site SharingCapability = %v after SetProperty and Update", sharing())
	}
}
