package m365test_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

// receiver is a notification endpoint that answers validation requests
// when answer is true and records notifications.
type receiver struct {
	mu     sync.Mutex
	answer bool
	wrong  bool
	bodies []string
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{answer: true}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if tok := req.URL.Query().Get("validationToken"); tok != "" {
			if !r.answer {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			if r.wrong {
				tok = "something else"
			}
			_, _ = io.WriteString(w, tok)
			return
		}
		b, _ := io.ReadAll(req.Body)
		r.bodies = append(r.bodies, string(b))
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}

func TestSubscriptions(t *testing.T) {
	srv := newFabrikam(t)
	rcv := newReceiver(t)
	srv.SetNotifyOptions(m365test.NotifyOptions{Client: rcv.srv.Client(), MeanDelay: time.Millisecond, Seed: 1})
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := srv.Clock().Now()
	req := m365.SubscriptionRequest{DriveID: "b!Qx1-fin", NotificationURL: rcv.srv.URL + "/graph/notifications/t", ClientState: "s3cret", Expires: now.Add(72 * time.Hour)}

	t.Run("refused", func(t *testing.T) {
		for name, tc := range map[string]struct {
			mut    func(*m365.SubscriptionRequest)
			status int
		}{
			"too long":      {func(r *m365.SubscriptionRequest) { r.Expires = now.Add(m365.DriveItemMaxLifetime + time.Hour) }, 400},
			"http url":      {func(r *m365.SubscriptionRequest) { r.NotificationURL = "http://example.invalid/n" }, 400},
			"unknown drive": {func(r *m365.SubscriptionRequest) { r.DriveID = "b!nope" }, 404},
		} {
			r := req
			tc.mut(&r)
			if _, err := c.Subscribe(ctx, r); !m365.IsStatus(err, tc.status) {
				t.Errorf("%s: want %d, got %v", name, tc.status, err)
			}
		}
		status, body := do(t, srv, "POST", "/v1.0/subscriptions", map[string]string{"Authorization": "Bearer t", "Content-Type": "application/json"},
			`{"changeType":"created","notificationUrl":"`+req.NotificationURL+`","resource":"drives/b!Qx1-fin/root","expirationDateTime":"`+req.Expires.Format(time.RFC3339)+`"}`)
		if status != 400 || !strings.Contains(body, "ChangeType") {
			t.Errorf("changeType created: %d %s", status, body)
		}
		status, body = do(t, srv, "POST", "/v1.0/subscriptions", map[string]string{"Authorization": "Bearer t", "Content-Type": "application/json"},
			`{"changeType":"updated","notificationUrl":"`+req.NotificationURL+`","resource":"drives/b!Qx1-fin/root","expirationDateTime":"`+req.Expires.Format(time.RFC3339)+`","bogus":1}`)
		if status != 400 || !strings.Contains(body, "bogus") {
			t.Errorf("unknown property: %d %s", status, body)
		}
		rcv.mu.Lock()
		rcv.answer = false
		rcv.mu.Unlock()
		if _, err := c.Subscribe(ctx, req); !m365.IsStatus(err, 400) || !strings.Contains(err.Error(), "validation") {
			t.Errorf("receiver refusing validation: %v", err)
		}
		rcv.mu.Lock()
		rcv.answer, rcv.wrong = true, true
		rcv.mu.Unlock()
		if _, err := c.Subscribe(ctx, req); !m365.IsStatus(err, 400) {
			t.Errorf("receiver echoing a wrong token: %v", err)
		}
		rcv.mu.Lock()
		rcv.wrong = false
		rcv.mu.Unlock()
		if n := len(srv.Subscriptions()); n != 0 {
			t.Fatalf("%d subscriptions after refusals", n)
		}
	})

	sub, err := c.Subscribe(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Resource != "drives/b!Qx1-fin/root" || !sub.ExpirationDateTime.Equal(req.Expires.Truncate(time.Second)) {
		t.Fatalf("subscription: %+v", sub)
	}
	// Under 45 minutes becomes 45 minutes.
	short, err := c.RenewSubscription(ctx, sub.ID, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if d := short.ExpirationDateTime.Sub(now); d < m365.SubscriptionMinLifetime-time.Second {
		t.Fatalf("short expiry not raised to 45 minutes: %v", d)
	}
	if _, err := c.RenewSubscription(ctx, "00000000-0000-0000-0000-000000000000", now.Add(time.Hour)); !m365.IsStatus(err, 404) {
		t.Fatalf("renew unknown: %v", err)
	}

	// A sharing change is delivered with the clientState.
	if _, _, err := srv.AddAnyoneFile("b!Qx1-fin", "Budget.xlsx"); err != nil {
		t.Fatal(err)
	}
	srv.WaitDeliveries()
	got := rcv.received()
	if len(got) != 1 || !strings.Contains(got[0], `"clientState":"s3cret"`) || !strings.Contains(got[0], sub.ID) {
		t.Fatalf("notifications: %q", got)
	}
	ns, err := m365.ParseNotifications([]byte(got[0]))
	if err != nil || len(ns) != 1 || ns[0].Resource != "drives/b!Qx1-fin/root" {
		t.Fatalf("parse delivered notification: %+v %v", ns, err)
	}
	if err := c.Unsubscribe(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.AddAnyoneFile("b!Qx1-fin", "After.xlsx"); err != nil {
		t.Fatal(err)
	}
	srv.WaitDeliveries()
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("notified after unsubscribing: %d", n)
	}
}

// TestSubscriptionWithoutSecurityWebhooks: without the Prefer header a
// sharing change is not notified.
func TestSubscriptionWithoutSecurityWebhooks(t *testing.T) {
	srv := newFabrikam(t)
	rcv := newReceiver(t)
	srv.SetNotifyOptions(m365test.NotifyOptions{Client: rcv.srv.Client(), MeanDelay: time.Millisecond})
	exp := srv.Clock().Now().Add(time.Hour).UTC().Format(time.RFC3339)
	status, body := do(t, srv, "POST", "/v1.0/subscriptions", map[string]string{"Authorization": "Bearer t", "Content-Type": "application/json"},
		`{"changeType":"updated","notificationUrl":"`+rcv.srv.URL+`/n","resource":"drives/b!Qx1-fin/root","expirationDateTime":"`+exp+`","clientState":"x"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	if _, _, err := srv.AddAnyoneFile("b!Qx1-fin", "Budget.xlsx"); err != nil {
		t.Fatal(err)
	}
	srv.WaitDeliveries()
	if n := len(rcv.received()); n != 0 {
		t.Fatalf("%d notifications without includesecuritywebhooks", n)
	}
}

// TestNotificationDelaysAndDrops checks the delivery model: delays capped
// at the documented maximum with a mean under a minute, some dropped.
func TestNotificationDelaysAndDrops(t *testing.T) {
	srv, err := m365test.New(fabrikam, m365test.Options{TimeScale: 100000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	rcv := newReceiver(t)
	srv.SetNotifyOptions(m365test.NotifyOptions{Client: rcv.srv.Client(), DropRate: 0.1, Seed: 7})
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(context.Background(), m365.SubscriptionRequest{DriveID: "b!Qx1-fin", NotificationURL: rcv.srv.URL + "/n",
		ClientState: "x", Expires: srv.Clock().Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := 0; i < n; i++ {
		if _, _, err := srv.AddAnyoneFile("b!Qx1-fin", "f.xlsx"); err != nil {
			t.Fatal(err)
		}
	}
	srv.WaitDeliveries()
	var sum time.Duration
	dropped, sent := 0, 0
	for _, d := range srv.Deliveries() {
		delay := d.Due.Sub(d.Changed)
		if delay < 0 || delay > m365.DriveItemLatencyMax {
			t.Fatalf("delay %v outside [0, %v]", delay, m365.DriveItemLatencyMax)
		}
		if d.Dropped {
			dropped++
			continue
		}
		sent++
		sum += delay
	}
	if dropped == 0 || dropped > n/5 {
		t.Fatalf("dropped %d of %d at rate 0.1", dropped, n)
	}
	if mean := sum / time.Duration(sent); mean >= m365.DriveItemLatencyAverage {
		t.Fatalf("mean delay %v, documented under %v", mean, m365.DriveItemLatencyAverage)
	}
	if got := len(rcv.received()); got != sent {
		t.Fatalf("receiver got %d, fake sent %d", got, sent)
	}
}
