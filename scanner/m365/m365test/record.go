package m365test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
)

// Recorder turns a collector's responses into a fixture tenant directory
// in the layout New reads: pages of a collection are merged into one body,
// paging and delta links (which carry opaque tokens) are dropped, and no
// request header is ever kept. Plug it into m365.Options.Recorder.
type Recorder struct {
	mu   sync.Mutex
	docs map[string]any
	// next remembers the nextLink a key's following page will come from.
	next map[string]string
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{docs: map[string]any{}, next: map[string]string{}}
}

// Record implements m365.Recorder.
func (r *Recorder) Record(rec m365.Recording) {
	u, err := url.Parse(rec.URL)
	if err != nil {
		return
	}
	body, err := decodeAny(rec.Body)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case rec.Audience == m365.AudienceGraph && rec.Method == http.MethodGet:
		r.mergePage("graph"+u.Path, rec.URL, body)
	case rec.Audience == m365.AudienceSharePoint:
		r.recordCSOM(rec.RequestBody, body)
	case rec.Audience == m365.AudienceExchange:
		var in cmdletInput
		if json.Unmarshal(rec.RequestBody, &in) == nil && strings.HasPrefix(in.CmdletInput.CmdletName, "Get-") {
			r.mergePage("exchange/"+in.CmdletInput.CmdletName, rec.URL, body)
		}
	case rec.Audience == m365.AudienceTeams && rec.Method == http.MethodGet:
		r.docs["teams"+u.Path] = scrub(body)
	case rec.Audience == m365.AudienceFabric && rec.Method == http.MethodGet:
		r.recordFabricPage("fabric"+u.Path, rec.URL, body)
	}
}

// recordFabricPage stores a page of a Fabric collection, appending it to
// the pages before when this URL is their continuationUri; the fixture
// holds every item in one "value" array, as the fake pages it itself.
func (r *Recorder) recordFabricPage(key, pageURL string, body any) {
	m, ok := body.(map[string]any)
	if !ok {
		r.docs[key] = scrub(body)
		return
	}
	next, _ := m["continuationUri"].(string)
	delete(m, "continuationUri")
	delete(m, "continuationToken")
	if prev, ok := r.docs[key].(map[string]any); ok && r.next[key] != "" && r.next[key] == pageURL {
		items, _ := prev["value"].([]any)
		more, _ := m["value"].([]any)
		prev["value"] = append(items, scrub(more).([]any)...)
	} else {
		r.docs[key] = scrub(m)
	}
	r.next[key] = next
}

// mergePage stores a body, appending to the collection already recorded
// when this URL is that collection's announced next page.
func (r *Recorder) mergePage(key, pageURL string, body any) {
	m, ok := body.(map[string]any)
	if !ok {
		r.docs[key] = scrub(body)
		return
	}
	next, _ := m["@odata.nextLink"].(string)
	delete(m, "@odata.nextLink")
	delete(m, "@odata.deltaLink")
	prev, hasPrev := r.docs[key].(map[string]any)
	switch {
	case hasPrev && r.next[key] != "" && r.next[key] == pageURL:
		items, _ := prev["value"].([]any)
		more, _ := m["value"].([]any)
		prev["value"] = mergeByID(items, scrub(more).([]any), true)
	case hasPrev && withIDs(prev["value"]) && withIDs(m["value"]):
		// The same collection read again, maybe with other properties
		// (guests, then their sign-ins): one item per id, all properties.
		prev["value"] = mergeByID(prev["value"].([]any), scrub(m["value"]).([]any), false)
	default:
		r.docs[key] = scrub(m)
	}
	r.next[key] = next
}

func (r *Recorder) recordCSOM(reqBody []byte, body any) {
	op := csomOperation(reqBody)
	if bytes.Contains(reqBody, []byte("<SetProperty")) {
		return
	}
	arr, ok := body.([]any)
	if !ok {
		return
	}
	for _, el := range arr {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		switch m["_ObjectType_"] {
		case tenantObjType:
			if op == "Tenant" {
				r.docs[csomTenantKey] = scrub(m)
			}
		case sitesEnumType:
			items, _ := m["_Child_Items_"].([]any)
			prev, _ := r.docs[csomSitesKey].([]any)
			r.docs[csomSitesKey] = append(prev, scrub(items).([]any)...)
		}
	}
}

// scrub drops properties whose names suggest credentials.
func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			lk := strings.ToLower(k)
			if lk != "haspassword" && (strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "password")) {
				continue
			}
			out[k] = scrub(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrub(e)
		}
		return out
	}
	return v
}

// Write saves the recording as a fixture directory; meta.Now defaults to
// the current time.
func (r *Recorder) Write(dir string, meta Meta) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if meta.Now == nil {
		now := time.Now().UTC().Truncate(time.Second)
		meta.Now = &now
	}
	if err := writeJSON(filepath.Join(dir, "tenant.json"), meta); err != nil {
		return err
	}
	for key, doc := range r.docs {
		// Keys come from URL paths; refuse anything that would leave dir.
		clean := filepath.Clean(filepath.FromSlash(key))
		if strings.HasPrefix(clean, "..") || filepath.IsAbs(clean) {
			return fmt.Errorf("record: refusing path %q", key)
		}
		if err := writeJSON(filepath.Join(dir, clean+".json"), doc); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("record %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// withIDs reports whether v is a non-empty array of objects with ids.
func withIDs(v any) bool {
	items, ok := v.([]any)
	if !ok || len(items) == 0 {
		return false
	}
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["id"].(string); !ok {
			return false
		}
	}
	return true
}

// mergeByID adds more to items: an object whose id is already there lends
// it its properties; others are appended (all of them when appendAll).
func mergeByID(items, more []any, appendAll bool) []any {
	idx := map[string]map[string]any{}
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				idx[id] = m
			}
		}
	}
	for _, it := range more {
		m, ok := it.(map[string]any)
		id, hasID := m["id"].(string)
		if ok && hasID && idx[id] != nil {
			for k, v := range m {
				idx[id][k] = v
			}
			continue
		}
		if ok && hasID {
			idx[id] = m
		}
		if appendAll || hasID {
			items = append(items, it)
		}
	}
	return items
}
