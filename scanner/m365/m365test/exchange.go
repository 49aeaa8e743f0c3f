package m365test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type cmdletInput struct {
	CmdletInput struct {
		CmdletName string                     `json:"CmdletName"`
		Parameters map[string]json.RawMessage `json:"Parameters"`
	} `json:"CmdletInput"`
}

const exchangeContext = "https://outlook.office365.com/adminapi/beta/%s/$metadata#Collection(Exchange.GenericHashTable)"

// exchange serves InvokeCommand for the cmdlets the collector and
// remediation use.
func (s *Server) exchange(method, path, rawQuery string, h http.Header, body []byte) *reply {
	want := "/adminapi/beta/" + s.meta.TenantID + "/InvokeCommand"
	if path != want {
		return graphError(http.StatusNotFound, "NotFound", "unknown admin API path "+path)
	}
	if method != http.MethodPost {
		return graphError(http.StatusMethodNotAllowed, "MethodNotAllowed", "InvokeCommand accepts POST only")
	}
	if !strings.HasSuffix(strings.ToLower(h.Get("X-AnchorMailbox")), "@"+strings.ToLower(s.meta.TenantID)) {
		return graphError(http.StatusBadRequest, "BadRequest", "The X-AnchorMailbox header is missing or does not name this tenant.")
	}
	var in cmdletInput
	if err := json.Unmarshal(body, &in); err != nil || in.CmdletInput.CmdletName == "" {
		return graphError(http.StatusBadRequest, "BadRequest", "The request body must be {\"CmdletInput\":{\"CmdletName\":...,\"Parameters\":{...}}}.")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid query string")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := in.CmdletInput.CmdletName
	params := in.CmdletInput.Parameters
	switch name {
	case "Get-SharingPolicy", "Get-OrganizationRelationship", "Get-RemoteDomain":
		return s.exchangeList(path, name, q)
	case "Set-SharingPolicy", "Set-OrganizationRelationship", "Remove-OrganizationRelationship":
		noun := strings.SplitN(name, "-", 2)[1]
		key := "exchange/Get-" + noun
		doc, _ := s.docs[key].(map[string]any)
		items, _ := doc["value"].([]any)
		var ident string
		if raw, ok := params["Identity"]; !ok || json.Unmarshal(raw, &ident) != nil || ident == "" {
			return exchangeError(name, "A positional parameter cannot be found: Identity is required.")
		}
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok || (m["Name"] != ident && m["Identity"] != ident) {
				continue
			}
			if strings.HasPrefix(name, "Remove-") {
				doc["value"] = append(items[:i:i], items[i+1:]...)
			} else {
				for k, raw := range params {
					if k == "Identity" || k == "Confirm" {
						continue
					}
					v, err := decodeAny(raw)
					if err != nil {
						return exchangeError(name, "Cannot bind parameter '"+k+"'.")
					}
					m[k] = v
				}
			}
			return jsonReply(http.StatusOK, map[string]any{"@odata.context": fmt.Sprintf(exchangeContext, s.meta.TenantID), "value": []any{}})
		}
		return exchangeError(name, fmt.Sprintf("The operation couldn't be performed because object '%s' couldn't be found.", ident))
	}
	return exchangeError(name, fmt.Sprintf("The term '%s' is not recognized as a name of a cmdlet, function, script file, or executable program.", name))
}

func exchangeError(cmdlet, msg string) *reply {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": "BadRequest", "message": "Error executing cmdlet",
		"details": []any{map[string]any{"code": "Context", "target": "", "message": msg}},
		"innererror": map[string]any{"message": msg, "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
			"internalException": map[string]any{"message": msg}},
		"adminapi.cmdlet": cmdlet,
	}})
	return &reply{status: http.StatusBadRequest, header: http.Header{"Content-Type": {"application/json"}}, body: b}
}

func (s *Server) exchangeList(path, cmdlet string, q url.Values) *reply {
	doc, _ := s.docs["exchange/"+cmdlet].(map[string]any)
	items, _ := doc["value"].([]any)
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return exchangeError(cmdlet, "invalid skip token")
		}
		start = n
	}
	end := min(start+s.opts.PageSize, len(items))
	page := make([]any, 0, end-start)
	for _, it := range items[start:end] {
		if m, ok := it.(map[string]any); ok {
			page = append(page, projectExact(m, q.Get("$select")))
		}
	}
	out := map[string]any{"@odata.context": fmt.Sprintf(exchangeContext, s.meta.TenantID), "value": page}
	if end < len(items) {
		nq := cloneValues(q)
		nq.Set("$skiptoken", strconv.Itoa(end))
		out["@odata.nextLink"] = s.srv.URL + path + "?" + nq.Encode()
	}
	return jsonReply(http.StatusOK, out)
}

// projectExact applies an Exchange $select (no implicit id).
func projectExact(m map[string]any, sel string) map[string]any {
	if sel == "" {
		return m
	}
	out := map[string]any{}
	for _, f := range strings.Split(sel, ",") {
		f = strings.TrimSpace(f)
		if v, ok := m[f]; ok {
			out[f] = v
		}
	}
	return out
}
