package m365test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
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
}

type csomParam struct {
	Type  string `xml:"Type,attr"`
	Value string `xml:",chardata"`
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

func csomError(status int, typeName, msg string) *reply {
	b, _ := json.Marshal([]any{map[string]any{
		"SchemaVersion": "15.0.0.0", "LibraryVersion": csomLibVersion,
		"ErrorInfo": map[string]any{"ErrorMessage": msg, "ErrorValue": nil, "TraceCorrelationId": "00000000-0000-0000-0000-000000000003",
			"ErrorCode": -2147024809, "ErrorTypeName": typeName},
		"TraceCorrelationId": "00000000-0000-0000-0000-000000000003",
	}})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

// csomTarget is what an object path resolves to.
type csomTarget struct {
	kind  string // "tenant", "sites", "site"
	start int    // sites: page start
	site  map[string]any
}

func (s *Server) csom(method string, body []byte) *reply {
	if method != http.MethodPost {
		return csomError(http.StatusMethodNotAllowed, "System.NotSupportedException", "ProcessQuery accepts POST only")
	}
	req, err := parseCSOM(body)
	if err != nil {
		return csomError(http.StatusBadRequest, "Microsoft.SharePoint.Client.InvalidClientQueryException", err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	paths := map[string]csomNode{}
	for _, p := range req.ObjectPaths.Items {
		paths[p.ID] = p
	}
	out := []any{map[string]any{"SchemaVersion": "15.0.0.0", "LibraryVersion": csomLibVersion, "ErrorInfo": nil, "TraceCorrelationId": "00000000-0000-0000-0000-000000000003"}}
	for _, a := range req.Actions.Items {
		target, err := s.resolve(paths, a.ObjectPathID, 0)
		if err != nil {
			return csomError(http.StatusOK, "Microsoft.SharePoint.Client.InvalidClientQueryException", err.Error())
		}
		id, _ := strconv.Atoi(a.ID)
		switch a.XMLName.Local {
		case "ObjectPath":
			out = append(out, id, map[string]any{"IsNull": target == nil})
		case "Query":
			v, err := s.csomQuery(target)
			if err != nil {
				return csomError(http.StatusOK, "Microsoft.SharePoint.Client.ServerException", err.Error())
			}
			out = append(out, id, v)
		case "SetProperty":
			if len(a.Parameter) != 1 {
				return csomError(http.StatusOK, "Microsoft.SharePoint.Client.InvalidClientQueryException", "SetProperty needs one Parameter")
			}
			v, err := csomValue(a.Parameter[0])
			if err != nil {
				return csomError(http.StatusOK, "Microsoft.SharePoint.Client.InvalidClientQueryException", err.Error())
			}
			obj := target.site
			if target.kind == "tenant" {
				obj = s.tenantObject()
			}
			if obj == nil {
				return csomError(http.StatusOK, "Microsoft.SharePoint.Client.ServerException", "SetProperty on an object that cannot be changed")
			}
			obj[a.Name] = v
		case "Method":
			if a.Name != "Update" {
				return csomError(http.StatusOK, "Microsoft.SharePoint.Client.InvalidClientQueryException", "unsupported method "+a.Name)
			}
			// Site updates return an SpoOperation.
			out = append(out, id, map[string]any{"_ObjectType_": "Microsoft.Online.SharePoint.TenantAdministration.SpoOperation", "IsComplete": true})
		default:
			return csomError(http.StatusOK, "Microsoft.SharePoint.Client.InvalidClientQueryException", "unsupported action "+a.XMLName.Local)
		}
	}
	return jsonReply(http.StatusOK, out)
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
		if t := s.tenantObject(); t != nil && t["_ObjectIdentity_"] == p.Name {
			return &csomTarget{kind: "tenant"}, nil
		}
		return nil, fmt.Errorf("object identity %q not found", p.Name)
	case "Method":
		parent, err := s.resolve(paths, p.ParentID, depth+1)
		if err != nil {
			return nil, err
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
			want := strings.TrimRight(strings.ToLower(params[0].Value), "/")
			for _, it := range s.siteList() {
				if m, ok := it.(map[string]any); ok && strings.TrimRight(strings.ToLower(fmt.Sprint(m["Url"])), "/") == want {
					return &csomTarget{kind: "site", site: m}, nil
				}
			}
			return nil, fmt.Errorf("cannot get site %s", params[0].Value)
		}
		return nil, fmt.Errorf("unknown method %s", p.Name)
	}
	return nil, fmt.Errorf("unsupported object path %s", p.XMLName.Local)
}

func (s *Server) csomQuery(t *csomTarget) (any, error) {
	switch t.kind {
	case "tenant":
		obj := s.tenantObject()
		if obj == nil {
			return nil, fmt.Errorf("tenant object missing from fixture")
		}
		return obj, nil
	case "site":
		return t.site, nil
	case "sites":
		if s.gen != nil {
			return s.gen.csomSites(t.start), nil
		}
		all := s.siteList()
		start := min(t.start, len(all))
		end := min(start+s.opts.PageSize, len(all))
		var next any
		if end < len(all) {
			next = strconv.Itoa(end)
		}
		items := make([]any, 0, end-start)
		for _, it := range all[start:end] {
			if m, ok := it.(map[string]any); ok {
				if _, has := m["_ObjectType_"]; !has {
					m["_ObjectType_"] = sitePropsType
				}
			}
			items = append(items, it)
		}
		return map[string]any{"_ObjectType_": sitesEnumType, "NextStartIndexFromSharePoint": next, "_Child_Items_": items}, nil
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
