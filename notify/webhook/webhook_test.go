package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/tenant"
)

const secret = "a-long-webhook-signing-secret"

func TestSignedDelivery(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []error
		body Body
		key  string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, Verify([]byte(secret), r.Header, raw, time.Now(), 5*time.Minute))
		_ = json.Unmarshal(raw, &body)
		key = r.Header.Get(HeaderDelivery)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n, err := New("siem", &notify.WebhookConfig{URL: srv.URL, Secret: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := notify.Finding{Fingerprint: "fp1", Tenant: "fabrikam", RuleID: "R1", Severity: tenant.SeverityHigh, ObjectKey: "site:1"}
	if _, err := n.Notify(context.Background(), &notify.Notification{Kind: notify.KindNew, Key: "new/siem/fp1/s1", Tenant: "fabrikam", Finding: &f}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("receiver verification: %v", got)
	}
	if body.Schema != SchemaV1 || body.ID != "new/siem/fp1/s1" || key != body.ID || body.Finding.Fingerprint != "fp1" {
		t.Errorf("body = %+v, delivery key %q", body, key)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1741080600, 0)
	body := []byte(`{"schema":"sharedrift.notification/v1"}`)
	h := func(ts int64, sig string) http.Header {
		hd := http.Header{}
		hd.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		hd.Set(HeaderSignature, sig)
		return hd
	}
	good := Sign([]byte(secret), now.Unix(), body)
	with := func(hd http.Header, key, value string) http.Header {
		hd.Set(key, value)
		return hd
	}
	withID := []byte(`{"schema":"sharedrift.notification/v1","id":"new/siem/fp1/s1"}`)
	goodID := Sign([]byte(secret), now.Unix(), withID)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"valid", h(now.Unix(), good), body, nil},
		// The same MAC spelled in upper case is the same signature; what
		// tells a replay is the signed id, not the header's text.
		{"upper-case hex", h(now.Unix(), "v1="+strings.ToUpper(strings.TrimPrefix(good, "v1="))), body, nil},
		{"no scheme", h(now.Unix(), strings.TrimPrefix(good, "v1=")), body, ErrBadSignature},
		{"short MAC", h(now.Unix(), good[:len(good)-2]), body, ErrBadSignature},
		{"timestamp respelled", with(h(now.Unix(), good), HeaderTimestamp, "+"+strconv.FormatInt(now.Unix(), 10)), body, ErrMissingHeaders},
		{"timestamp with leading zero", with(h(now.Unix(), good), HeaderTimestamp, "0"+strconv.FormatInt(now.Unix(), 10)), body, ErrMissingHeaders},
		{"delivery repeats the id", with(h(now.Unix(), goodID), HeaderDelivery, "new/siem/fp1/s1"), withID, nil},
		{"delivery changed on replay", with(h(now.Unix(), goodID), HeaderDelivery, "new/siem/fp1/s2"), withID, ErrBadSignature},
		{"tampered body", h(now.Unix(), good), []byte(`{"schema":"x"}`), ErrBadSignature},
		{"wrong secret", h(now.Unix(), Sign([]byte("other-secret-other"), now.Unix(), body)), body, ErrBadSignature},
		{"stale", h(now.Unix()-600, Sign([]byte(secret), now.Unix()-600, body)), body, ErrStale},
		{"missing", http.Header{}, body, ErrMissingHeaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Verify([]byte(secret), tc.header, tc.body, now, 5*time.Minute); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStatusPolicy(t *testing.T) {
	tests := []struct {
		status    int
		retry     bool
		retryWait time.Duration
	}{
		{http.StatusOK, false, 0},
		{http.StatusBadRequest, false, 0},
		{http.StatusUnauthorized, false, 0},
		{http.StatusTooManyRequests, true, 30 * time.Second},
		{http.StatusBadGateway, true, 0},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryWait > 0 {
					w.Header().Set("Retry-After", "30")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, "payload refused: unknown kind")
			}))
			defer srv.Close()
			n, err := New("siem", &notify.WebhookConfig{URL: srv.URL, Secret: secret}, nil)
			if err != nil {
				t.Fatal(err)
			}
			retry, err := n.Notify(context.Background(), &notify.Notification{Kind: notify.KindTest, Key: "k"})
			if tc.status == http.StatusOK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || retry != tc.retry {
				t.Fatalf("retry=%v err=%v, want retry=%v and an error", retry, err, tc.retry)
			}
			if !tc.retry && (!errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "payload refused")) {
				t.Errorf("rejection not reported with the reason: %v", err)
			}
			var ra *notify.RetryAfterError
			if tc.retryWait > 0 && (!errors.As(err, &ra) || ra.After != tc.retryWait) {
				t.Errorf("Retry-After not honoured: %v", err)
			}
		})
	}
}
