package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
)

// queryReader records the query each listing received and answers like a
// store of 10,000 scans, findings and changes.
type queryReader struct {
	mu       sync.Mutex
	scans    []ScanQuery
	findings []FindingQuery
	changes  []ChangeQuery
}

const fuzzRows = 10000

func (r *queryReader) Ready(context.Context) error                                { return nil }
func (r *queryReader) TenantInfo(context.Context) (map[string]TenantState, error) { return nil, nil }

func (r *queryReader) Scans(_ context.Context, q ScanQuery) ([]store.Scan, error) {
	r.mu.Lock()
	r.scans = append(r.scans, q)
	r.mu.Unlock()
	var out []store.Scan
	for id := int64(fuzzRows); id >= 1 && len(out) < q.Limit; id-- {
		if q.BeforeID == 0 || id < q.BeforeID {
			out = append(out, store.Scan{ID: id})
		}
	}
	return out, nil
}

func (r *queryReader) Findings(_ context.Context, q FindingQuery) ([]store.Finding, error) {
	r.mu.Lock()
	r.findings = append(r.findings, q)
	r.mu.Unlock()
	var out []store.Finding
	for i := q.Offset; i < fuzzRows && len(out) < q.Limit; i++ {
		out = append(out, store.Finding{Fingerprint: fmt.Sprint(i)})
	}
	return out, nil
}

func (r *queryReader) Changes(_ context.Context, q ChangeQuery) ([]store.Change, error) {
	r.mu.Lock()
	r.changes = append(r.changes, q)
	r.mu.Unlock()
	var out []store.Change
	for id := max(q.AfterID+1, 1); id <= fuzzRows && len(out) < q.Limit; id++ {
		out = append(out, store.Change{ID: id})
	}
	return out, nil
}

// oneTenant is a Scheduler with the single tenant t00.
type oneTenant struct{}

func (oneTenant) Status() []TenantStatus                             { return []TenantStatus{{Name: "t00", Schedule: "@every 1h"}} }
func (oneTenant) HasTenant(name string) bool                         { return name == "t00" }
func (oneTenant) Trigger(context.Context, string) (time.Time, error) { return time.Time{}, nil }

// apiParams are the messages a refused query may start with: each names
// the parameter, or says the query string itself is wrong.
var apiParams = []string{"limit: ", "cursor: ", "state: ", "severity: ", "section: ", "since: ",
	"unknown query parameter ", "query parameter ", "malformed query string"}

// FuzzAPIQuery sends arbitrary query strings to every listing of the HTTP
// API: the answer is 200 or a 400 naming the parameter, never a server
// error; an accepted query reaches the store within bounds (a limit from 1
// to MaxLimit, no negative offset or ID, a since that is not in the future
// when written as a duration); and a next cursor the API hands out is
// accepted back and continues where the page ended. A since written as a
// duration once came out centuries back for "NaNd" or "1e300d".
func FuzzAPIQuery(f *testing.F) {
	for _, seed := range []struct {
		ep uint8
		q  string
	}{
		{0, ""}, {1, "limit=2"}, {1, "limit=2&cursor=" + encodeCursor("s", 5)}, {2, "state=all&severity=high&section=links&rule=links.anyone_link"},
		{2, "limit=500&cursor=" + encodeCursor("f", 9990)}, {2, "state=weird"}, {3, "since=7d&limit=1"}, {3, "since=2025-03-04T09:30:00Z"},
		{3, "since=NaNd"}, {3, "cursor=" + encodeCursor("s", 1)}, {1, "limit=1&limit=2"}, {2, "a;b"}, {2, "cursor=%zz"}, {1, "cursor=" + encodeCursor("s", -1)},
	} {
		f.Add(seed.ep, seed.q)
	}
	paths := []string{"/api/v1/tenants", "/api/v1/tenants/t00/scans", "/api/v1/tenants/t00/findings", "/api/v1/tenants/t00/changes"}
	f.Fuzz(func(t *testing.T, ep uint8, rawQuery string) {
		r := &queryReader{}
		h := NewHandler(ServerOptions{Scheduler: oneTenant{}, Reader: r, Tokens: []Token{{Name: "ro", Scope: config.ScopeRead, Value: readTok}}})
		path := paths[int(ep)%len(paths)]
		get := func(rawQuery string) (int, map[string]any) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.URL.RawQuery = rawQuery
			req.Header.Set("Authorization", "Bearer "+readTok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s?%s: status %d, body not JSON: %q", path, rawQuery, w.Code, w.Body)
			}
			return w.Code, body
		}
		before := time.Now()
		code, body := get(rawQuery)
		switch code {
		case http.StatusBadRequest:
			msg, _ := body["error"].(string)
			for _, p := range apiParams {
				if strings.HasPrefix(msg, p) {
					return
				}
			}
			t.Fatalf("%s?%s: 400 %q names no parameter", path, rawQuery, msg)
		case http.StatusOK:
		default:
			t.Fatalf("%s?%s: status %d %v", path, rawQuery, code, body)
		}
		q, _ := url.ParseQuery(rawQuery)
		r.mu.Lock()
		for _, s := range r.scans {
			if s.Limit < 2 || s.Limit > MaxLimit+1 || s.BeforeID < 0 {
				t.Fatalf("scans query out of bounds: %+v", s)
			}
		}
		for _, s := range r.findings {
			if s.Limit < 2 || s.Limit > MaxLimit+1 || s.Offset < 0 {
				t.Fatalf("findings query out of bounds: %+v", s)
			}
		}
		for _, s := range r.changes {
			if s.Limit < 2 || s.Limit > MaxLimit+1 || s.AfterID < 0 {
				t.Fatalf("changes query out of bounds: %+v", s)
			}
			if since := q.Get("since"); since != "" {
				// A duration counts back from the request's time.
				d, err := config.ParseDuration(since)
				if err == nil && (d < 0 || s.Since.Before(before.Add(-d.D()).Add(-time.Second)) || s.Since.After(time.Now().Add(-d.D()))) {
					t.Fatalf("since=%s (%v) gave %v at %v", since, d, s.Since, before)
				}
			}
		}
		r.mu.Unlock()

		next, _ := body["nextCursor"].(string)
		if next == "" {
			return
		}
		q.Set("cursor", next)
		code, body = get(q.Encode())
		if code != http.StatusOK {
			t.Fatalf("%s: the API's own cursor %q refused: %d %v", path, next, code, body)
		}
		items, _ := body["items"].([]any)
		if len(items) == 0 {
			return
		}
		// Scans are newest first, findings by offset and changes oldest
		// first: the next page starts past the last item of this one.
		// Items are typed store rows: scans and changes carry their ID,
		// findings their offset as the fingerprint.
		item, _ := items[0].(map[string]any)
		first, _ := item["id"].(float64)
		if fp, ok := item["fingerprint"].(string); ok {
			n, _ := strconv.Atoi(fp)
			first = float64(n)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		switch {
		case len(r.scans) == 2 && int64(first) != r.scans[1].BeforeID-1,
			len(r.changes) == 2 && int64(first) != r.changes[1].AfterID+1,
			len(r.findings) == 2 && int(first) != r.findings[1].Offset:
			t.Fatalf("%s: next page starts at %v: %+v %+v %+v", path, first, r.scans, r.findings, r.changes)
		}
	})
}
