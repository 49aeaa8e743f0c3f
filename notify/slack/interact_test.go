package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

type call struct {
	Op, Tenant, Fingerprint, By string
	Until                       time.Time
}

// recorder implements FindingActions and Approver and records every call:
// "no state change" means no recorded call.
type recorder struct {
	mu    sync.Mutex
	calls []call
	// refuse, when set, is what AcceptRisk answers.
	refuse error
}

func (r *recorder) add(c call) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return nil
}
func (r *recorder) Acknowledge(_ context.Context, t, fp, by string) error {
	return r.add(call{Op: "ack", Tenant: t, Fingerprint: fp, By: by})
}
func (r *recorder) Snooze(_ context.Context, t, fp string, until time.Time, by string) error {
	return r.add(call{Op: "snooze", Tenant: t, Fingerprint: fp, By: by, Until: until})
}
func (r *recorder) AcceptRisk(_ context.Context, t, fp string, a Acceptance) error {
	if r.refuse != nil {
		return r.refuse
	}
	return r.add(call{Op: "accept:" + a.Reason + "|" + a.Owner, Tenant: t, Fingerprint: fp, By: a.By, Until: a.Until})
}
func (r *recorder) Approve(_ context.Context, t, fp, by string) error {
	return r.add(call{Op: "approve", Tenant: t, Fingerprint: fp, By: by})
}
func (r *recorder) Reject(_ context.Context, t, fp, by string) error {
	return r.add(call{Op: "reject", Tenant: t, Fingerprint: fp, By: by})
}
func (r *recorder) get() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// interaction builds the form body Slack posts for a button press.
func interaction(t *testing.T, user, actionID, responseURL string) []byte {
	t.Helper()
	v, _ := json.Marshal(ActionValue{Tenant: "fabrikam", Fingerprint: "4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60"})
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": "admin"},
		"team":         map[string]any{"id": "T0000001"},
		"channel":      map[string]any{"id": "C0ALERTS1"},
		"response_url": responseURL,
		"trigger_id":   "123.456.abc",
		"message":      map[string]any{"ts": "1700000000.000101"},
		"actions": []map[string]any{{
			"type": "button", "action_id": actionID, "block_id": actionsBlock, "value": string(v), "action_ts": "1700000001.000200",
		}},
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}

func sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

func TestInteractions(t *testing.T) {
	hooks := slackfake.New()
	defer hooks.Close()
	now := time.Now()
	tests := []struct {
		name       string
		user       string
		action     string
		secret     string
		age        time.Duration
		noHeaders  bool
		wantStatus int
		wantCall   string
	}{
		{"valid acknowledge", "U0ADMIN01", ActionAck, signingSecret, 0, false, http.StatusOK, "ack"},
		{"valid snooze", "U0ADMIN01", ActionSnooze, signingSecret, 0, false, http.StatusOK, "snooze"},
		{"valid approval", "U0ADMIN01", ActionApprove, signingSecret, 0, false, http.StatusOK, "approve"},
		{"valid rejection", "U0ADMIN02", ActionReject, signingSecret, time.Minute, false, http.StatusOK, "reject"},
		{"wrong signature", "U0ADMIN01", ActionApprove, "not-the-signing-secret", 0, false, http.StatusUnauthorized, ""},
		{"stale timestamp", "U0ADMIN01", ActionApprove, signingSecret, 10 * time.Minute, false, http.StatusUnauthorized, ""},
		{"no signature headers", "U0ADMIN01", ActionApprove, signingSecret, 0, true, http.StatusUnauthorized, ""},
		{"unknown user", "U0INTRUDE", ActionApprove, signingSecret, 0, false, http.StatusForbidden, ""},
		{"unknown user acknowledging", "U0INTRUDE", ActionAck, signingSecret, 0, false, http.StatusForbidden, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h, err := NewInteractionHandler(notify.InteractivityConfig{
				SigningSecret: signingSecret, AllowedUsers: []string{"U0ADMIN01", "U0ADMIN02"},
			}, HandlerOptions{Actions: rec, Approver: rec, Now: func() time.Time { return now },
				ResponseURLAllowed: func(u *url.URL) bool { return u.Host == strings.TrimPrefix(hooks.URL, "http://") }})
			if err != nil {
				t.Fatal(err)
			}
			body := interaction(t, tc.user, tc.action, hooks.URL+"/actions/T0000001/respond")
			req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if !tc.noHeaders {
				ts := now.Add(-tc.age).Unix()
				req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
				req.Header.Set("X-Slack-Signature", sign(tc.secret, ts, body))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.wantStatus, w.Body.String())
			}
			calls := rec.get()
			if tc.wantCall == "" {
				if len(calls) != 0 {
					t.Fatalf("refused request changed state: %+v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0].Op != tc.wantCall || calls[0].Tenant != "fabrikam" ||
				calls[0].Fingerprint != "4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60" || calls[0].By != "slack:"+tc.user {
				t.Fatalf("calls = %+v, want one %s by slack:%s", calls, tc.wantCall, tc.user)
			}
			if tc.wantCall == "snooze" && !calls[0].Until.Equal(now.Add(7*24*time.Hour)) {
				t.Errorf("snoozed until %v, want 7 days from now", calls[0].Until)
			}
			// A replay of the same signed request is refused.
			req2 := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
			req2.Header = req.Header.Clone()
			w2 := httptest.NewRecorder()
			h.ServeHTTP(w2, req2)
			if w2.Code != http.StatusUnauthorized || len(rec.get()) != 1 {
				t.Errorf("replay: status %d, calls %d; want 401 and no new call", w2.Code, len(rec.get()))
			}
		})
	}
	// Every accepted press was confirmed through its response_url.
	if got := len(hooks.Requests()); got != 4 {
		t.Errorf("response_url posts = %d, want 4", got)
	}
}

func TestInteractionConfigErrors(t *testing.T) {
	rec := &recorder{}
	for _, cfg := range []notify.InteractivityConfig{
		{AllowedUsers: []string{"U0ADMIN01"}},
		{SigningSecret: signingSecret},
	} {
		if _, err := NewInteractionHandler(cfg, HandlerOptions{Actions: rec}); err == nil {
			t.Errorf("config %+v accepted", cfg.AllowedUsers)
		}
	}
}

// TestReplayRespelledSignature: a captured press replayed with its
// signature spelled differently (the same MAC in upper- or mixed-case hex)
// is the same signed request, refused with 401 and acted on once.
func TestReplayRespelledSignature(t *testing.T) {
	now := time.Now()
	rec := &recorder{}
	h, err := NewInteractionHandler(notify.InteractivityConfig{SigningSecret: signingSecret, AllowedUsers: []string{"U0ADMIN01"}},
		HandlerOptions{Actions: rec, Approver: rec, Now: func() time.Time { return now }, ResponseURLAllowed: func(*url.URL) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	body := interaction(t, "U0ADMIN01", ActionApprove, "")
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := sign(signingSecret, now.Unix(), body)
	mixed := []byte(sig)
	for i := 3; i < len(mixed); i += 2 {
		mixed[i] = strings.ToUpper(string(mixed[i]))[0]
	}
	press := func(sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if code := press(sig); code != http.StatusOK {
		t.Fatalf("first press: status %d", code)
	}
	for _, variant := range []string{"v0=" + strings.ToUpper(strings.TrimPrefix(sig, "v0=")), string(mixed), sig} {
		if code := press(variant); code != http.StatusUnauthorized {
			t.Errorf("replay signed %s: status %d, want 401", variant, code)
		}
	}
	if calls := rec.get(); len(calls) != 1 {
		t.Fatalf("the press ran %d times: %+v", len(calls), calls)
	}
	// A new press (another timestamp) is still accepted.
	ts = strconv.FormatInt(now.Unix()-1, 10)
	if code := press(sign(signingSecret, now.Unix()-1, body)); code != http.StatusOK || len(rec.get()) != 2 {
		t.Errorf("a fresh press: status %d, %d calls", code, len(rec.get()))
	}
}
