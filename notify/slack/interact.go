package slack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/sharedrift/sharedrift/notify"
)

// FindingActions changes a finding's lifecycle from a button press. by is
// "slack:<user ID>".
type FindingActions interface {
	Acknowledge(ctx context.Context, tenant, fingerprint, by string) error
	Snooze(ctx context.Context, tenant, fingerprint string, until time.Time, by string) error
}

// Approver acts on a remediation decision made in Slack; remediation
// implements it. by is "slack:<user ID>".
type Approver interface {
	Approve(ctx context.Context, tenant, fingerprint, by string) error
	Reject(ctx context.Context, tenant, fingerprint, by string) error
}

// ErrNotFound may be returned (wrapped) by FindingActions and Approver when
// the finding does not exist; the handler answers 404.
var ErrNotFound = errors.New("finding not found")

// SnoozeFor is how long the Snooze button silences a finding.
const SnoozeFor = 7 * 24 * time.Hour

// maxBody bounds an interaction request; Slack's payloads are a few KB.
const maxBody = 1 << 20

// HandlerOptions are the handler's dependencies.
type HandlerOptions struct {
	Actions FindingActions
	// Approver may be nil when remediation is not enabled; approval
	// buttons are then refused.
	Approver Approver
	Logger   *slog.Logger
	Now      func() time.Time
	// HTTPClient posts the confirmation to the interaction's response_url.
	HTTPClient *http.Client
	// ResponseURLAllowed guards which response_url the handler will post to
	// (default: https on slack.com), so a forged payload cannot make the
	// daemon call arbitrary hosts.
	ResponseURLAllowed func(*url.URL) bool
}

// InteractionHandler serves Slack's interactivity requests (button presses).
// It verifies the request signature with the signing secret, refuses stale
// or replayed requests with 401 and presses by users not listed in
// AllowedUsers with 403; refused requests change nothing.
type InteractionHandler struct {
	secret  string
	allowed map[string]bool
	o       HandlerOptions

	mu   sync.Mutex
	seen map[[sha256.Size]byte]time.Time // what was signed → when it may be forgotten
}

// NewInteractionHandler validates cfg and builds the handler.
func NewInteractionHandler(cfg notify.InteractivityConfig, o HandlerOptions) (*InteractionHandler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Actions == nil {
		return nil, errors.New("slack interactivity: no finding actions")
	}
	secret, _ := cfg.SigningSecret.Resolve()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if o.ResponseURLAllowed == nil {
		o.ResponseURLAllowed = func(u *url.URL) bool {
			return u.Scheme == "https" && (u.Hostname() == "slack.com" || strings.HasSuffix(u.Hostname(), ".slack.com"))
		}
	}
	h := &InteractionHandler{secret: secret, allowed: map[string]bool{}, o: o, seen: map[[sha256.Size]byte]time.Time{}}
	for _, u := range cfg.AllowedUsers {
		h.allowed[u] = true
	}
	return h, nil
}

func (h *InteractionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "request body unreadable or too large", http.StatusBadRequest)
		return
	}
	if status, msg := h.verify(r.Header, body); status != 0 {
		h.o.Logger.Warn("slack interaction refused", "status", status, "reason", msg, "remote", r.RemoteAddr)
		http.Error(w, msg, status)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	var cb goslack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	if cb.Type != goslack.InteractionTypeBlockActions {
		// Nothing else is wired; acknowledge so Slack does not show an error.
		w.WriteHeader(http.StatusOK)
		return
	}
	if !h.allowed[cb.User.ID] {
		h.o.Logger.Warn("slack interaction from a user not allowed", "user", cb.User.ID)
		http.Error(w, "user not allowed to act on sharedrift findings", http.StatusForbidden)
		return
	}
	var done []string
	for _, a := range cb.ActionCallback.BlockActions {
		msg, status, err := h.act(r.Context(), cb.User.ID, a)
		if err != nil {
			h.o.Logger.Error("slack interaction failed", "action", a.ActionID, "user", cb.User.ID, "error", err)
			http.Error(w, err.Error(), status)
			return
		}
		if msg != "" {
			done = append(done, msg)
		}
	}
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if len(done) > 0 && cb.ResponseURL != "" {
		h.confirm(r.Context(), cb.ResponseURL, strings.Join(done, "\n"))
	}
}

// verify returns a non-zero status when the request is not a fresh,
// correctly signed request from Slack, or one already accepted.
func (h *InteractionHandler) verify(header http.Header, body []byte) (int, string) {
	// The verifier hex-decodes the signature and compares MAC bytes, so any
	// spelling of the right MAC (upper-case hex too) passes here.
	sv, err := goslack.NewSecretsVerifier(header, h.secret)
	switch {
	case errors.Is(err, goslack.ErrExpiredTimestamp):
		return http.StatusUnauthorized, "stale request timestamp"
	case err != nil:
		return http.StatusUnauthorized, "missing or malformed signature headers"
	}
	if _, err := sv.Write(body); err != nil {
		return http.StatusUnauthorized, "signature check failed"
	}
	if err := sv.Ensure(); err != nil {
		return http.StatusUnauthorized, "invalid signature"
	}
	// A captured request stays valid for Slack's five-minute window; refuse
	// the same signed content twice within it. The key is what the MAC
	// covers, not the header's text, which a replayer can respell.
	key := signedKey(header.Get("X-Slack-Request-Timestamp"), body)
	now := h.o.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, exp := range h.seen {
		if now.After(exp) {
			delete(h.seen, k)
		}
	}
	if _, dup := h.seen[key]; dup {
		return http.StatusUnauthorized, "replayed request"
	}
	h.seen[key] = now.Add(10 * time.Minute)
	return 0, ""
}

// signedKey identifies the content a v0 signature covers, "v0:ts:body".
func signedKey(ts string, body []byte) [sha256.Size]byte {
	m := sha256.New()
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

func (h *InteractionHandler) act(ctx context.Context, user string, a *goslack.BlockAction) (string, int, error) {
	var v ActionValue
	if err := json.Unmarshal([]byte(a.Value), &v); err != nil || v.Tenant == "" || v.Fingerprint == "" {
		return "", http.StatusBadRequest, fmt.Errorf("action %s: malformed value", a.ActionID)
	}
	by := "slack:" + user
	var err error
	var msg string
	switch a.ActionID {
	case ActionAck:
		err = h.o.Actions.Acknowledge(ctx, v.Tenant, v.Fingerprint, by)
		msg = fmt.Sprintf("<@%s> acknowledged finding `%s`.", user, short(v.Fingerprint))
	case ActionSnooze:
		until := h.o.Now().Add(SnoozeFor)
		err = h.o.Actions.Snooze(ctx, v.Tenant, v.Fingerprint, until, by)
		msg = fmt.Sprintf("<@%s> snoozed finding `%s` until %s.", user, short(v.Fingerprint), until.UTC().Format("2006-01-02"))
	case ActionApprove, ActionReject:
		if h.o.Approver == nil {
			return "", http.StatusBadRequest, errors.New("remediation approvals are not enabled")
		}
		if a.ActionID == ActionApprove {
			err = h.o.Approver.Approve(ctx, v.Tenant, v.Fingerprint, by)
			msg = fmt.Sprintf("<@%s> approved the fix for `%s`.", user, short(v.Fingerprint))
		} else {
			err = h.o.Approver.Reject(ctx, v.Tenant, v.Fingerprint, by)
			msg = fmt.Sprintf("<@%s> rejected the fix for `%s`.", user, short(v.Fingerprint))
		}
	default:
		return "", 0, nil
	}
	if errors.Is(err, ErrNotFound) {
		return "", http.StatusNotFound, fmt.Errorf("action %s: %w", a.ActionID, err)
	}
	if err != nil {
		return "", http.StatusInternalServerError, fmt.Errorf("action %s on %s: %w", a.ActionID, short(v.Fingerprint), err)
	}
	return msg, 0, nil
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// confirm tells the channel what was done, through the response_url.
func (h *InteractionHandler) confirm(ctx context.Context, responseURL, text string) {
	u, err := url.Parse(responseURL)
	if err != nil || !h.o.ResponseURLAllowed(u) {
		h.o.Logger.Warn("slack response_url refused", "host", hostOf(u))
		return
	}
	body, _ := json.Marshal(map[string]any{"response_type": "in_channel", "replace_original": false, "text": text})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, responseURL, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.o.HTTPClient.Do(req)
	if err != nil {
		h.o.Logger.Warn("slack response_url post failed", "error", err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func hostOf(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Host
}
