package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
)

const acceptFP = "4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60"

// submission builds the form body Slack posts when the accept-risk modal
// is submitted.
func submission(t *testing.T, user, meta, reason, owner, date string) []byte {
	t.Helper()
	payload := map[string]any{
		"type": "view_submission",
		"user": map[string]any{"id": user},
		"team": map[string]any{"id": "T0000001"},
		"view": map[string]any{
			"id": "V0000001", "type": "modal", "callback_id": CallbackAccept, "private_metadata": meta,
			"state": map[string]any{"values": map[string]any{
				acceptReason: map[string]any{acceptReason: map[string]any{"type": "plain_text_input", "value": reason}},
				acceptOwner:  map[string]any{acceptOwner: map[string]any{"type": "plain_text_input", "value": owner}},
				acceptUntil:  map[string]any{acceptUntil: map[string]any{"type": "datepicker", "selected_date": date}},
			}},
		},
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}

// TestAcceptRiskForm: the Accept risk button opens a form through the
// Slack Web API (slack-go against the local fake); its submission records
// the acceptance with who made it, and bad input keeps the form open with
// the reason under the field and changes nothing.
func TestAcceptRiskForm(t *testing.T) {
	api := slackfake.New()
	defer api.Close()
	bot, err := New("alerts", &notify.SlackConfig{Token: "xoxb-test-token", Channel: "C0ALERTS1", APIURL: api.APIURL()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Slack's signature check uses the wall clock, so the test does too.
	now := time.Now().UTC()
	day := func(d int) string { return now.AddDate(0, 0, d).Format("2006-01-02") }
	newHandler := func(rec *recorder, views ViewOpener) *InteractionHandler {
		h, err := NewInteractionHandler(notify.InteractivityConfig{SigningSecret: signingSecret, AllowedUsers: []string{"U0ADMIN01"}},
			HandlerOptions{Actions: rec, Views: views, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	post := func(h http.Handler, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(string(body)))
		ts := now.Unix()
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", sign(signingSecret, ts, body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	// The button opens the form for this finding and changes nothing yet.
	rec := &recorder{}
	h := newHandler(rec, bot)
	if w := post(h, interaction(t, "U0ADMIN01", ActionAccept, "")); w.Code != http.StatusOK {
		t.Fatalf("press: %d %s", w.Code, w.Body)
	}
	var opened *slackfake.Request
	for _, r := range api.Requests() {
		if r.Method == "views.open" {
			opened = &r
		}
	}
	if opened == nil || opened.Status != http.StatusOK {
		t.Fatalf("no accepted views.open call: %+v", api.Requests())
	}
	var sent struct {
		TriggerID string `json:"trigger_id"`
		View      struct {
			CallbackID      string `json:"callback_id"`
			PrivateMetadata string `json:"private_metadata"`
		} `json:"view"`
	}
	if err := json.Unmarshal(opened.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.TriggerID != "123.456.abc" || sent.View.CallbackID != CallbackAccept || !strings.Contains(sent.View.PrivateMetadata, acceptFP) {
		t.Errorf("views.open = %+v", sent)
	}
	if len(rec.get()) != 0 {
		t.Fatalf("opening the form changed state: %+v", rec.get())
	}
	meta := sent.View.PrivateMetadata

	// A valid submission records the acceptance through the end of the day.
	if w := post(h, submission(t, "U0ADMIN01", meta, " press kit, public by design ", "comms@fabrikam.com", day(118))); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("submit: %d %q, want 200 and an empty body (closes the form)", w.Code, w.Body)
	}
	calls := rec.get()
	d := now.AddDate(0, 0, 118)
	want := time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, time.UTC)
	if len(calls) != 1 || calls[0].Op != "accept:press kit, public by design|comms@fabrikam.com" || calls[0].By != "slack:U0ADMIN01" ||
		calls[0].Tenant != "fabrikam" || calls[0].Fingerprint != acceptFP || !calls[0].Until.Equal(want) {
		t.Fatalf("calls = %+v", calls)
	}

	// Bad input: the form stays open with a message per field; nothing stored.
	for _, tc := range []struct {
		name                string
		user, reason, owner string
		date                string
		meta                string
		refuse              error
		status              int
		fields              []string
	}{
		{"empty reason and owner", "U0ADMIN01", "  ", "", day(59), meta, nil, 200, []string{acceptReason, acceptOwner}},
		{"yesterday", "U0ADMIN01", "r", "o", day(-1), meta, nil, 200, []string{acceptUntil}},
		{"no date", "U0ADMIN01", "r", "o", "", meta, nil, 200, []string{acceptUntil}},
		{"more than a year", "U0ADMIN01", "r", "o", day(400), meta, nil, 200, []string{acceptUntil}},
		{"resolved meanwhile", "U0ADMIN01", "r", "o", day(59), meta, fmt.Errorf("%w: finding is resolved", ErrRefused), 200, []string{acceptReason}},
		{"unknown finding", "U0ADMIN01", "r", "o", day(59), meta, fmt.Errorf("%w: x", ErrNotFound), 200, []string{acceptReason}},
		{"user not allowed", "U0INTRUDE", "r", "o", day(59), meta, nil, http.StatusForbidden, nil},
		{"forged metadata", "U0ADMIN01", "r", "o", day(59), `{"tenant":""}`, nil, http.StatusBadRequest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{refuse: tc.refuse}
			w := post(newHandler(rec, bot), submission(t, tc.user, tc.meta, tc.reason, tc.owner, tc.date))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if len(rec.get()) != 0 {
				t.Fatalf("refused submission stored: %+v", rec.get())
			}
			if tc.fields == nil {
				return
			}
			var resp struct {
				Action string            `json:"response_action"`
				Errors map[string]string `json:"errors"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Action != "errors" {
				t.Fatalf("response %q: want response_action errors", w.Body)
			}
			for _, f := range tc.fields {
				if resp.Errors[f] == "" {
					t.Errorf("no message under %s: %v", f, resp.Errors)
				}
			}
			if len(resp.Errors) != len(tc.fields) {
				t.Errorf("errors %v, want only %v", resp.Errors, tc.fields)
			}
		})
	}

	// Without a bot token the button is refused, and nothing is opened.
	before := len(api.Requests())
	if w := post(newHandler(&recorder{}, nil), interaction(t, "U0ADMIN01", ActionAccept, "")); w.Code != http.StatusBadRequest {
		t.Errorf("press without a bot token: %d, want 400", w.Code)
	}
	if len(api.Requests()) != before {
		t.Error("a form was opened without a bot token")
	}
}
