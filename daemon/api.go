package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

// FindingQuery selects a tenant's findings (most severe first; paged by offset).
type FindingQuery struct {
	Tenant      string
	States      []string
	MinSeverity string
	Section     string
	RuleID      string
	// Label is the object's sensitivity label, matched ignoring case.
	Label  string
	Limit  int
	Offset int
}

// ScanQuery selects a tenant's scans, newest first, with ID below BeforeID
// when it is set.
type ScanQuery struct {
	Tenant   string
	Limit    int
	BeforeID int64
}

// ChangeQuery selects a tenant's changes, oldest first, detected at or
// after Since and with ID above AfterID.
type ChangeQuery struct {
	Tenant  string
	Since   time.Time
	AfterID int64
	Limit   int
}

// Reader is the read side of the store that the API serves.
type Reader interface {
	// Ready returns nil when the store is reachable and fully migrated.
	Ready(ctx context.Context) error
	// TenantInfo returns per-tenant state the store keeps (last scan, open
	// findings), keyed by tenant name.
	TenantInfo(ctx context.Context) (map[string]TenantState, error)
	// Scans and Changes page by keyset in the store (ScanQuery.BeforeID,
	// ChangeQuery.AfterID); Findings by offset.
	Scans(ctx context.Context, q ScanQuery) ([]store.Scan, error)
	Findings(ctx context.Context, q FindingQuery) ([]store.Finding, error)
	Changes(ctx context.Context, q ChangeQuery) ([]store.Change, error)
}

// TenantState is the store's part of a tenant in GET /api/v1/tenants.
type TenantState struct {
	TenantID string      `json:"tenantId,omitempty"`
	LastScan *store.Scan `json:"lastScan,omitempty"`
	// OpenFindings counts unresolved findings by severity.
	OpenFindings map[string]int `json:"openFindings"`
}

// Scheduler is what the API needs from the daemon.
type Scheduler interface {
	Status() []TenantStatus
	HasTenant(name string) bool
	Trigger(ctx context.Context, name string) (time.Time, error)
}

// Token is one accepted API bearer token.
type Token struct {
	Name  string
	Scope config.Scope
	Value config.Secret
}

// TokensFrom builds the token list from configuration.
func TokensFrom(c config.HTTP) []Token {
	out := make([]Token, 0, len(c.Tokens))
	for _, t := range c.Tokens {
		out = append(out, Token{Name: t.Name, Scope: t.Scope, Value: t.Secret.Value()})
	}
	return out
}

// Route mounts an extra handler (e.g. Slack interactivity, reports).
// Scope "" leaves it unauthenticated: the handler checks its own
// credentials (Slack signs its requests).
type Route struct {
	Pattern string
	Handler http.Handler
	Scope   config.Scope
}

// ServerOptions configures the HTTP handler.
type ServerOptions struct {
	Scheduler Scheduler
	Reader    Reader
	Tokens    []Token
	Metrics   *Metrics
	Logger    *slog.Logger
	Routes    []Route
	// Console, when set, answers every path no other route matches (the
	// web console at /); paths under /api/ still answer JSON 404s.
	Console http.Handler
}

type server struct {
	o      ServerOptions
	log    *slog.Logger
	tokens *TokenSet
}

// Principal is who a request acts as: a token's name, or a user named by
// a trusted proxy, with the scope granted.
type Principal struct {
	Name  string
	Scope config.Scope
}

// CanAct reports whether the principal may change things (admin scope).
func (p Principal) CanAct() bool { return p.Scope == config.ScopeAdmin }

// TokenSet checks API tokens; the API and the console share it.
type TokenSet struct {
	tokens []hashedToken
}

type hashedToken struct {
	name  string
	scope config.Scope
	sum   [sha256.Size]byte
}

// NewTokenSet hashes the tokens for constant-time checks.
func NewTokenSet(tokens []Token) *TokenSet {
	ts := &TokenSet{}
	for _, t := range tokens {
		// Hashing first gives equal-length inputs to the constant-time compare.
		ts.tokens = append(ts.tokens, hashedToken{name: t.Name, scope: t.Scope, sum: sha256.Sum256([]byte(t.Value.Reveal()))})
	}
	return ts
}

// Check returns the principal of a token value, comparing it with every
// token so that timing does not reveal which one matched.
func (ts *TokenSet) Check(value string) (Principal, bool) {
	if ts == nil || value == "" {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(value))
	var found hashedToken
	match := 0
	for _, t := range ts.tokens {
		if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
			found, match = t, 1
		}
	}
	return Principal{Name: found.name, Scope: found.scope}, match == 1
}

// Pagination bounds.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// NewHandler returns the daemon's HTTP handler: health, readiness,
// metrics and the JSON API.
func NewHandler(o ServerOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{o: o, log: o.Logger, tokens: NewTokenSet(o.Tokens)}

	mux := http.NewServeMux()
	handle := func(pattern string, scope config.Scope, h http.HandlerFunc) {
		var hh http.Handler = h
		if scope != "" {
			hh = s.auth(scope, hh)
		}
		mux.Handle(pattern, hh)
	}
	handle("GET /healthz", "", s.healthz)
	handle("GET /readyz", "", s.readyz)
	if o.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(o.Metrics.Registry, promhttp.HandlerOpts{ErrorLog: nil}))
	}
	handle("GET /api/v1/tenants", config.ScopeRead, s.listTenants)
	handle("GET /api/v1/tenants/{tenant}/scans", config.ScopeRead, s.listScans)
	handle("POST /api/v1/tenants/{tenant}/scans", config.ScopeAdmin, s.triggerScan)
	handle("GET /api/v1/tenants/{tenant}/findings", config.ScopeRead, s.listFindings)
	handle("GET /api/v1/tenants/{tenant}/changes", config.ScopeRead, s.listChanges)
	for _, r := range o.Routes {
		var h http.Handler = r.Handler
		if r.Scope != "" {
			h = s.auth(r.Scope, h)
		}
		mux.Handle(r.Pattern, h)
	}
	// Paths without a method answer 405 in JSON rather than the mux's text.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/tenants", "/api/v1/tenants/{tenant}/scans",
		"/api/v1/tenants/{tenant}/findings", "/api/v1/tenants/{tenant}/changes"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		})
	}
	notFound := func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	}
	if o.Console != nil {
		mux.HandleFunc("/api/", notFound)
		mux.Handle("/", o.Console)
	} else {
		mux.HandleFunc("/", notFound)
	}
	return s.recoverer(mux)
}

// recoverer turns a handler panic into a plain 500: the stack goes to the
// log, never to the client.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if e, ok := p.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					panic(p)
				}
				s.log.Error("http handler panicked", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "internal error")
				}
			}
			if s.o.Metrics != nil {
				route := r.Pattern
				if route == "" {
					route = "unmatched"
				}
				s.o.Metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// auth admits requests bearing a token with the scope (admin implies
// read). Failures say only "unauthorized" or "forbidden".
func (s *server) auth(scope config.Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := s.identify(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sharedrift"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		if scope == config.ScopeAdmin && !tok.CanAct() {
			writeError(w, http.StatusForbidden, "forbidden")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) identify(r *http.Request) (Principal, bool) {
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return Principal{}, false
	}
	return s.tokens.Check(strings.TrimSpace(cred))
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.o.Reader == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if err := s.o.Reader.Ready(ctx); err != nil {
		// The reason goes to the log; the probe only needs the verdict.
		s.log.Warn("readiness check failed", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// badRequest is a client error whose message is safe to return.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// params validates the query string: only allowed keys, each at most once.
func params(r *http.Request, allowed ...string) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badf("malformed query string")
	}
	out := map[string]string{}
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			return nil, badf("unknown query parameter %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
		if len(vs) != 1 {
			return nil, badf("query parameter %q given %d times", k, len(vs))
		}
		out[k] = vs[0]
	}
	return out, nil
}

func limitParam(p map[string]string) (int, error) {
	v, ok := p["limit"]
	if !ok {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, badf("limit: %q is not an integer between 1 and %d", v, MaxLimit)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of "<kind>:<number>".
func encodeCursor(kind string, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(n, 10)))
}

func cursorParam(p map[string]string, kind string) (int64, error) {
	v, ok := p["cursor"]
	if !ok {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return 0, badf("cursor: malformed")
	}
	k, num, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || k != kind || err != nil || n < 0 {
		return 0, badf("cursor: malformed")
	}
	return n, nil
}

// tenantParam returns the path's tenant if it is configured.
func (s *server) tenantParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	t := r.PathValue("tenant")
	if !s.o.Scheduler.HasTenant(t) {
		writeError(w, http.StatusNotFound, "unknown tenant")
		return "", false
	}
	return t, true
}

// fail maps an error to a response: client errors say what was wrong,
// everything else is a logged 500 with a generic body.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.msg)
	case errors.Is(err, ErrUnknownTenant):
		writeError(w, http.StatusNotFound, "unknown tenant")
	case errors.Is(err, ErrStopping):
		writeError(w, http.StatusServiceUnavailable, "daemon is stopping")
	case errors.Is(err, context.DeadlineExceeded):
		s.log.Warn("api request timed out", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusServiceUnavailable, "store unavailable")
	default:
		s.log.Error("api request failed", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func (s *server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 15*time.Second)
}

// tenantJSON is one entry of GET /api/v1/tenants.
type tenantJSON struct {
	Name     string       `json:"name"`
	Schedule string       `json:"schedule"`
	Baseline string       `json:"baseline"`
	NextScan time.Time    `json:"nextScan"`
	Scanning bool         `json:"scanning"`
	State    *TenantState `json:"state,omitempty"`
}

func (s *server) listTenants(w http.ResponseWriter, r *http.Request) {
	if _, err := params(r); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	var info map[string]TenantState
	if s.o.Reader != nil {
		var err error
		if info, err = s.o.Reader.TenantInfo(ctx); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	out := []tenantJSON{}
	for _, t := range s.o.Scheduler.Status() {
		tj := tenantJSON{Name: t.Name, Schedule: t.Schedule, Baseline: t.Baseline, NextScan: t.Next, Scanning: t.Running}
		if st, ok := info[t.Name]; ok {
			tj.State = &st
		}
		out = append(out, tj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
}

// page is the shape of every paginated listing.
type page struct {
	Tenant     string `json:"tenant"`
	Items      any    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func (s *server) listScans(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tenantParam(w, r)
	if !ok {
		return
	}
	p, err := params(r, "limit", "cursor")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := limitParam(p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	before, err := cursorParam(p, "s")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	rows, err := s.o.Reader.Scans(ctx, ScanQuery{Tenant: t, Limit: limit + 1, BeforeID: before})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := page{Tenant: t, Items: firstN(rows, limit)}
	if len(rows) > limit {
		out.NextCursor = encodeCursor("s", rows[limit-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// firstN is the page's items: at most limit, never null in JSON.
func firstN[T any](rows []T, limit int) []T {
	if len(rows) > limit {
		rows = rows[:limit]
	}
	if rows == nil {
		rows = []T{}
	}
	return rows
}

var (
	findingStates = []string{"open", "reopened", "resolved"}
	severities    = []string{"info", "low", "medium", "high", "critical"}
)

func (s *server) listFindings(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tenantParam(w, r)
	if !ok {
		return
	}
	p, err := params(r, "limit", "cursor", "state", "severity", "section", "rule", "label")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := FindingQuery{Tenant: t, Section: p["section"], RuleID: p["rule"], MinSeverity: p["severity"], Label: p["label"]}
	if q.Limit, err = limitParam(p); err != nil {
		s.fail(w, r, err)
		return
	}
	off, err := cursorParam(p, "f")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q.Offset = int(off)
	switch st := p["state"]; st {
	case "", "active":
		q.States = []string{"open", "reopened"}
	case "all":
	default:
		if !slices.Contains(findingStates, st) {
			s.fail(w, r, badf("state: %q is not one of active, all, open, reopened, resolved", st))
			return
		}
		q.States = []string{st}
	}
	if q.MinSeverity != "" && !slices.Contains(severities, q.MinSeverity) {
		s.fail(w, r, badf("severity: %q is not one of %s", q.MinSeverity, strings.Join(severities, ", ")))
		return
	}
	if q.Section != "" && !tenant.Section(q.Section).Known() {
		s.fail(w, r, badf("section: unknown section %q", q.Section))
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	limit := q.Limit
	q.Limit++
	items, err := s.o.Reader.Findings(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := page{Tenant: t, Items: firstN(items, limit)}
	if len(items) > limit {
		out.NextCursor = encodeCursor("f", int64(q.Offset+limit))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) listChanges(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tenantParam(w, r)
	if !ok {
		return
	}
	p, err := params(r, "limit", "cursor", "since")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := ChangeQuery{Tenant: t}
	if q.Limit, err = limitParam(p); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.AfterID, err = cursorParam(p, "c"); err != nil {
		s.fail(w, r, err)
		return
	}
	if v, ok := p["since"]; ok {
		if q.Since, err = parseSince(v, time.Now()); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	limit := q.Limit
	q.Limit++
	rows, err := s.o.Reader.Changes(ctx, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := page{Tenant: t, Items: firstN(rows, limit)}
	if len(rows) > limit {
		out.NextCursor = encodeCursor("c", rows[limit-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// parseSince accepts a duration back from now ("7d", "36h") or an RFC 3339 time.
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := config.ParseDuration(v); err == nil {
		return now.Add(-d.D()).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, badf("since: %q is neither a duration like 7d nor an RFC 3339 time", v)
}

// triggerResponse is the body of a 202 from POST .../scans.
type triggerResponse struct {
	Tenant string    `json:"tenant"`
	Slot   time.Time `json:"slot"`
	Status string    `json:"status"`
}

func (s *server) triggerScan(w http.ResponseWriter, r *http.Request) {
	t, ok := s.tenantParam(w, r)
	if !ok {
		return
	}
	if _, err := params(r); err != nil {
		s.fail(w, r, err)
		return
	}
	// The body is optional; if present it must be an empty JSON object.
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	if err != nil {
		s.fail(w, r, badf("unreadable body"))
		return
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		var req struct{}
		if err := dec.Decode(&req); err != nil {
			s.fail(w, r, badf("body: want an empty JSON object or no body: %v", err))
			return
		}
	}
	slot, err := s.o.Scheduler.Trigger(r.Context(), t)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, triggerResponse{Tenant: t, Slot: slot, Status: "queued"})
}
