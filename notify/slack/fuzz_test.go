package slack

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
)

// fuzzHandler is a handler that acts for U0ADMIN01 only and never posts to
// a response_url.
func fuzzHandler(t testing.TB, rec *recorder) *InteractionHandler {
	h, err := NewInteractionHandler(notify.InteractivityConfig{SigningSecret: signingSecret, AllowedUsers: []string{"U0ADMIN01"}},
		HandlerOptions{Actions: rec, Approver: rec, ResponseURLAllowed: func(*url.URL) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func post(h http.Handler, body []byte, ts, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// respell upper-cases the hex digits of sig whose bit in mask is set.
func respell(sig string, mask []byte) string {
	hexPart, _ := strings.CutPrefix(sig, "v0=")
	b := []byte(hexPart)
	for i := range b {
		if len(mask) > 0 && mask[(i/8)%len(mask)]&(1<<(i%8)) != 0 {
			b[i] = strings.ToUpper(string(b[i]))[0]
		}
	}
	return "v0=" + string(b)
}

func interactionBody(user, actionID, value string) []byte {
	payload := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "team": map[string]any{"id": "T0000001"},
		"response_url": "https://hooks.slack.com/actions/T0000001/1/x", "trigger_id": "123.456.abc",
		"actions": []map[string]any{{"type": "button", "action_id": actionID, "block_id": actionsBlock, "value": value}},
	}
	b, _ := json.Marshal(payload)
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}

// FuzzSignatureSpelling: however the signature of a request is spelled,
// it is accepted once and every later delivery of the same signed content,
// in any spelling, gets 401 and changes nothing; a signature without the
// v0= scheme or over another body is refused.
func FuzzSignatureSpelling(f *testing.F) {
	value := `{"tenant":"fabrikam","fingerprint":"4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60"}`
	f.Add(interactionBody("U0ADMIN01", ActionAck, value), []byte{0xff}, []byte{0x00}, "v0=")
	f.Add(interactionBody("U0ADMIN01", ActionApprove, value), []byte{0x00}, []byte{0xff, 0x0f}, "v0=")
	f.Add(interactionBody("U0INTRUDE", ActionSnooze, value), []byte{0x55}, []byte{0xaa}, "V0=")
	f.Add([]byte("payload=%7B%7D"), []byte{}, []byte{1}, "")
	f.Fuzz(func(t *testing.T, body, mask1, mask2 []byte, scheme string) {
		rec := &recorder{}
		h := fuzzHandler(t, rec)
		now := time.Now().Unix()
		ts := strconv.FormatInt(now, 10)
		good := sign(signingSecret, now, body)
		first := scheme + strings.TrimPrefix(respell(good, mask1), "v0=")
		w := post(h, body, ts, first)
		accepted := w.Code != http.StatusUnauthorized
		if accepted != (scheme == "v0=") {
			t.Fatalf("signature %q: status %d (%s)", first, w.Code, w.Body)
		}
		if !accepted && len(rec.get()) > 0 {
			t.Fatalf("a refused request acted: %+v", rec.get())
		}
		calls := len(rec.get())
		second := respell(good, mask2)
		w = post(h, body, ts, second)
		if accepted && w.Code != http.StatusUnauthorized {
			t.Fatalf("replay spelled %q after %q: status %d, want 401", second, first, w.Code)
		}
		if accepted && len(rec.get()) != calls {
			t.Fatalf("the replay acted: %d calls, then %d", calls, len(rec.get()))
		}
		if w := post(h, append(body[:len(body):len(body)], '&'), ts, good); w.Code != http.StatusUnauthorized {
			t.Fatalf("a signature over another body: status %d", w.Code)
		}
	})
}

// FuzzInteractionPayload feeds correctly signed form bodies to the handler:
// it must never panic or fail with a server error, and it acts only on a
// press by an allowed user carrying a tenant and a fingerprint, once per
// action, as that user.
func FuzzInteractionPayload(f *testing.F) {
	value := `{"tenant":"fabrikam","fingerprint":"4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60"}`
	for _, a := range []string{ActionAck, ActionSnooze, ActionApprove, ActionReject, "other"} {
		f.Add(interactionBody("U0ADMIN01", a, value))
	}
	f.Add(interactionBody("U0INTRUDE", ActionAck, value))
	f.Add(interactionBody("U0ADMIN01", ActionAck, `{"tenant":""}`))
	f.Add(interactionBody("U0ADMIN01", ActionAck, `not json`))
	f.Add([]byte("payload=" + url.QueryEscape(`{"type":"view_submission","user":{"id":"U0ADMIN01"}}`)))
	f.Add([]byte("payload=%7B"))
	f.Add([]byte("a=%zz"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := &recorder{}
		h := fuzzHandler(t, rec)
		now := time.Now().Unix()
		w := post(h, body, strconv.FormatInt(now, 10), sign(signingSecret, now, body))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden:
		default:
			t.Fatalf("status %d (%s)", w.Code, w.Body)
		}
		calls := rec.get()
		if len(calls) == 0 {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatalf("acted on a malformed form: %+v", calls)
		}
		var cb struct {
			User    struct{ ID string } `json:"user"`
			Actions []json.RawMessage   `json:"actions"`
		}
		if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
			t.Fatalf("acted on a payload that is not JSON: %+v", calls)
		}
		if cb.User.ID != "U0ADMIN01" || len(calls) > len(cb.Actions) {
			t.Fatalf("user %q with %d actions made %d calls", cb.User.ID, len(cb.Actions), len(calls))
		}
		for _, c := range calls {
			if c.Tenant == "" || c.Fingerprint == "" || c.By != "slack:U0ADMIN01" {
				t.Fatalf("call without tenant, fingerprint or its user: %+v", c)
			}
		}
	})
}
