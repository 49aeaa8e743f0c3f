package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// CSOM request plumbing for the SharePoint admin endpoint.

const (
	csomNamespace = "http://schemas.microsoft.com/sharepoint/clientquery/2009"
	// TenantTypeID is the CSOM type id of
	// Microsoft.Online.SharePoint.TenantAdministration.Tenant.
	TenantTypeID = "{268004ae-ef6b-4e9b-8425-127220d84719}"
	csomPath     = "/_vti_bin/client.svc/ProcessQuery"
)

// csomErrorInfoT is the ErrorInfo object of a ProcessQuery answer.
type csomErrorInfoT struct {
	ErrorMessage  string `json:"ErrorMessage"`
	ErrorTypeName string `json:"ErrorTypeName"`
	ErrorCode     int64  `json:"ErrorCode"`
}

// csomErrorInfo reads the ErrorInfo of the first element of a ProcessQuery
// answer; nil means no error.
func csomErrorInfo(body []byte) (*csomErrorInfoT, error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(body, &arr); err != nil {
		return nil, err
	}
	if len(arr) == 0 {
		return nil, fmt.Errorf("empty ProcessQuery answer")
	}
	var head struct {
		ErrorInfo *csomErrorInfoT `json:"ErrorInfo"`
	}
	if err := json.Unmarshal(arr[0], &head); err != nil {
		return nil, fmt.Errorf("ProcessQuery header: %w", err)
	}
	return head.ErrorInfo, nil
}

// ProcessQuery posts a CSOM request that only reads and returns the
// answer's elements (header first). A non-null ErrorInfo is an error.
func (c *Client) ProcessQuery(ctx context.Context, body string) ([]json.RawMessage, error) {
	return c.processQuery(ctx, body, true)
}

// processWrite posts a CSOM request that changes something: it is not
// retried after a 5xx.
func (c *Client) processWrite(ctx context.Context, body string) ([]json.RawMessage, error) {
	return c.processQuery(ctx, body, false)
}

func (c *Client) processQuery(ctx context.Context, body string, readOnly bool) ([]json.RawMessage, error) {
	u := strings.TrimRight(c.o.Endpoints.SharePointAdmin, "/") + csomPath
	name := endpointName(http.MethodPost, u)
	if err := c.sharePointCredential(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	h := http.Header{
		"Content-Type": {"text/xml"},
		"Accept":       {"application/json;odata=verbose"},
	}
	resp, err := c.send(ctx, request{aud: AudienceSharePoint, method: http.MethodPost, url: u, body: []byte(body), header: h, readOnly: readOnly})
	if err != nil {
		return nil, err
	}
	var arr []json.RawMessage
	if err := decodeJSON(name, resp.body, &arr); err != nil {
		return nil, err
	}
	info, err := csomErrorInfo(resp.body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if info != nil {
		return nil, &APIError{Endpoint: name, Status: resp.status, Code: info.ErrorTypeName, Message: info.ErrorMessage}
	}
	return arr, nil
}

// sharePointCredential refuses, before anything is sent, a SharePoint
// token the service would refuse: one obtained with a client secret. A
// token that does not say how it was obtained is sent.
func (c *Client) sharePointCredential(ctx context.Context) error {
	tok, err := c.o.Tokens.Token(ctx, c.o.Endpoints.Scope(AudienceSharePoint))
	if err != nil {
		return nil // send reports it
	}
	if cl, err := decodeClaims(tok); err == nil && cl.credential() == CredentialSecret {
		return ErrSecretToken
	}
	return nil
}

// csomObject returns the element whose _ObjectType_ is objType. An
// element whose _ObjectType_ is not a string is an error: it might be the
// object asked for.
func csomObject(endpoint string, arr []json.RawMessage, objType string) (json.RawMessage, error) {
	var r reader
	for i, el := range arr {
		el = bytes.TrimSpace(el)
		if len(el) == 0 || el[0] != '{' {
			continue
		}
		r.item(endpoint, csomElementSchema, el, i)
		t := r.str(csomObjectType)
		if err := r.err(); err != nil {
			return nil, shapeError(err)
		}
		if t == objType {
			return el, nil
		}
	}
	return nil, fmt.Errorf("%s: answer holds no %s object", endpoint, objType)
}

var (
	csomElementSchema = newSchema("element")
	csomObjectType    = csomElementSchema.str("_ObjectType_")
	// csomObjectIdentity names the object for a later request's Identity path.
)

// csomRequest assembles a Request document.
func csomRequest(actions, objectPaths string) string {
	return `<Request AddExpandoFieldTypeSuffix="true" SchemaVersion="15.0.0.0" LibraryVersion="16.0.0.0" ApplicationName="sharedrift" xmlns="` +
		csomNamespace + `"><Actions>` + actions + `</Actions><ObjectPaths>` + objectPaths + `</ObjectPaths></Request>`
}

func csomProperties(props []string) string {
	var b strings.Builder
	b.WriteString("<Properties>")
	for _, p := range props {
		fmt.Fprintf(&b, `<Property Name="%s" ScalarProperty="true"/>`, xmlEscape(p))
	}
	b.WriteString("</Properties>")
	return b.String()
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// TenantQueryXML reads the named scalar properties of the Tenant object.
func TenantQueryXML(props []string) string {
	return csomRequest(
		`<ObjectPath Id="2" ObjectPathId="1"/><Query Id="3" ObjectPathId="1"><Query SelectAllProperties="false">`+csomProperties(props)+`</Query></Query>`,
		`<Constructor Id="1" TypeId="`+TenantTypeID+`"/>`)
}

// SitesQueryXML reads one page of GetSitePropertiesFromSharePoint; an
// empty startIndex starts from the beginning.
func SitesQueryXML(startIndex string, includeDetail bool, props []string) string {
	start := `<Parameter Type="Null"/>`
	if startIndex != "" {
		start = `<Parameter Type="String">` + xmlEscape(startIndex) + `</Parameter>`
	}
	return csomRequest(
		`<ObjectPath Id="2" ObjectPathId="1"/><ObjectPath Id="4" ObjectPathId="3"/>`+
			`<Query Id="5" ObjectPathId="3"><Query SelectAllProperties="false"><Properties><Property Name="NextStartIndexFromSharePoint" ScalarProperty="true"/></Properties></Query>`+
			`<ChildItemQuery SelectAllProperties="false">`+csomProperties(props)+`</ChildItemQuery></Query>`,
		`<Constructor Id="1" TypeId="`+TenantTypeID+`"/>`+
			`<Method Id="3" ParentId="1" Name="GetSitePropertiesFromSharePoint"><Parameters>`+start+
			fmt.Sprintf(`<Parameter Type="Boolean">%t</Parameter>`, includeDetail)+`</Parameters></Method>`)
}

// TenantSetPropertyXML sets one Tenant property on the object identity
// the service gave the Tenant in an earlier answer (its _ObjectIdentity_),
// as SharePoint's own clients do; typ is the property's declared CSOM type
// ("Enum" for an enumeration, "Int32", "Boolean", "String").
func TenantSetPropertyXML(identity, name, typ, value string) string {
	return csomRequest(
		`<SetProperty Id="2" ObjectPathId="1" Name="`+xmlEscape(name)+`"><Parameter Type="`+xmlEscape(typ)+`">`+xmlEscape(value)+`</Parameter></SetProperty>`,
		`<Identity Id="1" Name="`+xmlEscape(identity)+`"/>`)
}

// SiteSetPropertyXML sets one property of the SiteProperties object with
// the given identity and commits it with Update, reading back the
// operation's state.
func SiteSetPropertyXML(identity, name, typ, value string) string {
	return csomRequest(
		`<SetProperty Id="2" ObjectPathId="1" Name="`+xmlEscape(name)+`"><Parameter Type="`+xmlEscape(typ)+`">`+xmlEscape(value)+`</Parameter></SetProperty>`+
			`<ObjectPath Id="4" ObjectPathId="3"/>`+
			`<Query Id="5" ObjectPathId="3"><Query SelectAllProperties="false"><Properties><Property Name="IsComplete" ScalarProperty="true"/>`+
			`<Property Name="PollingInterval" ScalarProperty="true"/></Properties></Query></Query>`,
		`<Method Id="3" ParentId="1" Name="Update"/><Identity Id="1" Name="`+xmlEscape(identity)+`"/>`)
}

// csomIdentity returns the _ObjectIdentity_ of an answer element; an
// object without one cannot be written to.
func csomIdentity(endpoint string, el json.RawMessage) (string, error) {
	var o struct {
		Identity *string `json:"_ObjectIdentity_"`
	}
	if err := json.Unmarshal(el, &o); err != nil {
		return "", fmt.Errorf("%s: %w", endpoint, err)
	}
	if o.Identity == nil || *o.Identity == "" {
		return "", fmt.Errorf("%s: answer carries no _ObjectIdentity_ to write to", endpoint)
	}
	return *o.Identity, nil
}

// tenantIdentity reads the Tenant object's identity.
func (c *Client) tenantIdentity(ctx context.Context) (string, error) {
	arr, err := c.ProcessQuery(ctx, TenantQueryXML(nil))
	if err != nil {
		return "", err
	}
	obj, err := csomObject(epCSOMTenant, arr, csomTenantType)
	if err != nil {
		return "", err
	}
	return csomIdentity(epCSOMTenant, obj)
}
