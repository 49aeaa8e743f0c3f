package remediate_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/notifystore"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/store"
)

const signingSecret = "e2e-signing-secret-0123456789abcdef"

// press is the signed form body Slack posts when user presses action.
func press(t *testing.T, user, action, tenantName, fp, responseURL string) *http.Request {
	t.Helper()
	v, _ := json.Marshal(slack.ActionValue{Tenant: tenantName, Fingerprint: fp})
	payload, err := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "team": map[string]any{"id": "T0000001"},
		"channel": map[string]any{"id": "C0ALERTS1"}, "response_url": responseURL, "trigger_id": "1.2.3",
		"actions": []map[string]any{{"type": "button", "action_id": action, "block_id": "sharedrift_actions", "value": string(v), "action_ts": "1700000001.000200"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := url.Values{"payload": {string(payload)}}.Encode()
	ts := time.Now().Unix()
	m := hmac.New(sha256.New, []byte(signingSecret))
	m.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":" + body))
	req := httptest.NewRequest(http.MethodPost, "/slack/interactions", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	return req
}

// TestSlackApproveAppliesAndResolvesInThread: the finding is announced with
// an Approve button, the button press (signed, through the interactivity
// handler) approves and applies the plan, the re-scan resolves the finding
// and the original message is rewritten with a reply in its thread.
func TestSlackApproveAppliesAndResolvesInThread(t *testing.T) {
	const rule = "sharepoint.sharing_level"
	r := newRig(t, remediate.Policy{Mode: remediate.ModeDryRun, Rules: map[string]remediate.Mode{rule: remediate.ModeApprove}})
	srv := slackfake.New()
	defer srv.Close()
	n, err := slack.New("ops-slack", &notify.SlackConfig{Token: "xoxb-test-token", Channel: "C0ALERTS1", APIURL: srv.APIURL()}, slack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := notify.NewWorker(notify.WorkerOptions{Outbox: &notifystore.Outbox{S: r.st}, Notifiers: map[string]notify.Notifier{"ops-slack": n},
		Owner: "test", Now: r.clock.Now, Delivery: notify.DeliveryConfig{}.WithDefaults()})
	if err != nil {
		t.Fatal(err)
	}
	planner := &notify.Planner{Routes: []notify.Route{{Destination: "ops-slack", Rules: []string{rule}}}}
	nopts := notifystore.Options{Remediable: func(id string) bool { return remediate.Remediable(r.policy, id) }}
	deliver := func(sc store.Scan) {
		t.Helper()
		if _, err := notifystore.PlanScan(r.ctx, r.st, planner, sc, nopts); err != nil {
			t.Fatal(err)
		}
		if _, err := w.RunOnce(r.ctx); err != nil {
			t.Fatal(err)
		}
	}

	first := r.scan()
	var fp string
	for _, p := range r.plan(first) {
		if p.RuleID == rule {
			fp = p.Fingerprint
		}
	}
	if fp == "" {
		t.Fatal("no plan for " + rule)
	}
	deliver(first.scan)
	msgs := srv.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Blocks, slack.ActionApprove) {
		t.Fatalf("announcement without an Approve button: %+v", msgs)
	}
	if rep := r.apply(); len(rep.Ops) != 0 {
		t.Fatalf("applied before approval: %+v", rep.Ops)
	}

	var run *remediate.RunReport
	r.onApproved = func(ctx context.Context, tenantName, fp string) {
		rep, err := r.svc.Apply(ctx, tenantName, remediate.ApplyOptions{Fingerprints: []string{fp}})
		if err != nil {
			t.Errorf("apply after approval: %v", err)
		}
		run = rep
	}
	h, err := slack.NewInteractionHandler(notify.InteractivityConfig{SigningSecret: signingSecret, AllowedUsers: []string{"U0ADMIN01"}},
		slack.HandlerOptions{Actions: notifystore.FindingActions{S: r.st}, Approver: approver{r.svc},
			HTTPClient: srv.Client(), ResponseURLAllowed: func(*url.URL) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, press(t, "U0ADMIN01", slack.ActionApprove, r.tenant, fp, srv.URL+"/api/response"))
	if rec.Code != http.StatusOK {
		t.Fatalf("button press: %d %s", rec.Code, rec.Body)
	}
	if run == nil || run.Count(remediate.StatusApplied) != 1 || len(run.Ops) != 1 {
		t.Fatalf("approval did not apply the plan: %+v", run)
	}
	rows, err := r.svc.History(r.ctx, r.tenant, run.RunID, 0)
	if err != nil || len(rows) != 1 || rows[0].ApprovedBy != "slack:U0ADMIN01" || rows[0].ApprovedAt == nil ||
		string(rows[0].Before) != `"externalUserAndGuestSharing"` || string(rows[0].After) != `"externalUserSharingOnly"` {
		t.Fatalf("audit: %+v %v", rows, err)
	}
	confirmed := false
	for _, q := range srv.Requests() {
		confirmed = confirmed || (q.Method == "response" && strings.Contains(string(q.Body), "approved the fix"))
	}
	if !confirmed {
		t.Error("no confirmation posted to the response_url")
	}

	second := r.scan()
	f, err := r.st.Finding(r.ctx, r.tenant, fp)
	if err != nil || f.State != store.FindingResolved || f.ResolvedScanID != second.scan.ID {
		t.Fatalf("finding after the re-scan: %+v %v", f, err)
	}
	deliver(second.scan)
	msgs = srv.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the announcement and a reply", len(msgs))
	}
	if msgs[0].Updates != 1 || !strings.Contains(msgs[0].Blocks, "RESOLVED") || strings.Contains(msgs[0].Blocks, slack.ActionApprove) {
		t.Errorf("original not rewritten as resolved: %d updates, %s", msgs[0].Updates, msgs[0].Blocks)
	}
	if msgs[1].ThreadTS != msgs[0].TS || !strings.Contains(msgs[1].Text, "Resolved") {
		t.Errorf("resolution not replied in the thread: %+v", msgs[1])
	}

	// A second press finds nothing left to approve.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, press(t, "U0ADMIN01", slack.ActionApprove, r.tenant, fp, srv.URL+"/api/response?again"))
	if rec.Code != http.StatusNotFound {
		t.Errorf("approving an applied plan: %d %s", rec.Code, rec.Body)
	}
}

// approver maps an unknown plan to Slack's not-found, as the daemon's
// wiring does.
type approver struct{ s *remediate.Service }

func (a approver) Approve(ctx context.Context, tenantName, fp, by string) error {
	return notFound(a.s.Approve(ctx, tenantName, fp, by))
}

func (a approver) Reject(ctx context.Context, tenantName, fp, by string) error {
	return notFound(a.s.Reject(ctx, tenantName, fp, by))
}

func notFound(err error) error {
	if errors.Is(err, remediate.ErrNotFound) {
		return fmt.Errorf("%w: %w", slack.ErrNotFound, err)
	}
	return err
}

// TestAutoChangesAreAnnouncedInSlack: every change an automatic run makes
// reaches the tenant's routes: what changed, by which rule, before and
// after, and the command that rolls it back; without action buttons.
func TestAutoChangesAreAnnouncedInSlack(t *testing.T) {
	const rule = "links.anyone_link_expiry"
	r := newRig(t, autoFor(rule, "sites.sharing_level"))
	r.notifier = remediate.OutboxNotifier{Outbox: &notifystore.Outbox{S: r.st},
		Routes: []notify.Route{{Destination: "ops-slack", Rules: []string{rule}}, {Destination: "audit-slack"}}}
	srv := slackfake.New()
	defer srv.Close()
	notifiers := map[string]notify.Notifier{}
	for _, d := range []string{"ops-slack", "audit-slack"} {
		n, err := slack.New(d, &notify.SlackConfig{Token: "xoxb-test-token", Channel: "C0" + strings.ToUpper(d[:3]) + "00001", APIURL: srv.APIURL()}, slack.Options{})
		if err != nil {
			t.Fatal(err)
		}
		notifiers[d] = n
	}
	w, err := notify.NewWorker(notify.WorkerOptions{Outbox: &notifystore.Outbox{S: r.st}, Notifiers: notifiers,
		Owner: "test", Now: r.clock.Now, Delivery: notify.DeliveryConfig{}.WithDefaults()})
	if err != nil {
		t.Fatal(err)
	}
	r.plan(r.scan())
	rep := r.apply()
	if rep.Count(remediate.StatusApplied) != 4 {
		t.Fatalf("run: %v", statuses(rep))
	}
	if _, err := w.RunOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	byChannel := map[string][]string{}
	for _, m := range msgs {
		byChannel[m.Channel] = append(byChannel[m.Channel], m.Blocks)
	}
	// ops gets the expiry changes only; audit every change.
	if len(byChannel["C0OPS00001"]) != 2 || len(byChannel["C0AUD00001"]) != 4 {
		t.Fatalf("messages per channel: ops %d, audit %d", len(byChannel["C0OPS00001"]), len(byChannel["C0AUD00001"]))
	}
	rollback := remediate.RollbackCommand(r.tenant, rep.RunID)
	for _, b := range byChannel["C0OPS00001"] {
		for _, want := range []string{"Fix applied", rule, "link.set_expiry", "expires", "2026-03-09T06:00:00Z", rollback, "the auto remediation policy"} {
			if !strings.Contains(b, want) {
				t.Errorf("announcement lacks %q: %s", want, b)
			}
		}
		if strings.Contains(b, slack.ActionApprove) || strings.Contains(b, "\"actions\"") {
			t.Errorf("announcement carries buttons: %s", b)
		}
	}
	found := false
	for _, b := range byChannel["C0OPS00001"] {
		found = found || strings.Contains(b, `from null to`) || strings.Contains(b, `from 2026-09-30T00:00:00Z to`)
	}
	if !found {
		t.Errorf("no before value in the announcements: %v", byChannel["C0OPS00001"])
	}
	// Idempotent: the same run is not announced twice.
	if _, err := w.RunOnce(r.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != len(msgs) {
		t.Errorf("%d messages after a second delivery round, want %d", n, len(msgs))
	}
}
