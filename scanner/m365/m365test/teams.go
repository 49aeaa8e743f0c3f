package m365test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// teamsConfigs are the Global configurations of the Skype and Teams Tenant
// Admin API the fake serves (see the collector's shapes.go for what of
// them is unconfirmed). A fixture holds each at its request path under
// teams/.
var teamsConfigs = map[string]bool{
	"TenantFederationSettings": true, "TeamsClientConfiguration": true, "TeamsMeetingPolicy": true,
}

// teamsRoleIDs are the Entra role template ids the fake lets read Teams
// settings: Global Reader, Teams Administrator, Global Administrator.
var teamsRoleIDs = []string{
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451", "69091246-20e8-4a56-aa4d-066075b2a7a8", "62e90394-69f5-4237-9190-012177145e10",
}

// teams serves GET /Skype.Policy/configurations/{name}/configuration/Global.
// A tenant whose fixture has no teams/ files has no Teams: every
// configuration is refused as teamsNotLicensed says.
func (s *Server) teams(method, path, rawQuery string, h http.Header) *reply {
	name, ok := strings.CutPrefix(path, "/Skype.Policy/configurations/")
	name, global := strings.CutSuffix(name, "/configuration/Global")
	if !ok || !global || !teamsConfigs[name] {
		return teamsError(http.StatusNotFound, "NotFound", "unknown configuration path "+path)
	}
	if method != http.MethodGet {
		return teamsError(http.StatusMethodNotAllowed, "MethodNotAllowed", "the fake serves reads only")
	}
	if rawQuery != "" {
		return teamsError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgTeamsQuery, rawQuery))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasPrefix("teams/") {
		return teamsNotLicensed()
	}
	doc, ok := s.docs["teams"+path]
	if !ok {
		return teamsError(http.StatusNotFound, "NotFound", "no such configuration: "+name)
	}
	return jsonReply(http.StatusOK, doc)
}

// hasPrefix reports whether any fixture document's key starts with p.
func (s *Server) hasPrefix(p string) bool {
	for k := range s.docs {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// fabric serves GET /v1/admin/tenantsettings, paging with
// continuationToken and continuationUri as the Fabric REST API documents.
// A fixture without fabric/ files is a tenant without Power BI.
func (s *Server) fabric(method, path, rawQuery string) *reply {
	if path != "/v1/admin/tenantsettings" {
		return fabricError(http.StatusNotFound, "EntityNotFound", "The requested resource could not be found")
	}
	if method != http.MethodGet {
		return fabricError(http.StatusMethodNotAllowed, "MethodNotAllowed", "the fake serves reads only")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fabricError(http.StatusBadRequest, "InvalidParameter", "invalid query string")
	}
	for k := range q {
		if k != "continuationToken" {
			return fabricError(http.StatusBadRequest, "InvalidParameter", fmt.Sprintf(msgFabricQuery, k))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, ok := s.docs["fabric/v1/admin/tenantsettings"].(map[string]any)
	if !ok {
		return fabricNotLicensed()
	}
	items, _ := doc["value"].([]any)
	start := 0
	if tok := q.Get("continuationToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return fabricError(http.StatusBadRequest, "InvalidContinuationToken", "The continuation token is invalid")
		}
		start = n
	}
	end := min(start+s.opts.PageSize, len(items))
	out := map[string]any{"value": items[start:end]}
	if end < len(items) {
		tok := strconv.Itoa(end)
		out["continuationToken"] = tok
		out["continuationUri"] = s.srv.URL + path + "?continuationToken=" + url.QueryEscape(tok)
	}
	return jsonReply(http.StatusOK, out)
}

// fabricError is the Fabric REST API's ErrorResponse.
func fabricError(status int, code, msg string) *reply {
	b, _ := json.Marshal(map[string]any{"requestId": "00000000-0000-0000-0000-000000000003", "errorCode": code, "message": msg})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, body: b}
}
