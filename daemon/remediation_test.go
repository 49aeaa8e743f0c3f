package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
)

// fakeRemediation records calls and answers from canned values.
type fakeRemediation struct {
	calls []string
	err   error
}

func (f *fakeRemediation) Plans(_ context.Context, t string, states ...store.RemediationState) ([]remediate.PlanRecord, error) {
	f.calls = append(f.calls, fmt.Sprintf("plans %s %v", t, states))
	return []remediate.PlanRecord{{ID: 1, State: store.RemediationPlanned, Plan: remediate.Plan{Tenant: t, Fingerprint: "3f9a", RuleID: "sites.sharing_level"}}}, f.err
}
func (f *fakeRemediation) Approve(_ context.Context, t, fp, by string) error {
	f.calls = append(f.calls, "approve "+t+" "+fp+" "+by)
	return f.err
}
func (f *fakeRemediation) Reject(_ context.Context, t, fp, by string) error {
	f.calls = append(f.calls, "reject "+t+" "+fp+" "+by)
	return f.err
}
func (f *fakeRemediation) Apply(_ context.Context, t string, o remediate.ApplyOptions) (*remediate.RunReport, error) {
	f.calls = append(f.calls, fmt.Sprintf("apply %s %v", t, o.Fingerprints))
	return &remediate.RunReport{RunID: "run-1", Tenant: t, Kind: "apply"}, f.err
}
func (f *fakeRemediation) Rollback(_ context.Context, t, run, by string) (*remediate.RunReport, error) {
	f.calls = append(f.calls, "rollback "+t+" "+run+" "+by)
	return &remediate.RunReport{RunID: "rollback-1", Tenant: t, Kind: "rollback"}, f.err
}
func (f *fakeRemediation) History(_ context.Context, t, run string, limit int) ([]remediate.Attempt, error) {
	f.calls = append(f.calls, fmt.Sprintf("history %s %q %d", t, run, limit))
	return nil, f.err
}

func TestRemediationRoutes(t *testing.T) {
	const readTok, adminTok = "read-token-0123456789", "admin-token-0123456789"
	base := "/api/v1/tenants/fabrikam/remediation"
	tests := []struct {
		name, method, path, token, body string
		err                             error
		wantCode                        int
		wantCall, wantBody              string
	}{
		{"plans with a read token", "GET", base + "/plans?state=planned,approved", readTok, "", nil, 200, "plans fabrikam [planned approved]", `"fingerprint": "3f9a"`},
		{"approve needs admin", "POST", base + "/plans/3f9a/approve", readTok, "", nil, 403, "", "forbidden"},
		{"approve without a token", "POST", base + "/plans/3f9a/approve", "", "", nil, 401, "", "unauthorized"},
		{"approve", "POST", base + "/plans/3f9a/approve", adminTok, `{"by":"alice"}`, nil, 200, "approve fabrikam 3f9a api:alice", `"state": "approved"`},
		{"approve in dry-run mode", "POST", base + "/plans/3f9a/approve", adminTok, "", remediate.ErrModeForbids, 409, "approve fabrikam 3f9a api", "mode"},
		{"approve a stale plan", "POST", base + "/plans/3f9a/approve", adminTok, "",
			fmt.Errorf("approval refused: site:x changed since the plan was made: %w", remediate.ErrStale), 409, "approve fabrikam 3f9a api", "changed since the plan was made"},
		{"approve a blocked plan", "POST", base + "/plans/3f9a/approve", adminTok, "",
			fmt.Errorf("rule x: would widen sharing: %w", remediate.ErrBlocked), 409, "approve fabrikam 3f9a api", "would widen sharing"},
		{"reject unknown", "POST", base + "/plans/ffff/reject", adminTok, "", remediate.ErrNotFound, 404, "reject fabrikam ffff api", "no remediation plan"},
		{"bad body", "POST", base + "/plans/3f9a/approve", adminTok, `{"who":"x"}`, nil, 400, "", "malformed body"},
		{"apply", "POST", base + "/runs", adminTok, `{"fingerprints":["3f9a"]}`, nil, 200, "apply fabrikam [3f9a]", `"runId": "run-1"`},
		{"history", "GET", base + "/history?run=run-1&limit=5", readTok, "", nil, 200, `history fabrikam "run-1" 5`, `"attempts": []`},
		{"history bad limit", "GET", base + "/history?limit=0", readTok, "", nil, 400, "", "limit"},
		{"rollback", "POST", base + "/runs/run-1/rollback", adminTok, "", nil, 200, "rollback fabrikam run-1 api", `"kind": "rollback"`},
		{"store failure is a 500 without detail", "POST", base + "/runs", adminTok, "", fmt.Errorf("disk on fire"), 500, "apply fabrikam []", "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rm := &fakeRemediation{err: tc.err}
			h := NewHandler(ServerOptions{Tokens: []Token{{Name: "ro", Scope: config.ScopeRead, Value: readTok}, {Name: "ops", Scope: config.ScopeAdmin, Value: adminTok}},
				Routes: RemediationRoutes(rm, nil)})
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("%d %s, want %d containing %q", rec.Code, body, tc.wantCode, tc.wantBody)
			}
			if tc.wantCode == http.StatusInternalServerError && strings.Contains(string(body), "disk") {
				t.Errorf("internal error leaked: %s", body)
			}
			got := strings.Join(rm.calls, "; ")
			if got != tc.wantCall {
				t.Errorf("calls %q, want %q", got, tc.wantCall)
			}
		})
	}
}
