package m365test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

const graphSitesKey = "graph/v1.0/sites/getAllSites"

// graphSites returns the fixture's sites as getAllSites lists them.
func (s *Server) graphSites() []any {
	doc, _ := s.docs[graphSitesKey].(map[string]any)
	items, _ := doc["value"].([]any)
	return items
}

// sitesState is the sites as a delta link remembers them: id to body.
func (s *Server) sitesState() map[string]string {
	out := map[string]string{}
	for _, it := range s.graphSites() {
		if m, ok := it.(map[string]any); ok {
			b, _ := json.Marshal(m)
			out[fmt.Sprint(m["id"])] = string(b)
		}
	}
	return out
}

// sitesVersion returns the number of a delta link for the current sites,
// reusing the last one when nothing changed since.
func (s *Server) sitesVersion() int {
	cur := s.sitesState()
	if n := len(s.siteStates); n > 0 && maps.Equal(s.siteStates[n-1], cur) {
		return n - 1
	}
	s.siteStates = append(s.siteStates, cur)
	return len(s.siteStates) - 1
}

// sitesDeltaPage serves GET /sites/delta for a fixture tenant with tokens
// "v<N>": no token lists every site, "latest" nothing, a known token the
// sites added, changed or deleted since; an unknown token is 410 Gone.
func (s *Server) sitesDeltaPage(path string, q url.Values) *reply {
	link := func() string { return s.srv.URL + path + "?token=v" + strconv.Itoa(s.sitesVersion()) }
	var items []any
	switch tok := q.Get("token"); tok {
	case "":
		items = s.graphSites()
	case "latest":
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "v"))
		if !strings.HasPrefix(tok, "v") || err != nil || n < 0 || n >= len(s.siteStates) {
			rr := graphError(http.StatusGone, "resyncRequired", "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd.")
			rr.header.Set("Location", s.srv.URL+path)
			return rr
		}
		// Changed and added sites come as Microsoft documents them: id
		// and name only; the collector resolves the rest.
		old, cur := s.siteStates[n], s.sitesState()
		for _, it := range s.graphSites() {
			if m, ok := it.(map[string]any); ok && old[fmt.Sprint(m["id"])] != cur[fmt.Sprint(m["id"])] {
				items = append(items, map[string]any{"id": m["id"], "name": m["name"]})
			}
		}
		var gone []string
		for id := range old {
			if _, ok := cur[id]; !ok {
				gone = append(gone, id)
			}
		}
		sort.Strings(gone)
		for _, id := range gone {
			items = append(items, map[string]any{"id": id, "deleted": map[string]any{"state": "deleted"}})
		}
	}
	if items == nil {
		items = []any{}
	}
	return jsonReply(http.StatusOK, map[string]any{"value": items, "@odata.deltaLink": link()})
}

// siteByID serves GET /sites/{site-id} from getAllSites (the composite
// "host,siteGuid,webGuid" id).
func (s *Server) siteByID(id string) *reply {
	for _, it := range s.graphSites() {
		if m, ok := it.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["id"]), id) {
			return jsonReply(http.StatusOK, m)
		}
	}
	return graphError(http.StatusNotFound, "itemNotFound", "Item not found")
}

// AddSite adds a site to a fixture tenant: its getAllSites item and its
// CSOM site properties (both as Microsoft returns them).
func (s *Server) AddSite(graphSite, siteProps map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, ok := s.docs[graphSitesKey].(map[string]any)
	if !ok {
		doc = map[string]any{"value": []any{}}
		s.docs[graphSitesKey] = doc
	}
	doc["value"] = append(s.graphSites(), graphSite)
	if _, ok := siteProps["_ObjectType_"]; !ok {
		siteProps["_ObjectType_"] = sitePropsType
	}
	s.setSiteList(append(s.siteList(), siteProps))
}

// RemoveSite deletes a fixture tenant's site by its Graph id.
func (s *Server) RemoveSite(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []any
	siteURL := ""
	for _, it := range s.graphSites() {
		if m, ok := it.(map[string]any); ok && fmt.Sprint(m["id"]) == id {
			siteURL = strings.TrimRight(strings.ToLower(fmt.Sprint(m["webUrl"])), "/")
			continue
		}
		keep = append(keep, it)
	}
	if doc, ok := s.docs[graphSitesKey].(map[string]any); ok {
		doc["value"] = keep
	}
	var props []any
	for _, it := range s.siteList() {
		if m, ok := it.(map[string]any); ok && strings.TrimRight(strings.ToLower(fmt.Sprint(m["Url"])), "/") == siteURL {
			continue
		}
		props = append(props, it)
	}
	s.setSiteList(props)
}

func (s *Server) setSiteList(items []any) {
	if m, ok := s.docs[csomSitesKey].(map[string]any); ok {
		m["_Child_Items_"] = items
		return
	}
	s.docs[csomSitesKey] = items
}
