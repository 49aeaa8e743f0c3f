package m365test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SharePoint REST on the tenant's site hosts. The fake serves one method,
// the ShareLink of a list item, as far as the collector uses it: update
// the expiry of an existing Anyone link named by its shareId (see
// scanner/m365/shapes.go for what is assumed about the service).

var shareLinkPath = regexp.MustCompile(`^(.*)/_api/web/lists\(guid'([0-9a-fA-F-]{36})'\)/items\((\d+)\)/ShareLink$`)

// spRESTError is SharePoint REST's error body in odata=nometadata.
func spRESTError(status int, code, msg string) *reply {
	b, _ := json.Marshal(map[string]any{"odata.error": map[string]any{
		"code": code, "message": map[string]any{"lang": "en-US", "value": msg},
	}})
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json;odata=nometadata;charset=utf-8"}}, body: b}
}

func badArgument(msg string) *reply {
	return spRESTError(http.StatusBadRequest, "-1, Microsoft.SharePoint.Client.InvalidClientQueryException", msg)
}

// shareLinkSettingsProps are the properties of SP.Sharing.ShareLinkSettings.
var shareLinkSettingsProps = map[string]bool{
	"allowAnonymousAccess": true, "applicationLink": true, "description": true, "embeddable": true, "expiration": true,
	"inviteesToRemove": true, "limitUseToApplication": true, "linkKind": true, "nonDefaultLink": true, "password": true,
	"passwordProtected": true, "restrictShareMembership": true, "role": true, "shareId": true, "trackLinkUsers": true,
	"updatePassword": true, "scope": true, "nav": true, "restrictToExistingRelationships": true,
}

var shareLinkRequestProps = map[string]bool{"createLink": true, "emailData": true, "expiration": true, "linkKind": true, "peoplePickerInput": true, "settings": true}

func unknownProp(obj map[string]any, known map[string]bool, typ string) *reply {
	for k := range obj {
		if !known[k] {
			return badArgument(fmt.Sprintf("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", k, typ))
		}
	}
	return nil
}

func (s *Server) spREST(method, path, rawQuery string, h http.Header, body []byte) *reply {
	upath, err := url.PathUnescape(path)
	if err != nil {
		return badArgument("invalid path")
	}
	if m := siteGroupsPath.FindStringSubmatch(upath); m != nil {
		return s.siteGroups(method, m[1], rawQuery, h)
	}
	if m := siteUsersPath.FindStringSubmatch(upath); m != nil {
		return s.siteUsers(method, m[1], rawQuery, h)
	}
	m := shareLinkPath.FindStringSubmatch(upath)
	if m == nil {
		return spRESTError(http.StatusNotFound, "-1, System.ArgumentException", "no such endpoint: "+upath)
	}
	if method != http.MethodPost {
		return spRESTError(http.StatusMethodNotAllowed, "-1, Microsoft.SharePoint.Client.ClientServiceException", "The HTTP method '"+method+"' cannot be used to access the resource 'ShareLink'.")
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		return badArgument("The request content type must be application/json.")
	}
	sitePath, listID, itemID := m[1], strings.ToLower(m[2]), m[3]
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		return badArgument("Invalid JSON. " + err.Error())
	}
	if r := unknownProp(in, map[string]bool{"request": true}, "ShareLink parameters"); r != nil {
		return r
	}
	req, ok := in["request"].(map[string]any)
	if !ok {
		return badArgument("Cannot find resource for the request ShareLink: parameter 'request' is missing or not an object.")
	}
	if r := unknownProp(req, shareLinkRequestProps, "SP.Sharing.ShareLinkRequest"); r != nil {
		return r
	}
	settings, ok := req["settings"].(map[string]any)
	if !ok {
		return badArgument("request.settings is required")
	}
	if r := unknownProp(settings, shareLinkSettingsProps, "SP.Sharing.ShareLinkSettings"); r != nil {
		return r
	}
	if c, _ := req["createLink"].(bool); !c {
		return badArgument("request.createLink must be true to update a link")
	}
	shareID, _ := settings["shareId"].(string)
	kind, kindOK := settings["linkKind"].(float64)
	exp, expOK := settings["expiration"].(string)
	if !kindOK || !expOK {
		return badArgument("settings.linkKind (Edm.Int32) and settings.expiration (Edm.String) are required")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	driveID, driveItemID, siteURL, found := s.listItem(listID, itemID)
	if !found {
		return spRESTError(http.StatusNotFound, "-2130575338, Microsoft.SharePoint.SPException", "Item does not exist. It may have been deleted by another user.")
	}
	if su, err := url.Parse(siteURL); err != nil || !strings.EqualFold(strings.TrimRight(su.Path, "/"), strings.TrimRight(sitePath, "/")) {
		return spRESTError(http.StatusNotFound, "-1, System.ArgumentException", "List '"+listID+"' does not exist at site with URL '"+sitePath+"'.")
	}
	coll := "graph/v1.0/drives/" + driveID + "/items/" + driveItemID + "/permissions"
	doc, _ := s.docs[coll].(map[string]any)
	perms, _ := doc["value"].([]any)
	var perm map[string]any
	for _, p := range perms {
		if pm, ok := p.(map[string]any); ok && strings.EqualFold(fmt.Sprint(pm["id"]), shareID) {
			perm = pm
		}
	}
	link, _ := perm["link"].(map[string]any)
	if perm == nil || link == nil {
		return spRESTError(http.StatusNotFound, "-2147024809, System.ArgumentException", "The sharing link "+shareID+" does not exist on this item.")
	}
	want := map[string]float64{"view": 4, "edit": 5}[fmt.Sprint(link["type"])]
	if link["scope"] != "anonymous" || want == 0 || kind != want {
		return badArgument("settings.linkKind " + strconv.Itoa(int(kind)) + " does not match the kind of sharing link " + shareID)
	}
	if exp == "" {
		delete(perm, "expirationDateTime")
	} else {
		t, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			return badArgument("settings.expiration: '" + exp + "' is not an ISO 8601 date and time")
		}
		if !t.After(s.now()) {
			return badArgument("settings.expiration: the expiration date must be in the future")
		}
		perm["expirationDateTime"] = t.UTC().Format(time.RFC3339)
	}
	s.touchItem(driveID, driveItemID)
	info := map[string]any{"ShareId": shareID, "LinkKind": int(kind), "Url": link["webUrl"], "Expiration": exp, "AllowsAnonymousAccess": true}
	return jsonReply(http.StatusOK, map[string]any{"sharingLinkInfo": info})
}

// now is the tenant's time: the fixture's recorded moment when it has one.
func (s *Server) now() time.Time {
	if s.meta.Now != nil {
		return *s.meta.Now
	}
	return s.opts.Now()
}

// listItem finds the drive item whose sharepointIds name list item itemID
// of list listID.
func (s *Server) listItem(listID, itemID string) (driveID, driveItemID, siteURL string, ok bool) {
	for key, d := range s.docs {
		parts := strings.Split(key, "/") // graph v1.0 drives {d} root delta
		if len(parts) != 6 || parts[2] != "drives" || parts[4] != "root" || parts[5] != "delta" {
			continue
		}
		doc, _ := d.(map[string]any)
		items, _ := doc["value"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			ids, _ := m["sharepointIds"].(map[string]any)
			if ids != nil && strings.EqualFold(fmt.Sprint(ids["listId"]), listID) && fmt.Sprint(ids["listItemId"]) == itemID {
				return parts[3], fmt.Sprint(m["id"]), fmt.Sprint(ids["siteUrl"]), true
			}
		}
	}
	return "", "", "", false
}

// siteGroupsPath is a site's group collection (the URL is case-insensitive).
var siteGroupsPath = regexp.MustCompile(`(?i)^(.*)/_api/web/sitegroups$`)

// spGroupProps are the properties of SP.Group.
var spGroupProps = map[string]bool{
	"AllowMembersEditMembership": true, "AllowRequestToJoinLeave": true, "AutoAcceptRequestToJoinLeave": true,
	"CanCurrentUserEditMembership": true, "CanCurrentUserManageGroup": true, "CanCurrentUserViewMembership": true,
	"Description": true, "Id": true, "IsHiddenInUI": true, "LoginName": true, "OnlyAllowMembersViewMembership": true,
	"OwnerTitle": true, "PrincipalType": true, "RequestToJoinLeaveEmailSetting": true, "Title": true,
}

// spUserProps are the properties of SP.User a sitegroups answer may
// $select through $expand=Users.
var spUserProps = map[string]bool{
	"Email": true, "Expiration": true, "Id": true, "IsEmailAuthenticationGuestUser": true, "IsHiddenInUI": true,
	"IsShareByEmailGuestUser": true, "IsSiteAdmin": true, "LoginName": true, "PrincipalType": true, "Title": true,
	"UserPrincipalName": true,
}

// siteGroups answers GET {site}/_api/web/sitegroups for a generated
// tenant's site, in odata=nometadata, paged with odata.nextLink. With
// $expand=Users each group carries its members, restricted to the
// Users/<property> names of $select (all of them when $select names
// Users itself, none when $select names neither). A fixture tenant serves
// no site groups: the collector then reads each shared item's permissions.
func (s *Server) siteGroups(method, sitePath, rawQuery string, h http.Header) *reply {
	q, bad := restRead(method, "SiteGroups", rawQuery, h)
	if bad != nil {
		return bad
	}
	skip := 0
	expand := false
	var userSel []string
	allUsers := false
	for k, v := range q {
		switch k {
		case "$select":
			for _, p := range strings.Split(v[0], ",") {
				p = strings.TrimSpace(p)
				switch sub, isUser := strings.CutPrefix(p, "Users/"); {
				case p == "Users":
					allUsers = true
				case isUser:
					if !spUserProps[sub] {
						return badArgument(fmt.Sprintf("The property '%s' does not exist on type 'SP.User'. Make sure to only use property names that are defined by the type.", sub))
					}
					userSel = append(userSel, sub)
				case !spGroupProps[p]:
					return badArgument(fmt.Sprintf("The property '%s' does not exist on type 'SP.Group'. Make sure to only use property names that are defined by the type.", p))
				}
			}
		case "$expand":
			if strings.TrimSpace(v[0]) != "Users" {
				return badArgument(fmt.Sprintf("The field or property '%s' does not exist.", v[0]))
			}
			expand = true
		case "$skiptoken":
			if skip, bad = skipToken(v[0]); bad != nil {
				return bad
			}
		default:
			return badArgument("The query parameter '" + k + "' is not supported here.")
		}
	}
	if (allUsers || len(userSel) > 0) && !expand {
		return badArgument("The query to field 'Users' is not valid. The $select query string must specify the target fields and the $expand query string must contains Users.")
	}
	if expand && q.Get("$select") == "" {
		allUsers = true
	}
	if allUsers {
		userSel = []string{"LoginName", "Email", "Title"}
	}
	if s.gen == nil {
		return spRESTError(http.StatusNotFound, "-1, System.IO.FileNotFoundException", "File Not Found.")
	}
	d, ok := parseIndex(strings.TrimPrefix(sitePath, "/sites/"), "s")
	if !ok || d >= s.gen.spec.Sites || sitePath != fmt.Sprintf("/sites/s%05d", d) {
		return spRESTError(http.StatusNotFound, "-1, System.IO.FileNotFoundException", "File Not Found.")
	}
	groups := s.gen.SiteGroups(d)
	size := s.opts.PageSize
	out := []any{}
	for i := skip; i < len(groups) && len(out) < size; i++ {
		g := map[string]any{"Id": i + 1, "Title": groups[i].Title}
		if expand && len(userSel) > 0 {
			users := []any{}
			for _, u := range groups[i].Users {
				m := map[string]any{}
				for _, p := range userSel {
					switch p {
					case "LoginName":
						m[p] = u.LoginName
					case "Email":
						m[p] = u.Email
					case "Title":
						m[p] = u.Title
					default:
						m[p] = nil // not modelled by the generator
					}
				}
				users = append(users, m)
			}
			g["Users"] = users
		}
		out = append(out, g)
	}
	body := map[string]any{"value": out}
	if skip+len(out) < len(groups) {
		nq := url.Values{"$skiptoken": {"Paged=TRUE&p_ID=" + strconv.Itoa(skip+len(out))}}
		for _, k := range []string{"$select", "$expand"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		body["odata.nextLink"] = s.srv.URL + sitePath + "/_api/web/sitegroups?" + nq.Encode()
	}
	r := jsonReply(http.StatusOK, body)
	r.header.Set("Content-Type", "application/json;odata=nometadata;charset=utf-8")
	return r
}

// restRead checks what every SharePoint REST read the fake serves
// requires, a GET asking for JSON, and parses its query.
func restRead(method, resource, rawQuery string, h http.Header) (url.Values, *reply) {
	if method != http.MethodGet {
		return nil, spRESTError(http.StatusMethodNotAllowed, "-1, Microsoft.SharePoint.Client.ClientServiceException", "The HTTP method '"+method+"' cannot be used to access the resource '"+resource+"'.")
	}
	if !strings.Contains(strings.ToLower(h.Get("Accept")), "application/json") {
		return nil, badArgument("The fake serves JSON only: send Accept: application/json;odata=nometadata.")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badArgument("invalid query string: " + err.Error())
	}
	return q, nil
}

// skipToken reads the position a $skiptoken the fake sent names.
func skipToken(v string) (int, *reply) {
	n, err := strconv.Atoi(strings.TrimPrefix(v, "Paged=TRUE&p_ID="))
	if err != nil || n < 0 {
		return 0, badArgument("invalid $skiptoken " + v)
	}
	return n, nil
}

// siteUsersPath is a site's user collection (the URL is case-insensitive).
var siteUsersPath = regexp.MustCompile(`(?i)^(.*)/_api/web/siteusers$`)

// SiteUsersFixture is where a fixture tenant keeps a site's users: the
// request path under sharepoint/, e.g.
// sharepoint/sites/Finance/_api/web/siteusers.json (the root site's at
// sharepoint/_api/web/siteusers.json).
func SiteUsersFixture(sitePath string) string {
	if p := strings.Trim(sitePath, "/"); p != "" {
		return "sharepoint/" + p + "/_api/web/siteusers"
	}
	return "sharepoint/_api/web/siteusers"
}

// siteUsers answers GET {site}/_api/web/siteusers in odata=nometadata,
// paged with odata.nextLink: a generated site's users, or a fixture
// tenant's file for the site (a site without one is not found). $select
// restricts the properties to SP.User's; any other query option, $filter
// included, is refused: the fake does not model it.
func (s *Server) siteUsers(method, sitePath, rawQuery string, h http.Header) *reply {
	q, bad := restRead(method, "SiteUsers", rawQuery, h)
	if bad != nil {
		return bad
	}
	skip := 0
	var sel []string
	for k, v := range q {
		switch k {
		case "$select":
			for _, p := range strings.Split(v[0], ",") {
				p = strings.TrimSpace(p)
				if !spUserProps[p] {
					return badArgument(fmt.Sprintf("The property '%s' does not exist on type 'SP.User'. Make sure to only use property names that are defined by the type.", p))
				}
				sel = append(sel, p)
			}
		case "$skiptoken":
			if skip, bad = skipToken(v[0]); bad != nil {
				return bad
			}
		default:
			return badArgument("The query parameter '" + k + "' is not supported here.")
		}
	}
	var users []map[string]any
	switch {
	case s.gen != nil:
		d, ok := parseIndex(strings.TrimPrefix(sitePath, "/sites/"), "s")
		if !ok || d >= s.gen.spec.Sites || sitePath != fmt.Sprintf("/sites/s%05d", d) {
			return spRESTError(http.StatusNotFound, "-1, System.IO.FileNotFoundException", "File Not Found.")
		}
		for i, u := range s.gen.SiteUsers(d) {
			users = append(users, spUser(i+1, u))
		}
	default:
		s.mu.Lock()
		doc, ok := s.docs[SiteUsersFixture(sitePath)].(map[string]any)
		s.mu.Unlock()
		if !ok {
			return spRESTError(http.StatusNotFound, "-1, System.IO.FileNotFoundException", "File Not Found.")
		}
		for _, v := range doc["value"].([]any) {
			users = append(users, v.(map[string]any))
		}
	}
	size := s.opts.PageSize
	out := []any{}
	for i := skip; i < len(users) && len(out) < size; i++ {
		m := map[string]any{}
		for k, v := range users[i] {
			if len(sel) == 0 || slices.Contains(sel, k) {
				m[k] = v
			}
		}
		out = append(out, m)
	}
	body := map[string]any{"value": out}
	if skip+len(out) < len(users) {
		nq := url.Values{"$skiptoken": {"Paged=TRUE&p_ID=" + strconv.Itoa(skip+len(out))}}
		if v := q.Get("$select"); v != "" {
			nq.Set("$select", v)
		}
		body["odata.nextLink"] = s.srv.URL + sitePath + "/_api/web/siteusers?" + nq.Encode()
	}
	r := jsonReply(http.StatusOK, body)
	r.header.Set("Content-Type", "application/json;odata=nometadata;charset=utf-8")
	return r
}

// spUser is a generated site user as SharePoint lists it (SP.User, every
// property the fake knows).
func spUser(id int, u SiteUser) map[string]any {
	ptype := 1
	var upn any
	switch {
	case strings.HasPrefix(u.LoginName, "c:0"):
		ptype = 4 // Everyone except external users: a security group
	case strings.HasPrefix(u.LoginName, "i:0#.f|membership|"):
		upn = u.LoginName[len("i:0#.f|membership|"):]
	}
	return map[string]any{"Id": id, "LoginName": u.LoginName, "Title": u.Title, "Email": u.Email, "PrincipalType": ptype,
		"IsShareByEmailGuestUser": false, "IsEmailAuthenticationGuestUser": false, "IsSiteAdmin": false, "IsHiddenInUI": false,
		"Expiration": "", "UserPrincipalName": upn}
}

// checkSiteUsers checks a fixture's site users body: {"value": [...]} of
// SP.User objects, each with a LoginName and a numeric PrincipalType, and
// no property SP.User does not have.
func checkSiteUsers(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("a site users body is an object with a \"value\" array, got %s", jsonKind(v))
	}
	for k := range m {
		if k != "value" {
			return fmt.Errorf("%s: a site users body holds only \"value\" (odata=nometadata)", k)
		}
	}
	items, ok := m["value"].([]any)
	if !ok {
		return fmt.Errorf("value: expected an array, got %s", jsonKind(m["value"]))
	}
	for i, it := range items {
		u, ok := it.(map[string]any)
		if !ok {
			return fmt.Errorf("value[%d]: expected an object, got %s", i, jsonKind(it))
		}
		for k, p := range u {
			if !spUserProps[k] {
				return fmt.Errorf("value[%d].%s: property %q is not defined on type SP.User", i, k, k)
			}
			switch k {
			case "LoginName", "Email", "Title", "Expiration":
				if _, ok := p.(string); !ok {
					return fmt.Errorf("value[%d].%s: expected a string, got %s", i, k, jsonKind(p))
				}
			case "Id", "PrincipalType":
				if _, ok := p.(json.Number); !ok {
					return fmt.Errorf("value[%d].%s: expected a number, got %s", i, k, jsonKind(p))
				}
			case "IsShareByEmailGuestUser", "IsEmailAuthenticationGuestUser", "IsSiteAdmin", "IsHiddenInUI":
				if _, ok := p.(bool); !ok {
					return fmt.Errorf("value[%d].%s: expected a boolean, got %s", i, k, jsonKind(p))
				}
			}
		}
		if _, ok := u["LoginName"]; !ok {
			return fmt.Errorf("value[%d]: LoginName missing", i)
		}
		if _, ok := u["PrincipalType"]; !ok {
			return fmt.Errorf("value[%d]: PrincipalType missing", i)
		}
	}
	return nil
}
