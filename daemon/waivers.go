package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
)

// FindingMarks is what the waiver endpoints need (the store).
type FindingMarks interface {
	AckFinding(ctx context.Context, tenantName, fingerprint string, m store.Mark) (store.Finding, error)
	SnoozeFinding(ctx context.Context, tenantName, fingerprint string, until time.Time, m store.Mark) (store.Finding, error)
	AcceptRisk(ctx context.Context, tenantName, fingerprint string, a store.Acceptance) (store.Finding, error)
}

// WaiverRoutes are the endpoints that acknowledge, snooze or accept the
// risk of a finding, to pass in ServerOptions.Routes; all need an admin
// token. Each answers with the updated finding.
//
//	POST /api/v1/tenants/{tenant}/findings/{fingerprint}/ack     {"by": "alice", "reason": "…", "until": "2026-04-01T00:00:00Z"}
//	POST /api/v1/tenants/{tenant}/findings/{fingerprint}/snooze  {"by": "alice", "reason": "…", "until": "…"}
//	POST /api/v1/tenants/{tenant}/findings/{fingerprint}/accept  {"by": "alice", "reason": "…", "owner": "…", "until": "…"}
//
// ack's until, optional, also silences reminders until then; snooze and
// accept needs it; snooze without it clears the snooze.
func WaiverRoutes(fm FindingMarks, log *slog.Logger) []Route {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &waiverAPI{fm: fm, log: log}
	const base = "POST /api/v1/tenants/{tenant}/findings/{fingerprint}/"
	return []Route{
		{Pattern: base + "ack", Handler: h.handle(h.ack), Scope: config.ScopeAdmin},
		{Pattern: base + "snooze", Handler: h.handle(h.snooze), Scope: config.ScopeAdmin},
		{Pattern: base + "accept", Handler: h.handle(h.accept), Scope: config.ScopeAdmin},
	}
}

type waiverAPI struct {
	fm  FindingMarks
	log *slog.Logger
}

// waiverBody is the JSON body of the waiver endpoints; unknown fields
// are refused.
type waiverBody struct {
	By     string     `json:"by"`
	Reason string     `json:"reason"`
	Owner  string     `json:"owner"`
	Until  *time.Time `json:"until"`
}

func (b *waiverBody) mark() store.Mark {
	by := "api"
	if b.By != "" {
		by = "api:" + b.By
	}
	return store.Mark{By: by, Reason: b.Reason}
}

type waiverFunc func(ctx context.Context, tenantName, fp string, b *waiverBody) (store.Finding, error)

func (h *waiverAPI) handle(do waiverFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
		if err != nil {
			writeError(w, http.StatusBadRequest, "unreadable body")
			return
		}
		var b waiverBody
		if strings.TrimSpace(string(data)) != "" {
			dec := json.NewDecoder(strings.NewReader(string(data)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&b); err != nil {
				writeError(w, http.StatusBadRequest, "body: "+err.Error())
				return
			}
		}
		f, err := do(r.Context(), r.PathValue("tenant"), r.PathValue("fingerprint"), &b)
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, f)
		case errors.Is(err, store.ErrNotFound):
			writeError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrAmbiguous), errors.Is(err, errWaiver):
			writeError(w, http.StatusBadRequest, err.Error())
		case errors.Is(err, store.ErrConflict):
			writeError(w, http.StatusConflict, err.Error())
		default:
			h.log.Error("waiver request failed", "error", err)
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	})
}

var errWaiver = errors.New("bad request")

// ErrWaiver marks a waiver request that is malformed (a field that does
// not belong, a missing expiry); its message says which.
var ErrWaiver = errWaiver

// Acknowledge acknowledges a finding and, when until is set, also
// silences its reminders until then. The API and the console share it.
func Acknowledge(ctx context.Context, fm FindingMarks, tn, fp string, m store.Mark, until *time.Time) (store.Finding, error) {
	f, err := fm.AckFinding(ctx, tn, fp, m)
	if err != nil || until == nil {
		return f, err
	}
	return fm.SnoozeFinding(ctx, tn, fp, *until, m)
}

// Snooze hides a finding from reminders until then; nil clears the snooze.
func Snooze(ctx context.Context, fm FindingMarks, tn, fp string, m store.Mark, until *time.Time) (store.Finding, error) {
	var t time.Time
	if until != nil {
		t = *until
	}
	return fm.SnoozeFinding(ctx, tn, fp, t, m)
}

// Accept accepts a finding's risk until then, with a reason and an owner.
func Accept(ctx context.Context, fm FindingMarks, tn, fp string, m store.Mark, owner string, until *time.Time) (store.Finding, error) {
	if until == nil {
		return store.Finding{}, fmt.Errorf("%w: until (an RFC 3339 time) is required", errWaiver)
	}
	return fm.AcceptRisk(ctx, tn, fp, store.Acceptance{Reason: m.Reason, Owner: owner, By: m.By, Until: *until})
}

func (h *waiverAPI) ack(ctx context.Context, tn, fp string, b *waiverBody) (store.Finding, error) {
	if b.Owner != "" {
		return store.Finding{}, fmt.Errorf("%w: owner belongs to accept, not ack", errWaiver)
	}
	return Acknowledge(ctx, h.fm, tn, fp, b.mark(), b.Until)
}

func (h *waiverAPI) snooze(ctx context.Context, tn, fp string, b *waiverBody) (store.Finding, error) {
	if b.Owner != "" {
		return store.Finding{}, fmt.Errorf("%w: owner belongs to accept, not snooze", errWaiver)
	}
	return Snooze(ctx, h.fm, tn, fp, b.mark(), b.Until)
}

func (h *waiverAPI) accept(ctx context.Context, tn, fp string, b *waiverBody) (store.Finding, error) {
	return Accept(ctx, h.fm, tn, fp, b.mark(), b.Owner, b.Until)
}
