package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
)

// changesHarness is the fabrikam daemon with change notifications, its
// HTTP handler served over TLS as Microsoft requires, and the fake tenant
// delivering to it.
type changesHarness struct {
	svc  *Service
	fake *m365test.Server
	ts   *httptest.Server
}

func newChangesHarness(t *testing.T) *changesHarness {
	t.Helper()
	var mu sync.Mutex
	var h http.Handler = http.NotFoundHandler()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hh := h
		mu.Unlock()
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	fixture, _ := filepath.Abs(filepath.Join("..", "testdata", "tenants", "fabrikam"))
	t.Setenv("HOOK_SECRET", "0123456789abcdef0123")
	cfg, err := config.Load(config.Options{
		Overrides: map[string]any{
			"store.state_dir":           t.TempDir(),
			"http.listen":               "127.0.0.1:0",
			"change_notifications":      map[string]any{"url": ts.URL, "debounce": "0s", "interval": "100ms"},
			"tenants.fabrikam.fixture":  fixture,
			"tenants.fabrikam.baseline": "recommended",
			"tenants.fabrikam.schedule": "@every 1h",
			"notify.destinations": []any{map[string]any{"name": "soc", "type": "webhook",
				"webhook": map[string]any{"url": "https://hooks.example.invalid/soc", "secret": "env:HOOK_SECRET"}}},
			"tenants.fabrikam.notify": map[string]any{"routes": []any{map[string]any{"destination": "soc", "min_severity": "critical"}}},
		},
		RequireTenants: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Open(context.Background(), cfg, ServiceOptions{OpenFixture: openFixture})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	mu.Lock()
	h = svc.Handler
	mu.Unlock()
	fake := fakeOf(svc.Pipeline, "fabrikam")
	fake.SetNotifyOptions(m365test.NotifyOptions{Client: ts.Client(), MeanDelay: time.Millisecond, Seed: 3})
	return &changesHarness{svc: svc, fake: fake, ts: ts}
}

func (hs *changesHarness) post(t *testing.T, query, body string) (int, string) {
	t.Helper()
	resp, err := hs.ts.Client().Post(hs.ts.URL+NotificationPath+"fabrikam"+query, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (hs *changesHarness) marks(t *testing.T) []store.DriveChange {
	t.Helper()
	m, err := hs.svc.Store.DriveChanges(context.Background(), "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// subscribed runs the first scan, subscribes every drive and processes
// the catch-up marks the new subscriptions leave.
func (hs *changesHarness) subscribed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := hs.svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if err := hs.svc.Changes.Maintain(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
}

// TestChangeNotificationsEndToEnd: the first scan lists the drives, the
// feed subscribes to each (the fake validates the endpoint), a new Anyone
// link on the confidential finance library is notified, and processing
// records it as a finding with its notification enqueued.
func TestChangeNotificationsEndToEnd(t *testing.T) {
	hs := newChangesHarness(t)
	ctx := context.Background()
	if _, err := hs.svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if err := hs.svc.Changes.Maintain(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	subs, err := hs.svc.Store.Subscriptions(ctx, "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 4 || len(hs.fake.Subscriptions()) != 4 {
		t.Fatalf("subscriptions: stored %d, at the service %d; want one per drive (4)", len(subs), len(hs.fake.Subscriptions()))
	}
	for _, s := range subs {
		if s.Creating || s.ID == "" {
			t.Fatalf("subscription not active: %+v", s)
		}
	}
	// Graph validates the notification and the lifecycle URL of each.
	if got := hs.svc.Changes.Counted("validated"); got != 8 {
		t.Fatalf("validations answered: %v", got)
	}
	// New subscriptions catch up once with the drives' delta.
	if ran, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil || !ran {
		t.Fatalf("catch-up: %v %v", ran, err)
	}
	if m := hs.marks(t); len(m) != 0 {
		t.Fatalf("marks left after processing: %+v", m)
	}
	before, err := hs.svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}

	itemID, permID, err := hs.fake.AddAnyoneFile("b!Qx1-fin", "Salaries 2027.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	hs.fake.WaitDeliveries()
	if got := hs.svc.Changes.Counted("accepted"); got != 1 {
		t.Fatalf("accepted notifications: %v", got)
	}
	if m := hs.marks(t); len(m) != 1 || m[0].DriveID != "b!Qx1-fin" {
		t.Fatalf("marks: %+v", m)
	}
	var processed []ProcessedChanges
	hs.svc.Changes.o.Processed = func(p ProcessedChanges) { processed = append(processed, p) }
	deltas := func() map[string]int {
		out := map[string]int{}
		for k, n := range hs.fake.Calls() {
			if d, ok := strings.CutPrefix(k, "GET /v1.0/drives/"); ok && strings.HasSuffix(d, "/root/delta") {
				d, _ = url.PathUnescape(strings.TrimSuffix(d, "/root/delta"))
				out[d] = n
			}
		}
		return out
	}
	deltasBefore := deltas()
	if ran, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil || !ran {
		t.Fatalf("process: %v %v", ran, err)
	}
	if len(processed) != 1 || len(processed[0].Marks) != 1 {
		t.Fatalf("processed: %+v", processed)
	}
	// Only the notified drive's delta is read; the others keep their links.
	for d, n := range deltas() {
		want := deltasBefore[d]
		if d == "b!Qx1-fin" {
			want++
		}
		if n != want {
			t.Errorf("delta reads of %s: %d, want %d", d, n, want)
		}
	}
	after, err := hs.svc.Store.FindingsList(ctx, store.FindingFilter{Tenant: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	var found store.Finding
	for _, f := range after {
		if f.RuleID == "links.anyone_on_confidential" && strings.Contains(f.ObjectKey, itemID+"/"+permID) {
			found = f
		}
	}
	if found.Fingerprint == "" {
		t.Fatalf("no anyone_on_confidential finding for %s/%s; %d findings before, %d after", itemID, permID, len(before), len(after))
	}
	if enqueued := enqueuedFor(t, hs.svc.Store, found.Fingerprint); enqueued != 1 {
		t.Fatalf("alerts enqueued for the new finding: %d, want 1", enqueued)
	}
	// Nothing else changed: the findings of sections the notification
	// scan did not read are all still open.
	open := func(fs []store.Finding) int {
		n := 0
		for _, f := range fs {
			if f.State == store.FindingOpen {
				n++
			}
		}
		return n
	}
	if open(after) < open(before)+1 {
		t.Fatalf("open findings %d before, %d after: a partial read resolved something", open(before), open(after))
	}
	scans, err := hs.svc.Store.Scans(ctx, store.ScanFilter{Tenant: "fabrikam", Limit: 1})
	if err != nil || len(scans) != 1 || coversSlot(scans[0]) {
		t.Fatalf("the notification scan must not count for a scheduled slot: %+v %v", scans, err)
	}
}

// TestChangeNotificationLifecycle: missed and subscriptionRemoved mark the
// drive for a delta catch-up; a removed subscription is made again.
func TestChangeNotificationLifecycle(t *testing.T) {
	hs := newChangesHarness(t)
	ctx := context.Background()
	hs.subscribed(t)
	var fin store.ChangeSubscription
	subs, _ := hs.svc.Store.Subscriptions(ctx, "fabrikam")
	for _, s := range subs {
		if s.DriveID == "b!Qx1-fin" {
			fin = s
		}
	}
	if err := hs.fake.SendLifecycle(fin.ID, m365.LifecycleMissed); err != nil {
		t.Fatal(err)
	}
	hs.fake.WaitDeliveries()
	if m := hs.marks(t); len(m) != 1 || m[0].Reason != m365.LifecycleMissed {
		t.Fatalf("missed: marks %+v", m)
	}
	if err := hs.fake.SendLifecycle(fin.ID, m365.LifecycleSubscriptionRemoved); err != nil {
		t.Fatal(err)
	}
	hs.fake.WaitDeliveries()
	if _, err := hs.svc.Store.SubscriptionByID(ctx, fin.ID); err == nil {
		t.Fatal("removed subscription still known")
	}
	if err := hs.svc.Changes.Maintain(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	subs, _ = hs.svc.Store.Subscriptions(ctx, "fabrikam")
	if len(subs) != 4 {
		t.Fatalf("after re-subscribing: %d subscriptions", len(subs))
	}
	// reauthorizationRequired renews the subscription on the next round.
	for _, s := range subs {
		if s.DriveID == "b!Qx1-fin" {
			fin = s
		}
	}
	if err := hs.fake.SendLifecycle(fin.ID, m365.LifecycleReauthorizationRequired); err != nil {
		t.Fatal(err)
	}
	hs.fake.WaitDeliveries()
	calls := hs.fake.Calls()["PATCH /v1.0/subscriptions/"+fin.ID]
	if err := hs.svc.Changes.Maintain(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if got := hs.fake.Calls()["PATCH /v1.0/subscriptions/"+fin.ID]; got != calls+1 {
		t.Fatalf("reauthorization: %d renewals, want %d", got, calls+1)
	}
	if ran, err := hs.svc.Changes.Process(ctx, "fabrikam"); err != nil || !ran {
		t.Fatalf("catch-up after lifecycle events: %v %v", ran, err)
	}
	if m := hs.marks(t); len(m) != 0 {
		t.Fatalf("marks left: %+v", m)
	}
}

// TestChangeNotificationBadInput: every refused request is counted and
// marks nothing.
func TestChangeNotificationBadInput(t *testing.T) {
	hs := newChangesHarness(t)
	ctx := context.Background()
	// No subscription is being created: a validation request is refused.
	if status, _ := hs.post(t, "?validationToken=abc", ""); status != http.StatusForbidden {
		t.Fatalf("unexpected validation: %d", status)
	}
	hs.subscribed(t)
	subs, _ := hs.svc.Store.Subscriptions(ctx, "fabrikam")
	id := subs[0].ID
	note := func(sub, state, resource string) string {
		return `{"value":[{"subscriptionId":"` + sub + `","clientState":"` + state + `","changeType":"updated","resource":"` + resource +
			`","subscriptionExpirationDateTime":"2030-01-01T00:00:00Z","tenantId":"` + hs.fake.Meta().TenantID + `"}]}`
	}
	res := "drives/" + subs[0].DriveID + "/root"
	for _, tc := range []struct {
		name, query, body string
		status            int
		counter           string
	}{
		{"wrong clientState", "", note(id, "guess", res), http.StatusForbidden, "bad_client_state"},
		{"unknown subscription", "", note("11111111-1111-1111-1111-111111111111", "x", res), http.StatusNotFound, "unknown_subscription"},
		{"not JSON", "", `{"value":[`, http.StatusBadRequest, "malformed"},
		{"no value", "", `{}`, http.StatusBadRequest, "malformed"},
		{"no subscription id", "", `{"value":[{"changeType":"updated","resource":"` + res + `"}]}`, http.StatusBadRequest, "malformed"},
		{"unknown lifecycle event", "", `{"value":[{"subscriptionId":"` + id + `","lifecycleEvent":"bogus"}]}`, http.StatusBadRequest, "malformed"},
		{"validation after creation", "?validationToken=abc", "", http.StatusForbidden, "unexpected_validation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hs.svc.Changes.Counted(tc.counter)
			status, _ := hs.post(t, tc.query, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if got := hs.svc.Changes.Counted(tc.counter); got != before+1 {
				t.Fatalf("counter %s: %v, want %v", tc.counter, got, before+1)
			}
			if m := hs.marks(t); len(m) != 0 {
				t.Fatalf("refused request marked drives: %+v", m)
			}
		})
	}
	resp, err := hs.ts.Client().Get(hs.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `sharedrift_change_notifications_total{result="bad_client_state"} 1`) {
		t.Fatalf("metrics do not count refusals:\n%s", b)
	}
}

// TestChangeNotificationsProcessedOnce: two replicas sharing the store
// race to process the same mark; one scan is recorded.
func TestChangeNotificationsProcessedOnce(t *testing.T) {
	hs := newChangesHarness(t)
	ctx := context.Background()
	if _, err := hs.svc.Daemon.ScanNow(ctx, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	other, err := NewChangeFeed(ChangeFeedOptions{Store: hs.svc.Store, Pipeline: hs.svc.Pipeline, Tenants: []config.Tenant{hs.svc.Config.Tenants["fabrikam"]},
		Config: hs.svc.Config.Changes, Owner: "replica-2"})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 5; round++ {
		if err := hs.svc.Store.MarkDriveChanged(ctx, "fabrikam", "b!Qx1-fin", "updated", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		ran := make([]bool, 2)
		for i, f := range []*ChangeFeed{hs.svc.Changes, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := f.Process(ctx, "fabrikam")
				if err != nil {
					t.Error(err)
				}
				ran[i] = r
			}()
		}
		wg.Wait()
		if ran[0] == ran[1] {
			t.Fatalf("round %d: processed by %v, want exactly one replica", round, ran)
		}
		if m := hs.marks(t); len(m) != 0 {
			t.Fatalf("round %d: marks left %+v", round, m)
		}
	}
}

func TestChangeFeedBackoff(t *testing.T) {
	f := &ChangeFeed{o: ChangeFeedOptions{Config: config.ChangeNotifications{Interval: config.Duration(time.Second)}}, backoff: map[string]retryState{}}
	t0 := time.Unix(0, 0)
	if !f.ready("k", t0) {
		t.Fatal("not ready before any failure")
	}
	f.settle("k", t0, io.EOF)
	if f.ready("k", t0.Add(time.Second)) || !f.ready("k", t0.Add(2*time.Second)) {
		t.Fatal("one failure: want a 2s wait")
	}
	for i := 0; i < 30; i++ {
		f.settle("k", t0, io.EOF)
	}
	if f.ready("k", t0.Add(maxBackoff-time.Second)) || !f.ready("k", t0.Add(maxBackoff)) {
		t.Fatal("repeated failures: want the wait capped at maxBackoff")
	}
	f.settle("k", t0, nil)
	if !f.ready("k", t0) {
		t.Fatal("success must clear the wait")
	}
}
