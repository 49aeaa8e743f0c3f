package m365test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Collections that exist (empty) even without a fixture file, as Graph
// answers them for an existing parent.
var emptyCollections = []string{
	"graph/v1.0/users/*/sponsors", "graph/v1.0/users/*/memberOf", "graph/v1.0/groups/*/settings",
	"graph/v1.0/drives/*/items/*/permissions", "graph/v1.0/sites/*/drives", "graph/beta/policies/b2bManagementPolicies",
	"graph/v1.0/groupSettings", "graph/v1.0/groups", "graph/v1.0/users", "graph/v1.0/sites/getAllSites",
	"graph/beta/security/informationProtection/sensitivityLabels", "graph/v1.0/policies/crossTenantAccessPolicy/partners",
	"graph/v1.0/subscribedSkus",
}

func matchesAny(key string, patterns []string) bool {
	for _, p := range patterns {
		if matchKey(p, key) {
			return true
		}
	}
	return false
}

func (s *Server) graph(method, path, rawQuery string, h http.Header, body []byte) *reply {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid query string: "+err.Error())
	}
	// Keys keep path segments as they are written (ids with commas etc.).
	upath, err := url.PathUnescape(path)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid path")
	}
	key := "graph" + upath
	if strings.HasSuffix(upath, "/$batch") && method == http.MethodPost {
		return s.batch(strings.TrimSuffix(upath, "/$batch"), h, body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case http.MethodGet:
		if strings.HasSuffix(upath, "/root/delta") {
			return s.driveDeltaPage(key, path, q)
		}
		if upath == "/v1.0/sites/delta" {
			return s.sitesDeltaPage(path, q)
		}
		if id, ok := strings.CutPrefix(upath, "/v1.0/sites/"); ok && !strings.Contains(id, "/") && id != "getAllSites" {
			return s.siteByID(id)
		}
		return s.graphGet(key, path, q)
	case http.MethodPatch:
		return s.graphPatch(key, body)
	case http.MethodDelete:
		return s.graphDelete(key)
	case http.MethodPost:
		return s.graphPost(key, body)
	}
	return graphError(http.StatusMethodNotAllowed, "BadRequest", method+" is not supported on "+upath)
}

// graphGet serves an object or one page of a collection.
func (s *Server) graphGet(key, path string, q url.Values) *reply {
	doc, ok := s.docs[key]
	if !ok {
		if matchesAny(key, emptyCollections) {
			doc = map[string]any{"value": []any{}}
		} else if obj, ok := s.collectionItem(key); ok {
			return jsonReply(http.StatusOK, project(obj, q.Get("$select")))
		} else if obj, ok := s.driveItem(key); ok {
			return jsonReply(http.StatusOK, project(obj, q.Get("$select")))
		} else {
			return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+strings.TrimPrefix(key, "graph")+"' does not exist or one of its queried reference-property objects are not present.")
		}
	}
	m, isObj := doc.(map[string]any)
	if !isObj {
		return jsonReply(http.StatusOK, doc)
	}
	items, isColl := m["value"].([]any)
	if !isColl {
		return jsonReply(http.StatusOK, project(m, q.Get("$select")))
	}
	items = filterItems(key, items, q.Get("$filter"))
	size := s.opts.PageSize
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > 999 {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+top+"'. Must be between 1 and 999 inclusive.")
		}
		size = min(size, n)
	}
	if strings.Contains(q.Get("$select"), "signInActivity") {
		size = min(size, 120)
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(items) {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken")
		}
		start = n
	}
	end := min(start+size, len(items))
	out := map[string]any{}
	if ctx, ok := m["@odata.context"]; ok {
		out["@odata.context"] = ctx
	}
	pageItems := make([]any, 0, end-start)
	expandSponsors := key == "graph/v1.0/users" && strings.HasPrefix(q.Get("$expand"), "sponsors")
	for _, it := range items[start:end] {
		if im, ok := it.(map[string]any); ok {
			pm := project(im, q.Get("$select"))
			if expandSponsors {
				pm = s.withSponsors(im, pm)
			}
			pageItems = append(pageItems, pm)
		} else {
			pageItems = append(pageItems, it)
		}
	}
	out["value"] = pageItems
	if end < len(items) {
		nq := cloneValues(q)
		nq.Set("$skiptoken", strconv.Itoa(end))
		out["@odata.nextLink"] = s.srv.URL + path + "?" + nq.Encode()
	}
	return jsonReply(http.StatusOK, out)
}

// collectionItem finds "<collection>/<id>" inside a collection fixture.
func (s *Server) collectionItem(key string) (map[string]any, bool) {
	coll, id := splitLast(key)
	doc, ok := s.docs[coll].(map[string]any)
	if !ok {
		return nil, false
	}
	items, _ := doc["value"].([]any)
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && fmt.Sprint(m["id"]) == id {
			return m, true
		}
	}
	return nil, false
}

func splitLast(key string) (string, string) {
	i := strings.LastIndex(key, "/")
	if i < 0 {
		return key, ""
	}
	return key[:i], key[i+1:]
}

// project applies $select: named properties plus annotations and id.
func project(m map[string]any, sel string) map[string]any {
	if sel == "" {
		return m
	}
	keep := map[string]bool{"id": true}
	for _, f := range strings.Split(sel, ",") {
		keep[strings.ToLower(strings.TrimSpace(f))] = true
	}
	out := map[string]any{}
	for k, v := range m {
		if strings.HasPrefix(k, "@") || keep[strings.ToLower(k)] {
			out[k] = v
		}
	}
	return out
}

// filterItems understands the filters the collector sends; any other
// filter is ignored (the fixture is taken as already filtered).
func filterItems(key string, items []any, filter string) []any {
	var keep func(map[string]any) bool
	switch {
	case key == "graph/v1.0/users" && strings.Contains(filter, "userType eq 'Guest'"):
		keep = func(m map[string]any) bool { return fmt.Sprint(m["userType"]) == "Guest" }
	case key == "graph/v1.0/groups" && strings.Contains(filter, "'Unified'"):
		keep = func(m map[string]any) bool {
			gt, ok := m["groupTypes"].([]any)
			if !ok {
				return true // fixtures may omit groupTypes
			}
			for _, t := range gt {
				if t == "Unified" {
					return true
				}
			}
			return false
		}
	default:
		return items
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && keep(m) {
			out = append(out, it)
		}
	}
	return out
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// graphPatch merges a JSON body into an object or a collection item.
func (s *Server) graphPatch(key string, body []byte) *reply {
	patch, err := decodeObject(body)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload: "+err.Error())
	}
	if doc, ok := s.docs[key].(map[string]any); ok {
		if _, isColl := doc["value"].([]any); !isColl {
			target := doc
			// A fixture may hold the object wrapped in "value" (see shapes).
			if inner, ok := doc["value"].(map[string]any); ok {
				target = inner
			}
			for k, v := range patch {
				target[k] = v
			}
			if key == "graph/v1.0/admin/sharepoint/settings" || key == "graph/beta/admin/sharepoint/settings" {
				return jsonReply(http.StatusOK, target)
			}
			return noContent()
		}
	}
	item, ok := s.collectionItem(key)
	if !ok {
		return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+strings.TrimPrefix(key, "graph")+"' does not exist.")
	}
	for k, v := range patch {
		item[k] = v
	}
	coll, _ := splitLast(key)
	s.touchPermissions(coll)
	return noContent()
}

// graphDelete removes an item from its collection.
func (s *Server) graphDelete(key string) *reply {
	coll, id := splitLast(key)
	doc, ok := s.docs[coll].(map[string]any)
	items, _ := doc["value"].([]any)
	if ok {
		for i, it := range items {
			if m, ok := it.(map[string]any); ok && fmt.Sprint(m["id"]) == id {
				doc["value"] = append(items[:i:i], items[i+1:]...)
				s.afterDelete(coll, id)
				return noContent()
			}
		}
	}
	return graphError(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
}

// afterDelete keeps dependent state consistent: a deleted user's
// relationships go, a removed permission shows up in drive delta.
func (s *Server) afterDelete(coll, id string) {
	switch {
	case coll == "graph/v1.0/users":
		delete(s.docs, coll+"/"+id+"/sponsors")
		delete(s.docs, coll+"/"+id+"/memberOf")
	default:
		s.touchPermissions(coll)
	}
}

// touchPermissions makes a change to an item's permissions show up in
// its drive's delta, as sharing changes do in Graph.
func (s *Server) touchPermissions(coll string) {
	parts := strings.Split(coll, "/") // graph v1.0 drives {d} items {i} permissions
	if len(parts) == 7 && parts[2] == "drives" && parts[4] == "items" && parts[6] == "permissions" {
		s.touchItem(parts[3], parts[5])
	}
}

// graphPost appends a new item to a collection.
func (s *Server) graphPost(key string, body []byte) *reply {
	obj, err := decodeObject(body)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload: "+err.Error())
	}
	doc, ok := s.docs[key].(map[string]any)
	if !ok {
		if !matchesAny(key, emptyCollections) {
			return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+strings.TrimPrefix(key, "graph")+"' does not exist.")
		}
		doc = map[string]any{"value": []any{}}
		s.docs[key] = doc
	}
	items, _ := doc["value"].([]any)
	if _, ok := obj["id"]; !ok {
		obj["id"] = s.newID()
	}
	doc["value"] = append(items, obj)
	s.touchPermissions(key)
	return jsonReply(http.StatusCreated, obj)
}

func decodeObject(body []byte) (map[string]any, error) {
	v, err := decodeAny(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object")
	}
	return m, nil
}

// batch answers Graph JSON batching: at most 20 sub-requests, each served
// as if sent alone, answered in request order.
func (s *Server) batch(version string, h http.Header, body []byte) *reply {
	var in struct {
		Requests []struct {
			ID      string            `json:"id"`
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Invalid batch payload format.")
	}
	if len(in.Requests) == 0 || len(in.Requests) > 20 {
		return graphError(http.StatusBadRequest, "BadRequest", "Number of batch requests must be between 1 and 20.")
	}
	seen := map[string]bool{}
	var out []any
	var budget http.Header
	for _, r := range in.Requests {
		if r.ID == "" || seen[r.ID] || r.Method == "" || r.URL == "" {
			return graphError(http.StatusBadRequest, "BadRequest", "Batch request ids must be unique and method and url are required.")
		}
		seen[r.ID] = true
		sub := http.Header{"Authorization": h["Authorization"]}
		for k, v := range r.Headers {
			sub.Set(k, v)
		}
		u := r.URL
		if !strings.HasPrefix(u, "/") {
			u = "/" + u
		}
		rr := s.handleReq(strings.ToUpper(r.Method), version+u, sub, r.Body, true)
		if rr.header.Get("RateLimit-Limit") != "" || rr.header.Get("x-ms-throttle-limit-percentage") != "" {
			budget = rr.header
		}
		hdr := map[string]string{}
		for k := range rr.header {
			hdr[k] = rr.header.Get(k)
		}
		resp := map[string]any{"id": r.ID, "status": rr.status, "headers": hdr}
		if len(rr.body) > 0 {
			if v, err := decodeAny(rr.body); err == nil {
				resp["body"] = v
			} else {
				resp["body"] = string(rr.body)
			}
		}
		out = append(out, resp)
	}
	rr := jsonReply(http.StatusOK, map[string]any{"responses": out})
	// The envelope tells the budget as it stands after its sub-requests.
	for _, k := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "x-ms-throttle-limit-percentage"} {
		if v := budget.Get(k); v != "" {
			rr.header.Set(k, v)
		}
	}
	return rr
}

// withSponsors answers $expand=sponsors on the users collection from the
// users' sponsors fixtures.
func (s *Server) withSponsors(orig, m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	if rec, ok := orig["sponsors"]; ok {
		// A recording carries the expansion it saw.
		out["sponsors"] = rec
		return out
	}
	sp := []any{}
	if doc, ok := s.docs["graph/v1.0/users/"+fmt.Sprint(m["id"])+"/sponsors"].(map[string]any); ok {
		if v, ok := doc["value"].([]any); ok {
			for _, it := range v {
				if im, ok := it.(map[string]any); ok {
					sp = append(sp, project(im, "id,displayName"))
				}
			}
		}
	}
	out["sponsors"] = sp
	return out
}
