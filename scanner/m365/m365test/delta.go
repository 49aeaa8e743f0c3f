package m365test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// driveDelta tracks changes to one drive since the fixture was loaded, so
// delta tokens return only what changed.
type driveDelta struct {
	version     int
	itemVersion map[string]int
}

func (s *Server) driveState(driveID string) *driveDelta {
	d, ok := s.delta[driveID]
	if !ok {
		d = &driveDelta{itemVersion: map[string]int{}}
		s.delta[driveID] = d
	}
	return d
}

// touchItem records that an item's sharing changed.
func (s *Server) touchItem(driveID, itemID string) {
	d := s.driveState(driveID)
	d.version++
	d.itemVersion[itemID] = d.version
	s.notifyDrive(driveID)
}

// driveDeltaPage serves GET /drives/{id}/root/delta with tokens "v<N>":
// no token enumerates everything, "latest" returns nothing, a known token
// returns items changed since; an unknown token is 410 Gone.
func (s *Server) driveDeltaPage(key, path string, q url.Values) *reply {
	parts := strings.Split(key, "/") // graph v1.0 drives {id} root delta
	if len(parts) != 6 {
		return graphError(http.StatusBadRequest, "invalidRequest", "unsupported delta path")
	}
	d := s.driveState(parts[3])
	var all []any
	if doc, ok := s.docs[key].(map[string]any); ok {
		all, _ = doc["value"].([]any)
	}
	link := func(v int) string {
		return s.srv.URL + path + "?token=v" + strconv.Itoa(v)
	}
	items := all
	switch tok := q.Get("token"); tok {
	case "":
	case "latest":
		items = nil
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "v"))
		if !strings.HasPrefix(tok, "v") || err != nil || n < 0 || n > d.version {
			rr := graphError(http.StatusGone, "resyncRequired", "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd.")
			rr.header.Set("Location", s.srv.URL+path)
			return rr
		}
		items = nil
		for _, it := range all {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			id, _ := m["id"].(string)
			if d.itemVersion[id] > n {
				c := map[string]any{}
				for k, v := range m {
					c[k] = v
				}
				c["@microsoft.graph.sharedChanged"] = "True"
				items = append(items, c)
			}
		}
	}
	start := 0
	if st := q.Get("$skiptoken"); st != "" {
		n, err := strconv.Atoi(st)
		if err != nil || n < 0 || n > len(items) {
			return graphError(http.StatusBadRequest, "invalidRequest", "Invalid $skiptoken")
		}
		start = n
	}
	size := s.opts.PageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 {
		size = min(size, top)
	}
	end := min(start+size, len(items))
	page := make([]any, 0, end-start)
	for _, it := range items[start:end] {
		if m, ok := it.(map[string]any); ok {
			page = append(page, project(m, q.Get("$select")))
		}
	}
	out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(driveItem)", "value": page}
	if end < len(items) {
		nq := cloneValues(q)
		nq.Set("$skiptoken", strconv.Itoa(end))
		out["@odata.nextLink"] = s.srv.URL + path + "?" + nq.Encode()
	} else {
		out["@odata.deltaLink"] = link(d.version)
	}
	return jsonReply(http.StatusOK, out)
}

// driveItem serves GET /drives/{d}/items/{i} from the drive's delta
// fixture, with the parent's path Graph adds to a single item.
func (s *Server) driveItem(key string) (map[string]any, bool) {
	parts := strings.Split(key, "/") // graph v1.0 drives {d} items {i}
	if len(parts) != 6 || parts[2] != "drives" || parts[4] != "items" {
		return nil, false
	}
	doc, _ := s.docs["graph/v1.0/drives/"+parts[3]+"/root/delta"].(map[string]any)
	all, _ := doc["value"].([]any)
	byID := make(map[string]map[string]any, len(all))
	for _, it := range all {
		if m, ok := it.(map[string]any); ok {
			byID[fmt.Sprint(m["id"])] = m
		}
	}
	it, ok := byID[parts[5]]
	if !ok {
		return nil, false
	}
	parentID := func(m map[string]any) string {
		pr, _ := m["parentReference"].(map[string]any)
		id, _ := pr["id"].(string)
		return id
	}
	var names []string
	for p, depth := byID[parentID(it)], 0; p != nil && p["root"] == nil && depth < 256; p, depth = byID[parentID(p)], depth+1 {
		names = append([]string{fmt.Sprint(p["name"])}, names...)
	}
	out := make(map[string]any, len(it))
	for k, v := range it {
		out[k] = v
	}
	pr := map[string]any{}
	if old, ok := it["parentReference"].(map[string]any); ok {
		for k, v := range old {
			pr[k] = v
		}
	}
	pr["path"] = "/drives/" + parts[3] + "/root:" + strings.TrimSuffix("/"+strings.Join(names, "/"), "/")
	out["parentReference"] = pr
	return out, true
}
