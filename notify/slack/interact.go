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
	// AcceptRisk records an accepted risk; it returns ErrRefused (wrapped,
	// with the reason) when the store refuses it.
	AcceptRisk(ctx context.Context, tenant, fingerprint string, a Acceptance) error
}

// Acceptance is an accepted risk as filled in the Slack form.
type Acceptance struct {
	Reason, Owner, By string
	Until             time.Time
}

// ViewOpener opens a modal for an interaction's trigger_id: a Slack
// destination in bot token mode.
type ViewOpener interface {
	OpenViewContext(ctx context.Context, triggerID string, view goslack.ModalViewRequest) (*goslack.ViewResponse, error)
}

// ErrRefused may be returned (wrapped) by AcceptRisk when the finding
// cannot be accepted (resolved meanwhile, expiry in the past); the form
// shows the reason.
var ErrRefused = errors.New("refused")

// MaxAcceptFor bounds an acceptance made from Slack; a longer one is a
// decision for the baseline, reviewed like the rest of it.
const MaxAcceptFor = 366 * 24 * time.Hour

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
	// Views opens the accept-risk form; nil refuses Accept risk presses
	// (no Slack destination with a bot token).
	Views  ViewOpener
	Logger *slog.Logger
	Now    func() time.Time
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
	isSubmission := cb.Type == goslack.InteractionTypeViewSubmission && cb.View.CallbackID == CallbackAccept
	if cb.Type != goslack.InteractionTypeBlockActions && !isSubmission {
		// Nothing else is wired; acknowledge so Slack does not show an error.
		w.WriteHeader(http.StatusOK)
		return
	}
	if !h.allowed[cb.User.ID] {
		h.o.Logger.Warn("slack interaction from a user not allowed", "user", cb.User.ID)
		http.Error(w, "user not allowed to act on sharedrift findings", http.StatusForbidden)
		return
	}
	if isSubmission {
		h.submitAccept(r.Context(), w, &cb)
		return
	}
	var done []string
	for _, a := range cb.ActionCallback.BlockActions {
		msg, status, err := h.act(r.Context(), &cb, a)
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

func (h *InteractionHandler) act(ctx context.Context, cb *goslack.InteractionCallback, a *goslack.BlockAction) (string, int, error) {
	user := cb.User.ID
	var v ActionValue
	if err := json.Unmarshal([]byte(a.Value), &v); err != nil || v.Tenant == "" || v.Fingerprint == "" {
		return "", http.StatusBadRequest, fmt.Errorf("action %s: malformed value", a.ActionID)
	}
	by := "slack:" + user
	var err error
	var msg string
	switch a.ActionID {
	case ActionAccept:
		if h.o.Views == nil {
			return "", http.StatusBadRequest, errors.New("accepting a risk from Slack needs a Slack destination with a bot token")
		}
		if cb.TriggerID == "" {
			return "", http.StatusBadRequest, fmt.Errorf("action %s: no trigger_id to open the form with", a.ActionID)
		}
		if _, err := h.o.Views.OpenViewContext(ctx, cb.TriggerID, acceptView(v, h.o.Now())); err != nil {
			return "", http.StatusBadGateway, fmt.Errorf("action %s: open the accept-risk form: %w", a.ActionID, err)
		}
		return "", 0, nil // the form's submission does the rest
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

// Block and action IDs of the accept-risk form's inputs.
const (
	acceptReason = "accept_reason"
	acceptOwner  = "accept_owner"
	acceptUntil  = "accept_until"
)

// acceptView is the accept-risk form for one finding; the finding travels
// in the view's private metadata, which Slack returns with the submission.
func acceptView(v ActionValue, now time.Time) goslack.ModalViewRequest {
	meta, _ := json.Marshal(v)
	input := func(id, label, hint string, el goslack.BlockElement) *goslack.InputBlock {
		return goslack.NewInputBlock(id, plain(label), plain(hint), el)
	}
	reason := goslack.NewPlainTextInputBlockElement(plain("Why the risk is acceptable"), acceptReason)
	reason.Multiline = true
	reason.MaxLength = 500
	owner := goslack.NewPlainTextInputBlockElement(plain("Name or e-mail"), acceptOwner)
	owner.MaxLength = 200
	until := goslack.NewDatePickerBlockElement(acceptUntil)
	until.InitialDate = now.UTC().Add(90 * 24 * time.Hour).Format("2006-01-02")
	return goslack.ModalViewRequest{
		Type:            goslack.VTModal,
		CallbackID:      CallbackAccept,
		PrivateMetadata: string(meta),
		Title:           plain("Accept risk"),
		Submit:          plain("Accept"),
		Close:           plain("Cancel"),
		Blocks: goslack.Blocks{BlockSet: []goslack.Block{
			goslack.NewSectionBlock(mrkdwn(fmt.Sprintf("Finding `%s` in *%s*: while its object keeps today's value, scans pass it; when the value changes or the date passes, it fails again.",
				short(v.Fingerprint), esc(v.Tenant))), nil, nil),
			input(acceptReason, "Reason", "Shown with the finding and in reports.", reason),
			input(acceptOwner, "Owner", "Who answers for the risk.", owner),
			input(acceptUntil, "Accepted until", "Through the end of this day (UTC), at most a year away.", until),
		}},
	}
}

// submitAccept records the accept-risk form. Invalid input is answered
// with Slack's "errors" response, which keeps the form open and shows the
// message under the field; nothing is stored then.
func (h *InteractionHandler) submitAccept(ctx context.Context, w http.ResponseWriter, cb *goslack.InteractionCallback) {
	var v ActionValue
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &v); err != nil || v.Tenant == "" || v.Fingerprint == "" {
		http.Error(w, "accept-risk form: malformed private metadata", http.StatusBadRequest)
		return
	}
	value := func(id string) goslack.BlockAction {
		if b, ok := cb.View.State.Values[id]; ok {
			return b[id]
		}
		return goslack.BlockAction{}
	}
	a := Acceptance{
		Reason: strings.TrimSpace(value(acceptReason).Value),
		Owner:  strings.TrimSpace(value(acceptOwner).Value),
		By:     "slack:" + cb.User.ID,
	}
	errs := map[string]string{}
	if a.Reason == "" {
		errs[acceptReason] = "Say why the risk is accepted."
	}
	if a.Owner == "" {
		errs[acceptOwner] = "Name who answers for the risk."
	}
	now := h.o.Now()
	day, err := time.Parse("2006-01-02", value(acceptUntil).SelectedDate)
	switch {
	case err != nil:
		errs[acceptUntil] = "Pick the last day the acceptance holds."
	default:
		a.Until = day.Add(24*time.Hour - time.Second) // through the end of the day, as the CLI's --until
		if !a.Until.After(now) {
			errs[acceptUntil] = "Pick a day after today."
		} else if a.Until.Sub(now) > MaxAcceptFor {
			errs[acceptUntil] = "At most a year away; a longer acceptance belongs in the baseline."
		}
	}
	if len(errs) == 0 {
		err := h.o.Actions.AcceptRisk(ctx, v.Tenant, v.Fingerprint, a)
		switch {
		case errors.Is(err, ErrNotFound):
			errs[acceptReason] = "This finding no longer exists."
		case errors.Is(err, ErrRefused):
			errs[acceptReason] = trunc(err.Error(), 150)
		case err != nil:
			h.o.Logger.Error("slack accept risk failed", "tenant", v.Tenant, "finding", short(v.Fingerprint), "error", err)
			http.Error(w, "accept risk failed", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if len(errs) > 0 {
		_ = json.NewEncoder(w).Encode(map[string]any{"response_action": "errors", "errors": errs})
		return
	}
	h.o.Logger.Info("risk accepted in slack", "tenant", v.Tenant, "finding", short(v.Fingerprint), "by", a.By, "until", a.Until)
	// An empty body closes the form.
	w.WriteHeader(http.StatusOK)
}
