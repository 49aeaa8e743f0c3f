package m365test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

const (
	csomNS         = "http://schemas.microsoft.com/sharepoint/clientquery/2009"
	tenantTypeID   = "{268004ae-ef6b-4e9b-8425-127220d84719}"
	tenantObjType  = "Microsoft.Online.SharePoint.TenantAdministration.Tenant"
	sitesEnumType  = "Microsoft.Online.SharePoint.TenantAdministration.SPOSitePropertiesEnumerable"
	sitePropsType  = "Microsoft.Online.SharePoint.TenantAdministration.SiteProperties"
	csomTenantKey  = "sharepoint/tenant"
	csomSitesKey   = "sharepoint/sites"
	csomLibVersion = "16.0.25000.12001"
)

type csomRequest struct {
	XMLName     xml.Name `xml:"Request"`
	Actions     csomList `xml:"Actions"`
	ObjectPaths csomList `xml:"ObjectPaths"`
}

type csomList struct {
	Items []csomNode `xml:",any"`
}

type csomNode struct {
	XMLName      xml.Name
	ID           string      `xml:"Id,attr"`
	ObjectPathID string      `xml:"ObjectPathId,attr"`
	ParentID     string      `xml:"ParentId,attr"`
	Name         string      `xml:"Name,attr"`
	TypeID       string      `xml:"TypeId,attr"`
	Parameter    []csomParam `xml:"Parameter"`
	Parameters   struct {
		Parameter []csomParam `xml:"Parameter"`
	} `xml:"Parameters"`
	// Query and ChildItemQuery are a Query action's selections: of the
	// object, and of each item of a collection object.
	Query          *csomSelect `xml:"Query"`
	ChildItemQuery *csomSelect `xml:"ChildItemQuery"`
}

type csomParam struct {
	Type  string `xml:"Type,attr"`
	Value string `xml:",chardata"`
}

// csomSelect is what a query asks of an object.
type csomSelect struct {
	SelectAll  string `xml:"SelectAllProperties,attr"`
	Properties []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Properties>Property"`
}

// parseCSOM decodes and checks a Request document.
func parseCSOM(body []byte) (*csomRequest, error) {
	var req csomRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("malformed request XML: %w", err)
	}
	if req.XMLName.Space != csomNS {
		return nil, fmt.Errorf("request namespace %q, expected %q", req.XMLName.Space, csomNS)
	}
	if len(req.Actions.Items) == 0 {
		return nil, fmt.Errorf("request has no actions")
	}
	return &req, nil
}

// csomOperation names a request for faults: the method called on the
// tenant, or "Tenant" for a plain tenant query or write.
func csomOperation(body []byte) string {
	req, err := parseCSOM(body)
	if err != nil {
		return "Invalid"
	}
	for _, p := range req.ObjectPaths.Items {
		if p.XMLName.Local == "Method" {
			return p.Name
		}
	}
	return "Tenant"
}

// csomError is a ProcessQuery answer carrying ErrorInfo. The service
// answers a request it cannot carry out with HTTP 200 and the error in
// the body; status is other than 200 only for what happens before
// ProcessQuery runs (throttling, a fault).
func csomError(status int, typeName, msg string) *reply {
	body := csomEncode([]any{map[string]any{
		"SchemaVersion": "15.0.0.0", "LibraryVersion": csomLibVersion,
		"ErrorInfo": map[string]any{"ErrorMessage": msg, "ErrorValue": nil, "TraceCorrelationId": csomTrace,
			"ErrorCode": -2147024809, "ErrorTypeName": typeName},
		"TraceCorrelationId": csomTrace,
	}})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: body}
}

const (
	csomTrace = "00000000-0000-0000-0000-000000000003"
	// csomServerType prefixes every object identity of the tenant admin
	// service ("<trace>|908bed80-…:<tenant id>\nTenant" in recorded answers).
	csomServerType = "908bed80-a04a-4433-b4a0-883d9847d110"
	spoOperation   = "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation"
)

// csomPropertyTypes are the declared CSOM types of the Tenant and
// SiteProperties properties sharedrift writes: SetProperty must name the
// declared type (the service's own clients send "Enum" for enumerations).
var csomPropertyTypes = map[string]string{
	"SharingCapability": "Enum", "ODBSharingCapability": "Enum", "SharingDomainRestrictionMode": "Enum",
	"DefaultSharingLinkType": "Enum", "DefaultLinkPermission": "Enum", "FileAnonymousLinkType": "Enum",
	"FolderAnonymousLinkType":           "Enum",
	"RequireAnonymousLinksExpireInDays": "Int32", "ExternalUserExpireInDays": "Int32", "EmailAttestationReAuthDays": "Int32",
	"PreventExternalUsersFromResharing": "Boolean", "RequireAcceptingAccountMatchInvitedAccount": "Boolean",
	"ExternalUserExpirationRequired": "Boolean", "EmailAttestationRequired": "Boolean",
	"SharingAllowedDomainList": "String", "SharingBlockedDomainList": "String",
}

// csomTarget is what an object path resolves to.
type csomTarget struct {
	kind  string // "tenant", "sites", "site", "operation"
	start int    // sites: page start
	site  map[string]any
	// identity says the path names the object by its identity, the only
	// path SetProperty takes.
	identity bool
}

func (s *Server) csom(method string, body []byte) *reply {
	if method != http.MethodPost {
		return csomError(http.StatusMethodNotAllowed, "System.NotSupportedException", "ProcessQuery accepts POST only")
	}
	req, err := parseCSOM(body)
	if err != nil {
		return csomError(http.StatusOK, "System.Xml.Schema.XmlSchemaValidationException", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	paths := map[string]csomNode{}
	for _, p := range req.ObjectPaths.Items {
		paths[p.ID] = p
	}
	// A site's changes take effect when Update runs.
	pending := map[string]map[string]any{}
	out := []any{map[string]any{"SchemaVersion": "15.0.0.0", "LibraryVersion": csomLibVersion, "ErrorInfo": nil, "TraceCorrelationId": csomTrace}}
	for _, a := range req.Actions.Items {
		target, err := s.resolve(paths, a.ObjectPathID, 0)
		if err != nil {
			return csomError(http.StatusOK, csomInvalidQuery, err.Error())
		}
		id, _ := strconv.Atoi(a.ID)
		switch a.XMLName.Local {
		case "ObjectPath":
			if target.kind == "operation" {
				s.commit(target, pending)
			}
			out = append(out, id, map[string]any{"IsNull": target == nil})
		case "ObjectIdentityQuery":
			out = append(out, id, map[string]any{"_ObjectIdentity_": s.identityOf(target)})
		case "Query":
			if target.kind == "operation" {
				s.commit(target, pending)
			}
			v, err := s.csomQuery(target, a)
			if err != nil {
				return csomError(http.StatusOK, csomServerError, err.Error())
			}
			out = append(out, id, v)
		case "SetProperty":
			if rr := s.setProperty(target, a, pending); rr != nil {
				return rr
			}
		case "Method":
			if a.Name != "Update" || target.kind != "site" {
				return csomError(http.StatusOK, csomInvalidQuery, "unsupported method "+a.Name)
			}
			s.commit(&csomTarget{kind: "operation", site: target.site}, pending)
			out = append(out, id, s.operation(target.site))
		default:
			return csomError(http.StatusOK, csomInvalidQuery, "unsupported action "+a.XMLName.Local)
		}
	}
	return &reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: csomEncode(out)}
}

// setProperty checks and applies (a tenant) or stages (a site) one
// SetProperty.
func (s *Server) setProperty(target *csomTarget, a csomNode, pending map[string]map[string]any) *reply {
	if len(a.Parameter) != 1 {
		return csomError(http.StatusOK, csomInvalidQuery, "SetProperty needs one Parameter")
	}
	if !target.identity {
		return csomError(http.StatusOK, csomInvalidQuery, fmt.Sprintf(csomNeedsIdentity, a.Name))
	}
	obj := target.site
	if target.kind == "tenant" {
		obj = s.tenantObject()
	}
	if obj == nil || (target.kind != "tenant" && target.kind != "site") {
		return csomError(http.StatusOK, csomServerError, "SetProperty on an object that cannot be changed")
	}
	declared := csomTenantProperties
	if target.kind == "site" {
		declared = csomSiteProperties
	}
	if _, ok := obj[a.Name]; !ok && !declared[a.Name] {
		return csomError(http.StatusOK, csomInvalidQuery, noSuchProperty(a.Name).Error())
	}
	if want, ok := csomPropertyTypes[a.Name]; ok && a.Parameter[0].Type != want {
		return csomError(http.StatusOK, csomInvalidQuery, fmt.Sprintf(csomWrongType, a.Name, want, a.Parameter[0].Type))
	}
	v, err := csomValue(a.Parameter[0])
	if err != nil {
		return csomError(http.StatusOK, csomInvalidQuery, err.Error())
	}
	if target.kind == "tenant" {
		obj[a.Name] = v
		return nil
	}
	key := siteIdentityURL(target.site)
	if pending[key] == nil {
		pending[key] = map[string]any{}
	}
	pending[key][a.Name] = v
	return nil
}

// commit applies a site's staged changes (its Update ran); changes
// never committed are dropped with the request, as in the service.
func (s *Server) commit(t *csomTarget, pending map[string]map[string]any) {
	key := siteIdentityURL(t.site)
	for name, v := range pending[key] {
		t.site[name] = v
	}
	delete(pending, key)
}

func (s *Server) operation(site map[string]any) map[string]any {
	return map[string]any{"_ObjectType_": spoOperation,
		"_ObjectIdentity_": csomTrace + "|" + csomServerType + ":" + s.meta.TenantID + "\nSpoOperation\nSetSite\n0\n" + siteIdentityURL(site) + "\n00000000-0000-0000-0000-000000000000",
		"IsComplete":       true, "PollingInterval": 15000}
}

func (s *Server) tenantObject() map[string]any {
	m, _ := s.docs[csomTenantKey].(map[string]any)
	return m
}

func (s *Server) siteList() []any {
	switch v := s.docs[csomSitesKey].(type) {
	case []any:
		return v
	case map[string]any:
		items, _ := v["_Child_Items_"].([]any)
		return items
	}
	return nil
}

// siteIdentityURL is a site URL as its identity writes it (encoded,
// lower-case escapes).
func siteIdentityURL(site map[string]any) string {
	u, _ := site["Url"].(string)
	return strings.ToLower(url.QueryEscape(u))
}

// identityOf returns the object identity of a tenant or site: the one the
// fixture carries, or one in the service's form.
func (s *Server) identityOf(t *csomTarget) any {
	var obj map[string]any
	var tail string
	switch t.kind {
	case "tenant":
		obj, tail = s.tenantObject(), "Tenant"
	case "site":
		obj, tail = t.site, "SiteProperties\n"+siteIdentityURL(t.site)
	default:
		return nil
	}
	if id, ok := obj["_ObjectIdentity_"].(string); ok && id != "" {
		return id
	}
	return csomTrace + "|" + csomServerType + ":" + s.meta.TenantID + "\n" + tail
}

func (s *Server) findSite(siteURL string) map[string]any {
	if s.gen != nil {
		return s.gen.csomSiteByURL(siteURL)
	}
	want := strings.TrimRight(strings.ToLower(siteURL), "/")
	for _, it := range s.siteList() {
		if m, ok := it.(map[string]any); ok && strings.TrimRight(strings.ToLower(fmt.Sprint(m["Url"])), "/") == want {
			return m
		}
	}
	return nil
}

func (s *Server) resolve(paths map[string]csomNode, id string, depth int) (*csomTarget, error) {
	p, ok := paths[id]
	if !ok || depth > 8 {
		return nil, fmt.Errorf("object path %q is not defined", id)
	}
	switch p.XMLName.Local {
	case "Constructor":
		if !strings.EqualFold(p.TypeID, tenantTypeID) {
			return nil, fmt.Errorf("unknown type %s", p.TypeID)
		}
		return &csomTarget{kind: "tenant"}, nil
	case "Identity":
		// "<trace>|908bed80-…:<tenant id>\nTenant" or
		// "…\nSiteProperties\n<encoded url>"; the trace part differs from
		// answer to answer.
		_, rest, _ := strings.Cut(p.Name, "|")
		prefix := csomServerType + ":" + s.meta.TenantID + "\n"
		kind, ok := strings.CutPrefix(rest, prefix)
		switch {
		case ok && kind == "Tenant" && s.tenantObject() != nil:
			return &csomTarget{kind: "tenant", identity: true}, nil
		case ok && strings.HasPrefix(kind, "SiteProperties\n"):
			u, err := url.QueryUnescape(strings.TrimPrefix(kind, "SiteProperties\n"))
			if site := s.findSite(u); err == nil && site != nil {
				return &csomTarget{kind: "site", site: site, identity: true}, nil
			}
		}
		return nil, fmt.Errorf("object identity %q not found", p.Name)
	case "Method":
		parent, err := s.resolve(paths, p.ParentID, depth+1)
		if err != nil {
			return nil, err
		}
		if p.Name == "Update" && parent.kind == "site" {
			return &csomTarget{kind: "operation", site: parent.site}, nil
		}
		if parent.kind != "tenant" {
			return nil, fmt.Errorf("method %s on a non-tenant object", p.Name)
		}
		params := p.Parameters.Parameter
		switch p.Name {
		case "GetSitePropertiesFromSharePoint":
			if len(params) != 2 {
				return nil, fmt.Errorf("GetSitePropertiesFromSharePoint takes 2 parameters, got %d", len(params))
			}
			start := 0
			if params[0].Type != "Null" && params[0].Value != "" {
				n, err := strconv.Atoi(params[0].Value)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("invalid start index %q", params[0].Value)
				}
				start = n
			}
			return &csomTarget{kind: "sites", start: start}, nil
		case "GetSitePropertiesByUrl":
			if len(params) < 1 {
				return nil, fmt.Errorf("GetSitePropertiesByUrl needs a url")
			}
			if site := s.findSite(params[0].Value); site != nil {
				return &csomTarget{kind: "site", site: site}, nil
			}
			return nil, fmt.Errorf("cannot get site %s", params[0].Value)
		}
		return nil, fmt.Errorf("unknown method %s", p.Name)
	}
	return nil, fmt.Errorf("unsupported object path %s", p.XMLName.Local)
}

// csomProject answers a query of obj: its type and identity, and the
// properties asked for (all of them when SelectAllProperties is true). A
// property the type does not have (declared lists the known ones) is an
// error, as in the service; a known one the fixture lacks is left out.
func csomProject(obj map[string]any, sel *csomSelect, identity any, declared map[string]bool) (map[string]any, error) {
	n := 2
	if sel != nil {
		n += len(sel.Properties)
	}
	out := make(map[string]any, n)
	if t, ok := obj["_ObjectType_"]; ok {
		out["_ObjectType_"] = t
	}
	if identity != nil {
		out["_ObjectIdentity_"] = identity
	}
	if sel == nil {
		return out, nil
	}
	if sel.SelectAll == "true" {
		for k, v := range obj {
			out[k] = v
		}
		return out, nil
	}
	for _, p := range sel.Properties {
		v, ok := obj[p.Name]
		switch {
		case ok:
			out[p.Name] = v
		case !declared[p.Name]:
			return nil, noSuchProperty(p.Name)
		}
	}
	return out, nil
}

func (s *Server) csomQuery(t *csomTarget, a csomNode) (any, error) {
	switch t.kind {
	case "tenant":
		obj := s.tenantObject()
		if obj == nil {
			return nil, fmt.Errorf("tenant object missing from fixture")
		}
		return csomProject(obj, a.Query, s.identityOf(t), csomTenantProperties)
	case "site":
		if _, has := t.site["_ObjectType_"]; !has {
			t.site["_ObjectType_"] = sitePropsType
		}
		return csomProject(t.site, a.Query, s.identityOf(t), csomSiteProperties)
	case "operation":
		op := s.operation(t.site)
		return csomProject(op, a.Query, op["_ObjectIdentity_"], nil)
	case "sites":
		var page map[string]any
		if s.gen != nil {
			page, _ = s.gen.csomSites(t.start).(map[string]any)
		} else {
			all := s.siteList()
			start := min(t.start, len(all))
			end := min(start+s.opts.PageSize, len(all))
			var next any
			if end < len(all) {
				next = strconv.Itoa(end)
			}
			page = map[string]any{"_ObjectType_": sitesEnumType, "NextStartIndexFromSharePoint": next, "_Child_Items_": all[start:end]}
		}
		out, err := csomProject(page, a.Query, nil, nil)
		if err != nil {
			return nil, err
		}
		items, _ := page["_Child_Items_"].([]any)
		projected := make([]any, 0, len(items))
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			if _, has := m["_ObjectType_"]; !has {
				m["_ObjectType_"] = sitePropsType
			}
			p, err := csomProject(m, a.ChildItemQuery, s.identityOf(&csomTarget{kind: "site", site: m}), csomSiteProperties)
			if err != nil {
				return nil, err
			}
			projected = append(projected, p)
		}
		out["_Child_Items_"] = projected
		return out, nil
	}
	return nil, fmt.Errorf("nothing to query")
}

// csomValue converts a SetProperty parameter.
func csomValue(p csomParam) (any, error) {
	switch p.Type {
	case "Int32", "Int64", "Enum":
		n, err := strconv.ParseInt(strings.TrimSpace(p.Value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parameter %q is not an integer", p.Value)
		}
		return json.Number(strconv.FormatInt(n, 10)), nil
	case "Boolean":
		b, err := strconv.ParseBool(strings.TrimSpace(p.Value))
		if err != nil {
			return nil, fmt.Errorf("parameter %q is not a boolean", p.Value)
		}
		return b, nil
	case "String":
		return p.Value, nil
	case "Null":
		return nil, nil
	}
	return nil, fmt.Errorf("unsupported parameter type %q", p.Type)
}
