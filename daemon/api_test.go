package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// fakeReader serves canned rows. Findings are 120 items f000…f119.
type fakeReader struct {
	mu       sync.Mutex
	notReady bool
	panicky  bool
	findings []store.Finding
	scans    []store.Scan
	changes  []store.Change
}

func newFakeReader() *fakeReader {
	r := &fakeReader{}
	for i := 0; i < 120; i++ {
		r.findings = append(r.findings, store.Finding{Fingerprint: fmt.Sprintf("f%03d", i), Severity: tenant.SeverityHigh})
	}
	for i := 1; i <= 7; i++ {
		r.scans = append(r.scans, store.Scan{ID: int64(i)})
		r.changes = append(r.changes, store.Change{ID: int64(i)})
	}
	return r
}

func (r *fakeReader) Ready(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notReady {
		return errors.New("dial tcp 10.0.0.5:5432: connection refused")
	}
	return nil
}

func (r *fakeReader) TenantInfo(context.Context) (map[string]TenantState, error) {
	return map[string]TenantState{"t00": {TenantID: "tid-00", LastScan: &store.Scan{ID: 7}, OpenFindings: map[string]int{"high": 2}}}, nil
}

func (r *fakeReader) Scans(_ context.Context, q ScanQuery) ([]store.Scan, error) {
	var out []store.Scan
	for i := len(r.scans) - 1; i >= 0 && len(out) < q.Limit; i-- {
		if q.BeforeID == 0 || r.scans[i].ID < q.BeforeID {
			out = append(out, r.scans[i])
		}
	}
	return out, nil
}

func (r *fakeReader) Findings(_ context.Context, q FindingQuery) ([]store.Finding, error) {
	if r.panicky {
		panic("secret internal detail")
	}
	if q.Offset >= len(r.findings) {
		return nil, nil
	}
	return r.findings[q.Offset:min(q.Offset+q.Limit, len(r.findings))], nil
}

func (r *fakeReader) Changes(_ context.Context, q ChangeQuery) ([]store.Change, error) {
	var out []store.Change
	for _, c := range r.changes {
		if c.ID > q.AfterID && len(out) < q.Limit {
			out = append(out, c)
		}
	}
	return out, nil
}

type apiFixture struct {
	srv    *httptest.Server
	reader *fakeReader
	rec    *recorder
	coord  *MemCoordinator
	d      *Daemon
}

const (
	readTok  = "read-0123456789"
	adminTok = "admin-0123456789"
)

func newAPI(t *testing.T) *apiFixture {
	t.Helper()
	f := &apiFixture{reader: newFakeReader(), rec: newRecorder(0), coord: NewMemCoordinator()}
	m := NewMetrics()
	var err error
	f.d, err = New(Options{Tenants: tenants(2, "@every 1h"), Scheduler: sched(0, time.Second, false),
		Scan: f.rec.scan, Coordinator: f.coord, Owner: "a", Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(ServerOptions{Scheduler: f.d, Reader: f.reader, Metrics: m, Tokens: []Token{
		{Name: "ro", Scope: config.ScopeRead, Value: readTok},
		{Name: "ops", Scope: config.ScopeAdmin, Value: adminTok},
	}})
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *apiFixture) do(t *testing.T, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAuth(t *testing.T) {
	f := newAPI(t)
	cases := []struct {
		name, method, path, auth string
		want                     int
		wantBody                 string
	}{
		{"no header", "GET", "/api/v1/tenants", "", 401, `{"error":"unauthorized"}`},
		{"wrong scheme", "GET", "/api/v1/tenants", "Basic " + readTok, 401, `{"error":"unauthorized"}`},
		{"wrong token", "GET", "/api/v1/tenants", "Bearer nope", 401, `{"error":"unauthorized"}`},
		{"token prefix", "GET", "/api/v1/tenants", "Bearer " + readTok[:5], 401, `{"error":"unauthorized"}`},
		{"empty bearer", "GET", "/api/v1/tenants", "Bearer ", 401, `{"error":"unauthorized"}`},
		{"read ok", "GET", "/api/v1/tenants", "Bearer " + readTok, 200, ""},
		{"scheme case-insensitive", "GET", "/api/v1/tenants", "bearer " + readTok, 200, ""},
		{"admin reads", "GET", "/api/v1/tenants/t00/findings", "Bearer " + adminTok, 200, ""},
		{"read cannot trigger", "POST", "/api/v1/tenants/t00/scans", "Bearer " + readTok, 403, `{"error":"forbidden"}`},
		{"no token cannot trigger", "POST", "/api/v1/tenants/t00/scans", "", 401, `{"error":"unauthorized"}`},
		{"unknown tenant needs auth first", "GET", "/api/v1/tenants/zzz/findings", "", 401, `{"error":"unauthorized"}`},
		{"health is open", "GET", "/healthz", "", 200, `{"status":"ok"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := f.do(t, tc.method, tc.path, tc.auth, "")
			if code != tc.want {
				t.Fatalf("status %d, want %d (%s)", code, tc.want, body)
			}
			if tc.wantBody != "" && compact(body) != tc.wantBody {
				t.Errorf("body %s, want %s", body, tc.wantBody)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if hdr.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", hdr.Get("Content-Type"))
			}
		})
	}
}

func compact(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestTrigger(t *testing.T) {
	f := newAPI(t)
	code, _, body := f.do(t, "POST", "/api/v1/tenants/t01/scans", "Bearer "+adminTok, "")
	if code != http.StatusAccepted {
		t.Fatalf("status %d: %s", code, body)
	}
	var resp triggerResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Tenant != "t01" || resp.Status != "queued" || resp.Slot.IsZero() {
		t.Fatalf("response %+v", resp)
	}
	waitFor(t, func() bool {
		st, _ := f.coord.SlotStatus("t01", resp.Slot)
		return st == SlotDone
	})
	f.rec.mu.Lock()
	n := f.rec.runs["t01"][resp.Slot]
	f.rec.mu.Unlock()
	if n != 1 {
		t.Fatalf("triggered slot ran %d times", n)
	}
	code, _, _ = f.do(t, "POST", "/api/v1/tenants/t01/scans", "Bearer "+adminTok, `{}`)
	if code != http.StatusAccepted {
		t.Fatalf("empty object body: %d", code)
	}
}

func TestFindingsPagination(t *testing.T) {
	f := newAPI(t)
	var seen []string
	cursor := ""
	pages := 0
	for {
		path := "/api/v1/tenants/t00/findings?limit=50&state=all"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, _, body := f.do(t, "GET", path, "Bearer "+readTok, "")
		if code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
		var p struct {
			Tenant     string           `json:"tenant"`
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"nextCursor"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range p.Items {
			seen = append(seen, it["fingerprint"].(string))
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if pages != 3 || len(seen) != 120 {
		t.Fatalf("pages=%d items=%d", pages, len(seen))
	}
	for i, fp := range seen {
		if fp != fmt.Sprintf("f%03d", i) {
			t.Fatalf("item %d = %s (duplicate or gap)", i, fp)
		}
	}

	// Scans page backwards by ID, changes forwards.
	code, _, body := f.do(t, "GET", "/api/v1/tenants/t00/scans?limit=3", "Bearer "+readTok, "")
	var sp struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"nextCursor"`
	}
	_ = json.Unmarshal([]byte(body), &sp)
	if code != 200 || len(sp.Items) != 3 || sp.Items[0]["id"].(float64) != 7 || sp.NextCursor == "" {
		t.Fatalf("scans page 1: %d %s", code, body)
	}
	_, _, body = f.do(t, "GET", "/api/v1/tenants/t00/scans?limit=3&cursor="+sp.NextCursor, "Bearer "+readTok, "")
	_ = json.Unmarshal([]byte(body), &sp)
	if sp.Items[0]["id"].(float64) != 4 {
		t.Fatalf("scans page 2: %s", body)
	}
	_, _, body = f.do(t, "GET", "/api/v1/tenants/t00/changes?limit=5&since=7d", "Bearer "+readTok, "")
	_ = json.Unmarshal([]byte(body), &sp)
	if len(sp.Items) != 5 || sp.NextCursor == "" {
		t.Fatalf("changes page 1: %s", body)
	}
	_, _, body = f.do(t, "GET", "/api/v1/tenants/t00/changes?limit=5&cursor="+sp.NextCursor, "Bearer "+readTok, "")
	sp.NextCursor = ""
	_ = json.Unmarshal([]byte(body), &sp)
	if len(sp.Items) != 2 || sp.NextCursor != "" || sp.Items[0]["id"].(float64) != 6 {
		t.Fatalf("changes page 2: %s", body)
	}
}

func TestBadRequests(t *testing.T) {
	f := newAPI(t)
	rd := "Bearer " + readTok
	cases := []struct {
		name, method, path, body string
		want                     int
		wantMsg                  string
	}{
		{"limit zero", "GET", "/api/v1/tenants/t00/findings?limit=0", "", 400, "limit"},
		{"limit text", "GET", "/api/v1/tenants/t00/findings?limit=ten", "", 400, "limit"},
		{"limit huge", "GET", "/api/v1/tenants/t00/findings?limit=100000", "", 400, "limit"},
		{"bad cursor", "GET", "/api/v1/tenants/t00/findings?cursor=%%%", "", 400, "malformed query"},
		{"garbage cursor", "GET", "/api/v1/tenants/t00/findings?cursor=bm9wZQ", "", 400, "cursor"},
		{"cursor of another listing", "GET", "/api/v1/tenants/t00/findings?cursor=" + encodeCursor("s", 3), "", 400, "cursor"},
		{"unknown param", "GET", "/api/v1/tenants/t00/findings?colour=red", "", 400, "unknown query parameter"},
		{"repeated param", "GET", "/api/v1/tenants/t00/findings?limit=1&limit=2", "", 400, "given 2 times"},
		{"bad state", "GET", "/api/v1/tenants/t00/findings?state=weird", "", 400, "state"},
		{"bad severity", "GET", "/api/v1/tenants/t00/findings?severity=urgent", "", 400, "severity"},
		{"bad section", "GET", "/api/v1/tenants/t00/findings?section=mail", "", 400, "section"},
		{"bad since", "GET", "/api/v1/tenants/t00/changes?since=yesterday", "", 400, "since"},
		{"unknown tenant", "GET", "/api/v1/tenants/zzz/findings", "", 404, "unknown tenant"},
		{"unknown path", "GET", "/api/v1/nothing", "", 404, "not found"},
		{"wrong method", "DELETE", "/api/v1/tenants/t00/findings", "", 405, "method not allowed"},
		{"trigger bad json", "POST", "/api/v1/tenants/t00/scans", "{nope", 400, "body"},
		{"trigger unknown field", "POST", "/api/v1/tenants/t00/scans", `{"force":true}`, 400, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := rd
			if tc.method == "POST" {
				tok = "Bearer " + adminTok
			}
			code, hdr, body := f.do(t, tc.method, tc.path, tok, tc.body)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %s", code, tc.want, body)
			}
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.wantMsg) {
				t.Fatalf("body %q: want JSON error containing %q", body, tc.wantMsg)
			}
			if hdr.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", hdr.Get("Content-Type"))
			}
		})
	}
}

func TestPanicIs500WithoutDetail(t *testing.T) {
	f := newAPI(t)
	f.reader.panicky = true
	code, _, body := f.do(t, "GET", "/api/v1/tenants/t00/findings", "Bearer "+readTok, "")
	if code != 500 || compact(body) != `{"error":"internal error"}` {
		t.Fatalf("%d %s", code, body)
	}
	if strings.Contains(body, "secret") || strings.Contains(body, "goroutine") {
		t.Fatal("detail leaked")
	}
}

func TestReadyz(t *testing.T) {
	f := newAPI(t)
	if code, _, _ := f.do(t, "GET", "/readyz", "", ""); code != 200 {
		t.Fatalf("ready: %d", code)
	}
	f.reader.mu.Lock()
	f.reader.notReady = true
	f.reader.mu.Unlock()
	code, _, body := f.do(t, "GET", "/readyz", "", "")
	if code != 503 || strings.Contains(body, "10.0.0.5") {
		t.Fatalf("not ready: %d %s", code, body)
	}
}

type fakeState struct{}

func (fakeState) FindingCounts(context.Context) ([]FindingCount, error) {
	return []FindingCount{{Tenant: "t00", Severity: "high", State: "open", Count: 4}}, nil
}

func (fakeState) OutboxCounts(context.Context) ([]OutboxCount, error) {
	return []OutboxCount{{Destination: "sec-slack", State: "pending", Count: 2}}, nil
}

func TestMetricsScrape(t *testing.T) {
	f := newAPI(t)
	if err := f.d.m.RegisterStateSource(fakeState{}, f.d.log); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.ScanNow(context.Background(), "t00"); err != nil {
		t.Fatal(err)
	}
	f.do(t, "GET", "/api/v1/tenants", "Bearer "+readTok, "")
	code, _, body := f.do(t, "GET", "/metrics", "", "")
	if code != 200 {
		t.Fatalf("metrics status %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		fam, ok := fams[name]
		if !ok {
			t.Fatalf("metric %s missing", name)
		}
	metrics:
		for _, m := range fam.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
		t.Fatalf("metric %s%v missing", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sharedrift_scans_total", map[string]string{"tenant": "t00", "outcome": "complete"}, 1},
		{"sharedrift_scan_duration_seconds", map[string]string{"tenant": "t00"}, 1},
		{"sharedrift_api_calls_total", map[string]string{"tenant": "t00"}, 3},
		{"sharedrift_api_resource_units_total", map[string]string{"tenant": "t00"}, 7},
		{"sharedrift_api_throttled_total", map[string]string{"tenant": "t00"}, 0},
		{"sharedrift_findings", map[string]string{"tenant": "t00", "severity": "high", "state": "open"}, 4},
		{"sharedrift_outbox_messages", map[string]string{"destination": "sec-slack", "state": "pending"}, 2},
		{"sharedrift_store_up", nil, 1},
		{"sharedrift_http_requests_total", map[string]string{"route": "GET /api/v1/tenants", "code": "200"}, 1},
	}
	for _, c := range checks {
		if got := value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("go collector missing")
	}
}
