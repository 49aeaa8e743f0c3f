package m365_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

// strictBase is, per parser of m365.StrictParsers, an item that parser
// reads without error and that carries every field its schema declares,
// so that each field can be given a value of the wrong type in turn.
var strictBase = map[string]string{
	"sharepoint settings": `{"sharingCapability":"externalUserSharingOnly","sharingDomainRestrictionMode":"blockList",
		"sharingAllowedDomainList":["partner.com"],"sharingBlockedDomainList":["gmail.com"],
		"isResharingByExternalUsersEnabled":false,"isRequireAcceptingUserToMatchInvitedUserEnabled":true}`,
	"sharepoint settings wrapper": `{"value":{"sharingCapability":"disabled"}}`,
	"csom tenant": `{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.Tenant","SharingCapability":2,
		"ODBSharingCapability":1,"SharingDomainRestrictionMode":0,"SharingAllowedDomainList":"outlook.com","SharingBlockedDomainList":"gmail.com",
		"DefaultSharingLinkType":2,"DefaultLinkPermission":2,"RequireAnonymousLinksExpireInDays":30,"FileAnonymousLinkType":1,
		"FolderAnonymousLinkType":1,"PreventExternalUsersFromResharing":true,"RequireAcceptingAccountMatchInvitedAccount":true,
		"ExternalUserExpirationRequired":true,"ExternalUserExpireInDays":60,"EmailAttestationRequired":true,"EmailAttestationReAuthDays":30}`,
	"csom answer element": `{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.Other","_ObjectIdentity_":"1dfc0ca0-306e-3000-7e8f-6ef60fbb1e9c|908bed80-a04a-4433-b4a0-883d9847d110:6492ece7-7f5d-4499-8130-50e761e25bd9\nOther"}`,
	"getAllSites": `{"id":"fabrikam.sharepoint.com,7b1c2d3e-0000-4000-8000-000000000099,5c4f1229-7f9d-5ccd-8fed-e9fd69c34399",
		"webUrl":"https://fabrikam.sharepoint.com/sites/Strict","displayName":"Strict","name":"Strict",
		"sharepointIds":{"siteId":"7b1c2d3e-0000-4000-8000-000000000099"}}`,
	"sites delta": `{"id":"fabrikam.sharepoint.com,7b1c2d3e-0000-4000-8000-000000000099,5c4f1229-7f9d-5ccd-8fed-e9fd69c34399",
		"sharepointIds":{"siteId":"7b1c2d3e-0000-4000-8000-000000000099"},"deleted":{"state":"deleted"}}`,
	"csom sites": `{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.SiteProperties","Url":"https://fabrikam.sharepoint.com/sites/Strict",
		"Title":"Strict","Template":"STS#3","GroupId":"/Guid(00000000-0000-0000-0000-000000000000)/","LockState":"Unlock","SharingCapability":1,
		"SharingDomainRestrictionMode":2,"SharingAllowedDomainList":"","SharingBlockedDomainList":"gmail.com",
		"SensitivityLabel":"/Guid(00000000-0000-0000-0000-000000000000)/"}`,
	"csom sites page": `{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.SPOSitePropertiesEnumerable",
		"NextStartIndexFromSharePoint":"2","_Child_Items_":[]}`,
	"csom site by url": `{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.SiteProperties","Url":"https://fabrikam.sharepoint.com/sites/Strict",
		"Title":"Strict","Template":"STS#3","GroupId":"/Guid(4e3a7c2d-0000-4000-8000-0000000000aa)/","LockState":"NoAccess","SharingCapability":2,
		"SharingDomainRestrictionMode":1,"SharingAllowedDomainList":"partner.com","SharingBlockedDomainList":"",
		"SensitivityLabel":"/Guid(5f2a1b3c-2222-4d4e-8f9a-1b2c3d4e5f02)/"}`,
	"sensitivity labels": `{"id":"5f2a1b3c-9999-4d4e-8f9a-1b2c3d4e5f09","name":"Strict"}`,
	"drives":             `{"id":"b!Strict","name":"Documents"}`,
	"drive delta": `{"id":"01STRICT","name":"strict.docx","parentReference":{"id":"01PARENT","path":"/drives/b!Strict/root:/x"},
		"folder":{"childCount":0},"root":{},"deleted":{"state":"deleted"},"shared":{"scope":"anonymous"},"@microsoft.graph.sharedChanged":"True",
		"sharepointIds":{"listItemUniqueId":"6c3e69d8-85ba-4a74-a214-3ba666040c1b"}}`,
	"permissions": `{"id":"c3RyaWN0","roles":["read"],"link":{"scope":"users","type":"view","webUrl":"https://fabrikam.sharepoint.com/:w:/s/x/E","preventsDownload":false},
		"expirationDateTime":"2026-09-30T00:00:00Z","hasPassword":false,
		"grantedToV2":{"user":{"email":"a@partner.com","loginName":"a","displayName":"A"},"siteUser":{"email":"b@partner.com","loginName":"b","displayName":"B"},
			"group":{"email":"g@partner.com","loginName":"g","displayName":"G"},"siteGroup":{"email":"","loginName":"sg","displayName":"SG"},
			"sharePointGroup":{"email":"","loginName":"spg","displayName":"SPG"},"application":{"email":"","loginName":"","displayName":"A2"},"device":{"email":"","loginName":"","displayName":"D2"}},
		"grantedToIdentitiesV2":[{"user":{"email":"c@partner.com","loginName":"c","displayName":"C"},"siteUser":{"email":"","loginName":"d","displayName":"D"},
			"group":{"email":"","loginName":"","displayName":"E"},"siteGroup":{"email":"","loginName":"","displayName":"F"},
			"sharePointGroup":{"email":"","loginName":"","displayName":"H"},"application":{"email":"","loginName":"","displayName":"App"},
			"device":{"email":"","loginName":"","displayName":"Dev"}}],
		"grantedTo":{"user":{"email":"l@partner.com","loginName":"l","displayName":"L"},"siteUser":{"email":"","loginName":"","displayName":""},
			"group":{"email":"","loginName":"","displayName":""},"siteGroup":{"email":"","loginName":"","displayName":""},
			"sharePointGroup":{"email":"","loginName":"","displayName":""},"application":{"email":"","loginName":"","displayName":""},
			"device":{"email":"","loginName":"","displayName":""}},
		"inheritedFrom":{"id":"01PARENT"}}`,
	"users": `{"id":"8b2c3d4e-0009-4f6a-9b0c-1d2e3f4a5b69","displayName":"Strict","mail":"strict@partner.com",
		"userPrincipalName":"strict_partner.com#EXT#@fabrikam.onmicrosoft.com","userType":"Guest","externalUserState":"Accepted",
		"externalUserStateChangeDateTime":"2024-11-04T12:00:00Z","createdDateTime":"2024-11-04T11:50:00Z","accountEnabled":true,
		"signInActivity":{"lastSignInDateTime":"2025-05-19T22:10:00Z","lastNonInteractiveSignInDateTime":"2025-05-20T22:10:00Z","lastSuccessfulSignInDateTime":"2025-05-19T22:10:00Z"},
		"sponsors":[{"@odata.type":"#microsoft.graph.user","id":"1977ad05-ecc9-5a83-a400-e8c3caf81a98","displayName":"Megan Bowen"}]}`,
	"stored guests": `{"id":"8b2c3d4e-0009-4f6a-9b0c-1d2e3f4a5b69","userPrincipalName":"strict_partner.com#EXT#@fabrikam.onmicrosoft.com",
		"mail":"strict@partner.com","displayName":"Strict","domain":"partner.com","state":"Accepted","stateChangedAt":"2024-11-04T12:00:00Z",
		"createdAt":"2024-11-04T11:50:00Z","accountEnabled":true,"signIn":{"last":"2025-05-20T22:10:00Z","lastSuccessful":"2025-05-19T22:10:00Z"},
		"sponsors":[{"id":"1977ad05-ecc9-5a83-a400-e8c3caf81a98","displayName":"Megan Bowen","type":"user"}],
		"memberOf":[{"id":"d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69","displayName":"Strict","type":"group"}]}`,
	"users delta":                     `{"id":"8b2c3d4e-0009-4f6a-9b0c-1d2e3f4a5b69","@removed":{"reason":"changed"}}`,
	"directory objects":               `{"@odata.type":"#microsoft.graph.group","id":"d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69","displayName":"Strict"}`,
	"authorization policy":            `{"allowInvitesFrom":"everyone","guestUserRoleId":"10dae51f-b6af-4016-8d66-8c2a99b929b3"}`,
	"authorization policy collection": `{"value":[{"allowInvitesFrom":"everyone","guestUserRoleId":"10dae51f-b6af-4016-8d66-8c2a99b929b3"}]}`,
	"b2b policies":                    `{"id":"9eb5b1a7-973a-5e1a-9dd4-f27219053899","isOrganizationDefault":true,"definition":["{\"B2BManagementPolicy\":{}}"]}`,
	"cross-tenant default": `{"b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed"}},"b2bCollaborationOutbound":{"usersAndGroups":{"accessType":"allowed"}},
		"b2bDirectConnectInbound":{"usersAndGroups":{"accessType":"blocked"}},"b2bDirectConnectOutbound":{"usersAndGroups":{"accessType":"blocked"}},
		"inboundTrust":{"isMfaAccepted":false}}`,
	"cross-tenant partners": `{"tenantId":"3d0f5dba-5a2b-4c1e-9f4d-2b7e8c1a9f10","b2bCollaborationInbound":{"usersAndGroups":{"accessType":"allowed"}},
		"b2bCollaborationOutbound":{"usersAndGroups":{"accessType":"allowed"}},"b2bDirectConnectInbound":{"usersAndGroups":{"accessType":"allowed"}},
		"b2bDirectConnectOutbound":{"usersAndGroups":{"accessType":"blocked"}},"inboundTrust":{"isMfaAccepted":true}}`,
	"group settings": `{"id":"4b1c627d-2f01-5996-94c6-a8f481b13499","templateId":"62375ab9-6b52-47ed-826b-58e47e0e304b",
		"values":[{"name":"AllowToAddGuests","value":"true"}]}`,
	"group guest settings": `{"id":"3c5b34c0-e7a2-5b7a-b298-d54cb5cc9e99","templateId":"08d542b9-071f-4e16-94b0-74abb372e3d9",
		"values":[{"name":"AllowToAddGuests","value":"false"}]}`,
	"groups": `{"id":"d2b3c4d5-0009-4b6c-9d0e-1f2a3b4c5d69","displayName":"Strict","mail":"strict@fabrikam.com","visibility":"Private",
		"assignedLabels":[{"labelId":"5f2a1b3c-2222-4d4e-8f9a-1b2c3d4e5f02","displayName":"Confidential"}]}`,
	"remote domains": `{"Name":"Strict","DomainName":"strict.example","AutoForwardEnabled":false,"AutoReplyEnabled":true,"IsInternal":false}`,
	"teams federation": `{"Identity":"Global","AllowFederatedUsers":true,"AllowedDomains":[{"Domain":"partner.com"}],"BlockedDomains":[{"Domain":"bad.example"}],
		"AllowTeamsConsumer":false,"AllowTeamsConsumerInbound":false,"AllowPublicUsers":false}`,
	"teams client":           `{"Identity":"Global","AllowGuestUser":false}`,
	"teams meeting policy":   `{"Identity":"Global","AllowAnonymousUsersToJoinMeeting":false}`,
	"subscribed skus":        `{"skuId":"6fd2c87f-b296-42f0-b197-1e91e994b900","servicePlans":[{"servicePlanId":"57ff2da0-773e-42df-b2af-ffb7a2317929","servicePlanName":"TEAMS1"}]}`,
	"fabric tenant settings": `{"settingName":"PublishToWeb","enabled":true,"enabledSecurityGroups":[{"graphId":"6c1f8e2a-4b3d-4e5f-9a7b-1c2d3e4f5a6b","name":"Analysts"}]}`,
	"fabric tenant settings page": `{"value":[{"settingName":"PublishToWeb","enabled":false}],"tenantSettings":[],
		"continuationUri":"https://api.fabric.microsoft.com/v1/admin/tenantsettings?continuationToken=2"}`,
	"sharing policies": `{"Name":"Strict Sharing Policy","Enabled":true,"Default":false,"Domains":["*:CalendarSharingFreeBusySimple"]}`,
	"organization relationships": `{"Name":"Strict","DomainNames":["partner.com"],"Enabled":true,"FreeBusyAccessEnabled":true,
		"FreeBusyAccessLevel":"LimitedDetails","FreeBusyAccessScope":"","MailTipsAccessEnabled":false,"MailTipsAccessLevel":"None"}`,
}

// wrongValue is a value of the wrong type (or an unreadable value) for a
// field, and what its error says it got.
type wrongValue struct {
	json string
	got  string // the error's "got": a JSON type, or the value itself
	elem bool   // the error is at the array's first element
}

// wrongValues are, per declared kind, values a field of that kind must
// refuse.
var wrongValues = map[string][]wrongValue{
	"string":     {{json: `7`, got: "number"}, {json: `true`, got: "boolean"}, {json: `{}`, got: "object"}, {json: `[]`, got: "array"}},
	"time":       {{json: `7`, got: "number"}, {json: `{}`, got: "object"}, {json: `"soon"`, got: `"soon"`}},
	"bool":       {{json: `"true"`, got: "string"}, {json: `1`, got: "number"}, {json: `{}`, got: "object"}, {json: `[]`, got: "array"}},
	"int":        {{json: `"5"`, got: "string"}, {json: `true`, got: "boolean"}, {json: `{}`, got: "object"}, {json: `[]`, got: "array"}, {json: `1.5`, got: "1.5"}, {json: `1e300`, got: "1e300"}},
	"strings":    {{json: `"x"`, got: "string"}, {json: `{}`, got: "object"}, {json: `[1]`, got: "number", elem: true}},
	"object":     {{json: `"x"`, got: "string"}, {json: `1`, got: "number"}, {json: `[]`, got: "array"}, {json: `true`, got: "boolean"}},
	"objects":    {{json: `"x"`, got: "string"}, {json: `{}`, got: "object"}, {json: `[1]`, got: "number", elem: true}},
	"items":      {{json: `"x"`, got: "string"}, {json: `{}`, got: "object"}},
	"facet":      {{json: `"x"`, got: "string"}, {json: `true`, got: "boolean"}, {json: `1`, got: "number"}, {json: `[]`, got: "array"}},
	"looseBool":  {{json: `{}`, got: "object"}, {json: `[]`, got: "array"}, {json: `1`, got: "number"}, {json: `"maybe"`, got: `"maybe"`}},
	"enum":       {{json: `{}`, got: "object"}, {json: `[]`, got: "array"}, {json: `true`, got: "boolean"}, {json: `1.5`, got: "1.5"}},
	"stringList": {{json: `{}`, got: "object"}, {json: `5`, got: "number"}, {json: `true`, got: "boolean"}, {json: `[1]`, got: "number", elem: true}},
	"named":      {{json: `[]`, got: "array"}, {json: `5`, got: "number"}, {json: `true`, got: "boolean"}, {json: `{}`, got: "object without them"}},
}

// errPath is how errors write a declared path.
func errPath(path []string) string {
	var b strings.Builder
	for _, p := range path {
		if p == "[]" {
			b.WriteString("[0]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// withValue returns base with the field at path set to value (deleted
// when value is ""); "[]" steps go into the array's first element.
func withValue(t *testing.T, base string, path []string, value string) json.RawMessage {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(base), &doc); err != nil {
		t.Fatalf("base item: %v", err)
	}
	var set func(v any, path []string) any
	set = func(v any, path []string) any {
		if path[0] == "[]" {
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 {
				t.Fatalf("base item has no array element at %v", path)
			}
			arr[0] = set(arr[0], path[1:])
			return arr
		}
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("base item has no object at %v", path)
		}
		if len(path) == 1 {
			if value == "" {
				delete(m, path[0])
			} else {
				m[path[0]] = json.RawMessage(value)
			}
			return m
		}
		m[path[0]] = set(m[path[0]], path[1:])
		return m
	}
	out, err := json.Marshal(set(doc, path))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hasPath reports whether base holds a non-null value at path.
func hasPath(base string, path []string) bool {
	var v any
	if json.Unmarshal([]byte(base), &v) != nil {
		return false
	}
	for _, p := range path {
		if p == "[]" {
			arr, ok := v.([]any)
			if !ok || len(arr) == 0 {
				return false
			}
			v = arr[0]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[p]; !ok || v == nil {
			return false
		}
	}
	return true
}

// fieldError returns the FieldError err carries, failing when there is none.
func fieldError(t *testing.T, err error) *m365.FieldError {
	t.Helper()
	var fe *m365.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a FieldError", err)
	}
	return fe
}

// TestStrictFieldsRefuseWrongTypes gives each field each parser declares,
// nested ones included, values of the wrong type: every one is an error
// naming the endpoint, the item, the field and the JSON type it had.
// Null is as absent: unknown, never an error (except for identities and
// the fields a parser cannot do without).
func TestStrictFieldsRefuseWrongTypes(t *testing.T) {
	required := map[string]bool{"getAllSites webUrl": true, "csom sites page _Child_Items_": true}
	// A settings wrapper whose value is null holds no setting at all: an
	// error about the whole object, not unknown fields.
	emptyWhenNull := map[string]bool{"sharepoint settings wrapper value": true}
	seen := map[string]bool{}
	for _, p := range m365.StrictParsers() {
		seen[p.Name] = true
		base, ok := strictBase[p.Name]
		if !ok {
			t.Errorf("parser %q has no base item", p.Name)
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			if err := p.Run(json.RawMessage(base)); err != nil {
				t.Fatalf("base item: %v", err)
			}
			for _, f := range p.Fields {
				path := errPath(f.Path)
				if !hasPath(base, f.Path) {
					t.Errorf("base item lacks declared field %s", path)
					continue
				}
				values := wrongValues[f.Kind]
				if len(values) == 0 {
					t.Errorf("field %s: no wrong values for kind %q", path, f.Kind)
				}
				for _, w := range values {
					err := p.Run(withValue(t, base, f.Path, w.json))
					if err == nil {
						t.Errorf("%s = %s: no error", path, w.json)
						continue
					}
					fe := fieldError(t, err)
					want := path
					if w.elem {
						want += "[0]"
					}
					if fe.Field != want || fe.Endpoint != p.Endpoint || fe.Item != p.Item || fe.Got != w.got || fe.Want == "" {
						t.Errorf("%s = %s: error %+v, want field %q, endpoint %q, item %q, got %q", path, w.json, *fe, want, p.Endpoint, p.Item, w.got)
					}
					if !strings.Contains(err.Error(), fmt.Sprintf("field %q: expected ", want)) {
						t.Errorf("%s = %s: message %q does not name the field", path, w.json, err)
					}
				}
				err := p.Run(withValue(t, base, f.Path, `null`))
				switch {
				case emptyWhenNull[p.Name+" "+path]:
					if err == nil || fieldError(t, err).Field != "" || !strings.Contains(err.Error(), "none of them") {
						t.Errorf("%s = null: %v, want an error about the whole object", path, err)
					}
				case f.Identity || required[p.Name+" "+path]:
					if err == nil {
						t.Errorf("%s = null: no error", path)
					} else if fe := fieldError(t, err); fe.Field != path {
						t.Errorf("%s = null: error names field %q", path, fe.Field)
					}
				case err != nil:
					t.Errorf("%s = null: %v, want unknown", path, err)
				}
			}
		})
	}
	for name := range strictBase {
		if !seen[name] {
			t.Errorf("base item for unknown parser %q", name)
		}
	}
}

// TestStrictSchemasCovered: every schema the package declares is read by
// a parser of m365.StrictParsers, so none escapes the test above.
func TestStrictSchemasCovered(t *testing.T) {
	declared, reached, err := m365.SchemaCoverage()
	if err != nil {
		t.Fatal(err)
	}
	if declared == 0 || declared != reached {
		t.Errorf("%d schemas declared, %d reached from the parsers the strict tests run", declared, reached)
	}
}

// TestMissingIdentity: an item without its identity is an error naming
// the identity field, whether the field is missing, null or empty.
func TestMissingIdentity(t *testing.T) {
	n := 0
	for _, p := range m365.StrictParsers() {
		for _, f := range p.Fields {
			if !f.Identity {
				continue
			}
			n++
			path := errPath(f.Path)
			for _, v := range []struct{ value, got string }{{"", "nothing"}, {"null", "nothing"}, {`""`, `""`}} {
				err := p.Run(withValue(t, strictBase[p.Name], f.Path, v.value))
				if err == nil {
					t.Errorf("%s: %s %q: no error", p.Name, path, v.value)
					continue
				}
				fe := fieldError(t, err)
				// A nested identity's error names its item by the item's own.
				if fe.Field != path || fe.Got != v.got || (fe.ID != "") != (len(f.Path) > 1) {
					t.Errorf("%s: %s %q: error %+v", p.Name, path, v.value, *fe)
				}
				if len(f.Path) == 1 && !strings.Contains(err.Error(), fmt.Sprintf("%s %d field %q", p.Item, 0, path)) {
					t.Errorf("%s: message %q does not name the item by its index", p.Name, err)
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d identity fields declared", n)
	}
}

// TestWrongBodyShape: a body or item that is not the endpoint's shape is
// an error naming the endpoint, never an empty answer.
func TestWrongBodyShape(t *testing.T) {
	tests := []struct {
		name    string
		run     func() error
		mention string
		// body: nothing of the body was read, so the error must not pass
		// for items left out of an otherwise read page (FieldErrors).
		body bool
	}{
		{"permission not an object", func() error {
			_, err := m365.ParsePermissions([]json.RawMessage{json.RawMessage(`"anyone"`)}, tenant.Link{})
			return err
		}, "GET /v1.0/drives/{drive-id}/items/{item-id}/permissions: permission 0 (value[0]): expected a JSON object, got string", false},
		{"user an array", func() error { _, err := m365.ParseGuests([]json.RawMessage{json.RawMessage(`[]`)}, false); return err },
			"GET /v1.0/users: user 0 (value[0]): expected a JSON object, got array", false},
		{"settings value not an object", func() error {
			return m365.ParseSharePointSettings([]byte(`{"value":["x"]}`), &tenant.SharePointSettings{})
		}, `GET /v1.0/admin/sharepoint/settings: field "value": expected object, got array`, true},
		{"settings a string", func() error { return m365.ParseSharePointSettings([]byte(`"x"`), &tenant.SharePointSettings{}) },
			"expected a JSON object, got string", true},
		{"authorization policy value not an array", func() error {
			return m365.ParseAuthorizationPolicy([]byte(`{"value":{"allowInvitesFrom":"none"}}`), &tenant.EntraSettings{})
		}, `GET /v1.0/policies/authorizationPolicy: field "value": expected array, got object`, true},
		{"authorization policy item not an object", func() error {
			return m365.ParseAuthorizationPolicy([]byte(`{"value":["none"]}`), &tenant.EntraSettings{})
		}, `GET /v1.0/policies/authorizationPolicy: expected a JSON object, got string`, true},
		{"cross-tenant default an array", func() error { _, err := m365.ParseCrossTenantDefault([]byte(`[]`)); return err },
			"expected a JSON object, got array", true},
		{"CSOM tenant answer without the tenant", func() error {
			return m365.ParseCSOMTenant([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`), json.RawMessage(`{"_ObjectType_":"Other"}`)}, &tenant.SharePointSettings{})
		}, "answer holds no Microsoft.Online.SharePoint.TenantAdministration.Tenant object", true},
		{"CSOM answer element type not a string", func() error {
			return m365.ParseCSOMTenant([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`), json.RawMessage(`{"_ObjectType_":["Microsoft.Online.SharePoint.TenantAdministration.Tenant"]}`)}, &tenant.SharePointSettings{})
		}, `(Tenant): element 1 field "_ObjectType_": expected string, got array`, true},
		{"CSOM page start index a number", func() error {
			_, err := m365.ParseCSOMSites([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`),
				json.RawMessage(`{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.SPOSitePropertiesEnumerable","NextStartIndexFromSharePoint":2,"_Child_Items_":[]}`)})
			return err
		}, `page of site properties: POST /_vti_bin/client.svc/ProcessQuery (GetSitePropertiesFromSharePoint): field "NextStartIndexFromSharePoint": expected string, got number`, true},
		{"CSOM page item an array", func() error {
			_, err := m365.ParseCSOMSites([]json.RawMessage{json.RawMessage(`{"ErrorInfo":null}`),
				json.RawMessage(`{"_ObjectType_":"Microsoft.Online.SharePoint.TenantAdministration.SPOSitePropertiesEnumerable","_Child_Items_":[[]]}`)})
			return err
		}, "(GetSitePropertiesFromSharePoint): site 0 (_Child_Items_[0]): expected a JSON object, got array", false},
		{"exchange policy a number", func() error { _, err := m365.ParseSharingPolicies([]json.RawMessage{json.RawMessage(`5`)}); return err },
			"Get-SharingPolicy (POST /adminapi/beta/{tenant-id}/InvokeCommand): policy 0 (value[0]): expected a JSON object, got number", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.mention)
			}
			var fes *m365.FieldErrors
			if errors.As(err, &fes) == tt.body {
				t.Errorf("error %v: FieldErrors (items left out, the rest read) = %v, want %v", err, !tt.body, !tt.body)
			}
		})
	}
}

// TestHostileKeys: a field spelled with JSON escapes is the same field,
// and a field given twice is an error: neither can hide a link.
func TestHostileKeys(t *testing.T) {
	for _, tt := range []struct{ name, item, mention string }{
		{"escaped key", `{"id":"p","\u006cink":"anyone"}`, `permission "p" field "link": expected object, got string`},
		{"escaped key, right type", `{"id":"p","\u006cink":{"scope":"anonymous"}}`, ""},
		{"field twice", `{"id":"p","link":{"scope":"anonymous"},"link":null}`, `permission "p" field "link": expected one value, got the field twice`},
		{"invalid JSON inside", `{"id":"p","link":{"scope":"anonymous",}}`, `permission 0 (value[0]): expected a JSON object, got malformed JSON`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			links, err := m365.ParsePermissions([]json.RawMessage{json.RawMessage(tt.item)}, tenant.Link{})
			if tt.mention == "" {
				if err != nil || len(links) != 1 || links[0].Scope != tenant.LinkScopeAnonymous {
					t.Errorf("links %+v, error %v; want the anonymous link", links, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.mention) || len(links) != 0 {
				t.Errorf("links %+v, error %v; want none and an error mentioning %q", links, err, tt.mention)
			}
		})
	}
}

// TestUnrecognisedSettingValue: a group setting that is neither "true"
// nor "false" is an error naming it, not unknown.
func TestUnrecognisedSettingValue(t *testing.T) {
	_, err := m365.ParseGroupSettings([]json.RawMessage{json.RawMessage(`{"id":"s","templateId":"62375ab9-6b52-47ed-826b-58e47e0e304b","values":[{"name":"AllowGuestsToAccessGroups","value":"sometimes"}]}`)})
	if err == nil || !strings.Contains(err.Error(), `setting "s" field "values[0].value": expected "true" or "false", got "sometimes"`) {
		t.Errorf("error %v", err)
	}
}

// TestStrictKeepsOtherItems: an item that cannot be read is left out and
// reported; the other items of the page are still returned.
func TestStrictKeepsOtherItems(t *testing.T) {
	links, err := m365.ParsePermissions([]json.RawMessage{
		json.RawMessage(`{"id":"a","link":{"scope":"anonymous","type":"edit"}}`),
		json.RawMessage(`{"id":"b","link":"anyone"}`),
		json.RawMessage(`{"id":"c","link":{"scope":"organization","type":"view"}}`),
	}, tenant.Link{})
	var fes *m365.FieldErrors
	if !errors.As(err, &fes) || fes.Count != 1 || fes.Errs[0].ID != "b" {
		t.Fatalf("error %v, want FieldErrors naming permission b", err)
	}
	if len(links) != 2 || links[0].PermissionID != "a" || links[1].PermissionID != "c" {
		t.Errorf("links %+v, want a and c", links)
	}
}

// sourceRoute says where a parser's items come from in a scan: the
// section, the fake's endpoint key, and how an item is put into that
// endpoint's real answer.
type sourceRoute struct {
	section tenant.Section
	pattern string
	inject  func(body, item []byte) ([]byte, error)
	// delta: the endpoint is a delta link only an incremental scan reads.
	delta bool
	// shape: the parser reads a wrapper; a bad one loses the rest of its
	// read, so the section is partial or failed.
	shape bool
}

func appendItem(body, item []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(doc["value"], &items); err != nil {
		return nil, err
	}
	doc["value"], _ = json.Marshal(append(items, item))
	return json.Marshal(doc)
}

func replaceBody(_, item []byte) ([]byte, error) { return item, nil }

// csomElement rewrites the element of a ProcessQuery answer that has key.
func csomElement(key string, edit func(el map[string]json.RawMessage, item []byte) ([]byte, error)) func(body, item []byte) ([]byte, error) {
	return func(body, item []byte) ([]byte, error) {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			return nil, err
		}
		for i, el := range arr {
			var m map[string]json.RawMessage
			if json.Unmarshal(el, &m) != nil || m[key] == nil {
				continue
			}
			b, err := edit(m, item)
			if err != nil {
				return nil, err
			}
			arr[i] = b
			return json.Marshal(arr)
		}
		return nil, fmt.Errorf("answer has no element with %s", key)
	}
}

var sourceRoutes = map[string]sourceRoute{
	"sharepoint settings":         {section: tenant.SectionSharePoint, pattern: "GET /v1.0/admin/sharepoint/settings", inject: replaceBody},
	"sharepoint settings wrapper": {section: tenant.SectionSharePoint, pattern: "GET /v1.0/admin/sharepoint/settings", inject: replaceBody, shape: true},
	"csom answer element": {section: tenant.SectionSharePoint, pattern: "CSOM Tenant", shape: true, inject: csomElement("_ObjectType_", func(_ map[string]json.RawMessage, item []byte) ([]byte, error) {
		return item, nil
	})},
	"csom tenant": {section: tenant.SectionSharePoint, pattern: "CSOM Tenant", inject: csomElement("_ObjectType_", func(_ map[string]json.RawMessage, item []byte) ([]byte, error) {
		return item, nil
	})},
	"getAllSites": {section: tenant.SectionSites, pattern: "GET /v1.0/sites/getAllSites", inject: appendItem},
	"sites delta": {section: tenant.SectionSites, pattern: "GET /v1.0/sites/delta", inject: appendItem, delta: true},
	"csom sites": {section: tenant.SectionSites, pattern: "CSOM GetSitePropertiesFromSharePoint", inject: csomElement("_Child_Items_", func(el map[string]json.RawMessage, item []byte) ([]byte, error) {
		var items []json.RawMessage
		if err := json.Unmarshal(el["_Child_Items_"], &items); err != nil {
			return nil, err
		}
		el["_Child_Items_"], _ = json.Marshal(append(items, item))
		return json.Marshal(el)
	})},
	"csom sites page": {section: tenant.SectionSites, pattern: "CSOM GetSitePropertiesFromSharePoint", shape: true, inject: csomElement("_Child_Items_", func(_ map[string]json.RawMessage, item []byte) ([]byte, error) {
		return item, nil
	})},
	"sensitivity labels":              {section: tenant.SectionSites, pattern: "GET /beta/security/informationProtection/sensitivityLabels", inject: appendItem},
	"drives":                          {section: tenant.SectionLinks, pattern: "GET /v1.0/sites/*/drives", inject: appendItem},
	"drive delta":                     {section: tenant.SectionLinks, pattern: "GET /v1.0/drives/*/root/delta", inject: appendItem},
	"permissions":                     {section: tenant.SectionLinks, pattern: "GET /v1.0/drives/*/items/*/permissions", inject: appendItem},
	"users":                           {section: tenant.SectionGuests, pattern: "GET /v1.0/users", inject: appendItem},
	"users delta":                     {section: tenant.SectionGuests, pattern: "GET /v1.0/users/delta", inject: appendItem, delta: true},
	"directory objects":               {section: tenant.SectionGuests, pattern: "GET /v1.0/users/*/memberOf", inject: appendItem},
	"authorization policy":            {section: tenant.SectionEntra, pattern: "GET /v1.0/policies/authorizationPolicy", inject: replaceBody},
	"authorization policy collection": {section: tenant.SectionEntra, pattern: "GET /v1.0/policies/authorizationPolicy", inject: replaceBody, shape: true},
	"b2b policies":                    {section: tenant.SectionEntra, pattern: "GET /beta/policies/b2bManagementPolicies", inject: appendItem},
	"cross-tenant default":            {section: tenant.SectionEntra, pattern: "GET /v1.0/policies/crossTenantAccessPolicy/default", inject: replaceBody},
	"cross-tenant partners":           {section: tenant.SectionEntra, pattern: "GET /v1.0/policies/crossTenantAccessPolicy/partners", inject: appendItem},
	"group settings":                  {section: tenant.SectionGroups, pattern: "GET /v1.0/groupSettings", inject: appendItem},
	"group guest settings":            {section: tenant.SectionGroups, pattern: "GET /v1.0/groups/*/settings", inject: appendItem},
	"groups":                          {section: tenant.SectionGroups, pattern: "GET /v1.0/groups", inject: appendItem},
	"sharing policies":                {section: tenant.SectionExchange, pattern: "EXO Get-SharingPolicy", inject: appendItem},
	"organization relationships":      {section: tenant.SectionExchange, pattern: "EXO Get-OrganizationRelationship", inject: appendItem},
	"remote domains":                  {section: tenant.SectionExchange, pattern: "EXO Get-RemoteDomain", inject: appendItem},
	"teams federation":                {section: tenant.SectionTeams, pattern: "GET /Skype.Policy/configurations/TenantFederationSettings/configuration/Global", inject: replaceBody},
	"teams client":                    {section: tenant.SectionTeams, pattern: "GET /Skype.Policy/configurations/TeamsClientConfiguration/configuration/Global", inject: replaceBody},
	"teams meeting policy":            {section: tenant.SectionTeams, pattern: "GET /Skype.Policy/configurations/TeamsMeetingPolicy/configuration/Global", inject: replaceBody},
	"fabric tenant settings":          {section: tenant.SectionPowerBI, pattern: "GET /v1/admin/tenantsettings", inject: appendItem},
	"fabric tenant settings page":     {section: tenant.SectionPowerBI, pattern: "GET /v1/admin/tenantsettings", inject: replaceBody, shape: true},
}

// noSourceRoute names the parsers whose items no scan of a fake tenant
// reads by themselves, and why; their fields are covered above.
var noSourceRoute = map[string]string{
	"csom site by url": "read only for sites a sites delta adds; its schema is that of \"csom sites\"",
	"stored guests":    "read from the store by incremental scans, not from Microsoft 365 (TestDecodeStoredGuestRefusesBadDocuments)",
	"subscribed skus":  "read only after a Teams or Fabric read failed; a bad item then keeps the section failed with that error (TestServiceNotLicensed)",
}

// TestStrictFieldsAtSource scans a fake tenant whose answer carries one
// item with one field of the wrong type, for every field of every parser:
// the section is partial (or, for a wrapper, failed), never complete, and
// its status names the field.
func TestStrictFieldsAtSource(t *testing.T) {
	for _, p := range m365.StrictParsers() {
		route, ok := sourceRoutes[p.Name]
		if !ok {
			if noSourceRoute[p.Name] == "" {
				t.Errorf("parser %q has no source route", p.Name)
			}
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			for _, f := range p.Fields {
				w := wrongValues[f.Kind][0]
				path := errPath(f.Path)
				item := withValue(t, strictBase[p.Name], f.Path, w.json)
				st := scanWithItem(t, route, item)
				if st.State == tenant.StateComplete || (!route.shape && st.State != tenant.StatePartial) {
					t.Errorf("%s = %s: section %s is %s, want partial (error %q)", path, w.json, route.section, st.State, st.Error)
				}
				if !strings.Contains(st.Error, fmt.Sprintf("field %q", path)) {
					t.Errorf("%s = %s: status error %q does not name the field", path, w.json, st.Error)
				}
			}
		})
	}
}

// scanWithItem collects route's section with item put into the answers of
// route's endpoint and returns the section's status.
func scanWithItem(t *testing.T, route sourceRoute, item []byte) tenant.SectionStatus {
	t.Helper()
	var srv *m365test.Server
	var err error
	if route.delta {
		// The fixture fake serves no users delta; a small generated tenant
		// serves both deltas.
		srv, err = m365test.NewGenerated(m365test.Spec{Seed: 5, Sites: 2, ItemsPerDrive: 4, SharedPerDrive: 1, LinksPerShared: 1, Guests: 3}, m365test.Options{})
	} else {
		srv, err = m365test.New(fabrikam, m365test.Options{PageSize: 2})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	co := srv.ClientOptions()
	co.Sleep = func(context.Context, time.Duration) error { return nil }
	c, err := m365.New(co)
	if err != nil {
		t.Fatal(err)
	}
	o := m365.SourceOptions{TempDir: t.TempDir()}
	var st *memState
	if route.delta {
		st = newMemState()
		o.State, o.Now = st, srv.Clock().Now
		first := collectSection(t, c, o, route.section)
		if !first.Complete(route.section) {
			t.Fatalf("first scan: %+v", first.Status[route.section])
		}
		st.commit(first)
	}
	var fired sync.Once
	var injectErr error
	srv.Faults.Add(route.pattern, m365test.Fault{Rewrite: func(_ string, body []byte) []byte {
		out, err := route.inject(body, item)
		if err != nil {
			fired.Do(func() { injectErr = err })
			return body
		}
		return out
	}})
	snap := collectSection(t, c, o, route.section)
	if injectErr != nil {
		t.Fatalf("inject into %s: %v", route.pattern, injectErr)
	}
	if srv.Faults.Fired(route.pattern) == 0 {
		t.Fatalf("%s was never asked", route.pattern)
	}
	if st != nil && !snap.Complete(route.section) && len(st.pending) > 0 {
		t.Errorf("an incomplete section handed over tokens %v", st.pending)
	}
	return snap.Status[route.section]
}

func collectSection(t *testing.T, c *m365.Client, o m365.SourceOptions, sec ...tenant.Section) *tenant.Snapshot {
	t.Helper()
	srcs, err := m365.SourcesFor(c, o, sec...)
	if err != nil {
		t.Fatal(err)
	}
	return scanner.Scan(context.Background(), srcs, scanner.Options{Tenant: "strict", Timeout: 30 * time.Second})
}

// memState keeps what a store would between scans: the objects and tokens
// of the last complete collection.
type memState struct {
	mu      sync.Mutex
	tokens  map[string]string
	pending map[string]string
	snap    *tenant.Snapshot
}

func newMemState() *memState {
	return &memState{tokens: map[string]string{}, pending: map[string]string{}}
}

func (m *memState) DeltaToken(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokens[key], nil
}

func (m *memState) Previous(_ context.Context, sec tenant.Section, fn func([]byte) error) error {
	if m.snap == nil {
		return nil
	}
	var docs []any
	switch sec {
	case tenant.SectionSites:
		for i := range m.snap.Sites {
			docs = append(docs, &m.snap.Sites[i])
		}
	case tenant.SectionGuests:
		for i := range m.snap.Guests {
			docs = append(docs, &m.snap.Guests[i])
		}
	case tenant.SectionLinks:
		if err := m.snap.EachLink(func(l *tenant.Link) error { c := *l; docs = append(docs, &c); return nil }); err != nil {
			return err
		}
	}
	for _, d := range docs {
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

func (m *memState) SaveDeltaTokens(_ tenant.Section, toks map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range toks {
		m.pending[k] = v
	}
}

func (m *memState) commit(s *tenant.Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snap = s
	for k, v := range m.pending {
		m.tokens[k] = v
	}
	m.pending = map[string]string{}
}

// TestSitePropertiesUnavailable: when GetSitePropertiesFromSharePoint
// answers 503 (after every retry) or JSON that is not JSON, on the first
// page or a later one, in a full read or in the rolling window of an
// incremental one, the sites section is not complete and names the
// endpoint, and no token moves forward.
func TestSitePropertiesUnavailable(t *testing.T) {
	const key = "CSOM GetSitePropertiesFromSharePoint"
	faults := []struct {
		name  string
		fault m365test.Fault
		// attempts: how often the client asks for one page before it
		// gives up (a 503 is retried).
		attempts int
	}{
		{"503", m365test.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second}, 6},
		{"invalid JSON", m365test.Fault{InvalidJSON: true}, 1},
	}
	modes := []struct {
		name string
		// window: pages of site properties per incremental scan; -1 reads
		// without state.
		window int
		// skip: pages answered before the fault starts.
		skip int
		// once: the fault hits one page only, not every later one.
		once bool
	}{
		{"full read, first page", -1, 0, false},
		{"full read, later page", -1, 1, false},
		{"window, first page", 2, 0, false},
		{"window, later page", 2, 1, false},
		// The page at the stored start fails, the first page would not:
		// a failing service is no refused start index to start over from.
		{"window, stored start only", 2, 0, true},
		{"every page each scan", 0, 1, false},
	}
	for _, f := range faults {
		for _, m := range modes {
			t.Run(f.name+"/"+m.name, func(t *testing.T) {
				srv, err := m365test.New(fabrikam, m365test.Options{PageSize: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				co := srv.ClientOptions()
				co.Sleep = func(context.Context, time.Duration) error { return nil }
				c, err := m365.New(co)
				if err != nil {
					t.Fatal(err)
				}
				o := m365.SourceOptions{}
				var st *memState
				if m.window >= 0 {
					st = newMemState()
					o = m365.SourceOptions{State: st, SitePropertiesPages: m.window}
					for range 2 { // a full read, then a first window
						snap := collectSection(t, c, o, tenant.SectionSites)
						if !snap.Complete(tenant.SectionSites) {
							t.Fatalf("scan before the fault: %+v", snap.Status[tenant.SectionSites])
						}
						st.commit(snap)
					}
				}
				stored := map[string]string{}
				if st != nil {
					stored = maps.Clone(st.tokens)
				}
				// Let skip pages through, then fail every later one.
				if m.skip > 0 {
					srv.Faults.Add(key, m365test.Fault{Times: m.skip, Rewrite: func(_ string, b []byte) []byte { return b }})
				}
				fault := f.fault
				if m.once {
					fault.Times = f.attempts
				}
				srv.Faults.Add(key, fault)
				snap := collectSection(t, c, o, tenant.SectionSites)
				s := snap.Status[tenant.SectionSites]
				if s.State == tenant.StateComplete {
					t.Fatalf("sites complete although site properties failed (%d faults fired)", srv.Faults.Fired(key))
				}
				if srv.Faults.Fired(key) == 0 {
					t.Fatal("the fault never fired")
				}
				if !strings.Contains(s.Error, "POST /_vti_bin/client.svc/ProcessQuery") {
					t.Errorf("status error %q does not name the endpoint", s.Error)
				}
				if st != nil {
					if len(st.pending) != 0 {
						t.Errorf("an incomplete section handed over tokens %v", st.pending)
					}
					if !maps.Equal(st.tokens, stored) {
						t.Errorf("tokens changed: %v, were %v", st.tokens, stored)
					}
				}
			})
		}
	}
}

// TestEmptySettingsBodyIsNotComplete: a settings answer holding none of the
// expected properties leaves the sharepoint section partial, the error
// naming the endpoint; what CSOM gave is kept.
func TestEmptySettingsBodyIsNotComplete(t *testing.T) {
	for _, body := range []string{`{}`, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#admin/sharepoint/settings/$entity"}`} {
		srv, c := fake(t, m365test.Options{})
		srv.Faults.Add("GET /v1.0/admin/sharepoint/settings", m365test.Fault{Rewrite: func(string, []byte) []byte { return []byte(body) }})
		snap := collectSection(t, c, m365.SourceOptions{}, tenant.SectionSharePoint)
		st := snap.Status[tenant.SectionSharePoint]
		if st.State != tenant.StatePartial || !strings.Contains(st.Error, "GET /v1.0/admin/sharepoint/settings") || !strings.Contains(st.Error, "none of them") {
			t.Errorf("%s: status %+v, want partial naming the settings endpoint", body, st)
		}
		if snap.SharePoint == nil || snap.SharePoint.OneDriveSharingCapability == "" {
			t.Errorf("%s: CSOM settings lost: %+v", body, snap.SharePoint)
		}
	}
}
