package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
)

// Remediation is what the remediation endpoints need (remediate.Service).
type Remediation interface {
	Plans(ctx context.Context, tenantName string, states ...store.RemediationState) ([]remediate.PlanRecord, error)
	Approve(ctx context.Context, tenantName, fp, by string) error
	Reject(ctx context.Context, tenantName, fp, by string) error
	Apply(ctx context.Context, tenantName string, o remediate.ApplyOptions) (*remediate.RunReport, error)
	Rollback(ctx context.Context, tenantName, runID, by string) (*remediate.RunReport, error)
	History(ctx context.Context, tenantName, runID string, limit int) ([]remediate.Attempt, error)
}

// RemediationRoutes are the remediation endpoints, to pass in
// ServerOptions.Routes: reading plans and the audit needs a read token,
// deciding, applying and rolling back an admin token.
//
//	GET  /api/v1/tenants/{tenant}/remediation/plans?state=planned,approved
//	POST /api/v1/tenants/{tenant}/remediation/plans/{fingerprint}/approve   {"by": "alice"}
//	POST /api/v1/tenants/{tenant}/remediation/plans/{fingerprint}/reject    {"by": "alice"}
//	POST /api/v1/tenants/{tenant}/remediation/runs                          {"fingerprints": ["3f9a"]}
//	GET  /api/v1/tenants/{tenant}/remediation/history?run=ID&limit=N
//	POST /api/v1/tenants/{tenant}/remediation/runs/{run}/rollback           {"by": "alice"}
func RemediationRoutes(rm Remediation, log *slog.Logger) []Route {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &remediationAPI{rm: rm, log: log}
	const base = "/api/v1/tenants/{tenant}/remediation"
	return []Route{
		{Pattern: "GET " + base + "/plans", Handler: http.HandlerFunc(h.plans), Scope: config.ScopeRead},
		{Pattern: "POST " + base + "/plans/{fingerprint}/approve", Handler: h.decide(true), Scope: config.ScopeAdmin},
		{Pattern: "POST " + base + "/plans/{fingerprint}/reject", Handler: h.decide(false), Scope: config.ScopeAdmin},
		{Pattern: "POST " + base + "/runs", Handler: http.HandlerFunc(h.apply), Scope: config.ScopeAdmin},
		{Pattern: "GET " + base + "/history", Handler: http.HandlerFunc(h.history), Scope: config.ScopeRead},
		{Pattern: "POST " + base + "/runs/{run}/rollback", Handler: http.HandlerFunc(h.rollback), Scope: config.ScopeAdmin},
	}
}

type remediationAPI struct {
	rm  Remediation
	log *slog.Logger
}

// remediationBody is the optional JSON body of the POST endpoints.
type remediationBody struct {
	By           string   `json:"by"`
	Fingerprints []string `json:"fingerprints"`
}

func readRemediationBody(r *http.Request) (remediationBody, error) {
	var b remediationBody
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return b, err
	}
	if strings.TrimSpace(string(data)) == "" {
		return b, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, err
	}
	return b, nil
}

// who names the API caller in the audit.
func who(b remediationBody) string {
	if b.By == "" {
		return "api"
	}
	return "api:" + b.By
}

func (h *remediationAPI) error(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, remediate.ErrNotFound), errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, remediate.ErrModeForbids), errors.Is(err, remediate.ErrStale), errors.Is(err, remediate.ErrBlocked), errors.Is(err, store.ErrConflict), errors.Is(err, remediate.ErrBusy):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrAmbiguous):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		h.log.Error("remediation request failed", "error", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func (h *remediationAPI) plans(w http.ResponseWriter, r *http.Request) {
	var states []store.RemediationState
	if v := r.URL.Query().Get("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			states = append(states, store.RemediationState(strings.TrimSpace(s)))
		}
	}
	prs, err := h.rm.Plans(r.Context(), r.PathValue("tenant"), states...)
	if err != nil {
		h.error(w, err)
		return
	}
	if prs == nil {
		prs = []remediate.PlanRecord{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": prs})
}

func (h *remediationAPI) decide(approve bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := readRemediationBody(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed body: "+err.Error())
			return
		}
		t, fp := r.PathValue("tenant"), r.PathValue("fingerprint")
		if approve {
			err = h.rm.Approve(r.Context(), t, fp, who(b))
		} else {
			err = h.rm.Reject(r.Context(), t, fp, who(b))
		}
		if err != nil {
			h.error(w, err)
			return
		}
		state := "rejected"
		if approve {
			state = "approved"
		}
		writeJSON(w, http.StatusOK, map[string]string{"fingerprint": fp, "state": state, "by": who(b)})
	})
}

func (h *remediationAPI) apply(w http.ResponseWriter, r *http.Request) {
	b, err := readRemediationBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed body: "+err.Error())
		return
	}
	rep, err := h.rm.Apply(r.Context(), r.PathValue("tenant"), remediate.ApplyOptions{Fingerprints: b.Fingerprints})
	if err != nil {
		h.error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (h *remediationAPI) history(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			writeError(w, http.StatusBadRequest, "limit: expected 1 to "+strconv.Itoa(MaxLimit))
			return
		}
		limit = n
	}
	rows, err := h.rm.History(r.Context(), r.PathValue("tenant"), r.URL.Query().Get("run"), limit)
	if err != nil {
		h.error(w, err)
		return
	}
	if rows == nil {
		rows = []remediate.Attempt{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"attempts": rows})
}

func (h *remediationAPI) rollback(w http.ResponseWriter, r *http.Request) {
	b, err := readRemediationBody(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed body: "+err.Error())
		return
	}
	rep, err := h.rm.Rollback(r.Context(), r.PathValue("tenant"), r.PathValue("run"), who(b))
	if err != nil {
		h.error(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
