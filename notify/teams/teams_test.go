package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/tenant"
)

func TestAdaptiveCard(t *testing.T) {
	var got map[string]any
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Errorf("body is not JSON: %v", err)
		}
		w.WriteHeader(status)
		if status >= 400 {
			_, _ = io.WriteString(w, `{"error":{"code":"InvalidRequestContent","message":"The input body for trigger 'manual' of type 'Request' did not match its schema definition."}}`)
		}
	}))
	defer srv.Close()
	n, err := New("teams-sec", &notify.TeamsConfig{URL: notify.Secret(srv.URL + "/workflows/abc?sig=SECRET")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := notify.Finding{Fingerprint: "fp1", Tenant: "fabrikam", RuleID: "links.anyone_link_expiry", Title: "Anyone link without expiry",
		Severity: tenant.SeverityCritical, ObjectKey: "link:d/i/p", ObjectName: "Board Pack.pptx", ObjectURL: "https://fabrikam.sharepoint.com/x",
		Expected: "expires within 30 days", Actual: "never", Remediation: "Remove the link.", FirstSeen: time.Unix(1741080600, 0)}
	if _, err := n.Notify(context.Background(), &notify.Notification{Kind: notify.KindNew, Tenant: "fabrikam", Finding: &f}); err != nil {
		t.Fatal(err)
	}
	att := got["attachments"].([]any)[0].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("contentType = %v", att["contentType"])
	}
	card := att["content"].(map[string]any)
	raw, _ := json.Marshal(card)
	for _, want := range []string{`"type":"AdaptiveCard"`, `"version":"1.4"`, "New drift: Anyone link without expiry", `"title":"Expected"`,
		`"value":"never"`, "Remove the link.", `"type":"Action.OpenUrl"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("card lacks %s:\n%s", want, raw)
		}
	}

	status = http.StatusBadRequest
	retry, err := n.Notify(context.Background(), &notify.Notification{Kind: notify.KindNew, Tenant: "fabrikam", Finding: &f})
	if err == nil || retry || !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "InvalidRequestContent") {
		t.Fatalf("rejected card: retry=%v err=%v", retry, err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error leaks the webhook URL: %v", err)
	}
}

// TestCards checks every kind of Workflows payload links to its object;
// the payloads' goldens are produced by the real pipeline in app
// (TestGoldenNotifications).
func TestCards(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)
	f := notify.Finding{Fingerprint: "4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60", Tenant: "fabrikam", RuleID: "links.anyone_link_expiry",
		Title: "Anyone link without expiry", Section: tenant.SectionLinks, Severity: tenant.SeverityCritical,
		ObjectKey: "link:b!drive1/01ITEM/perm-anyone-1", ObjectName: "Board Pack Q3.pptx",
		ObjectURL: "https://fabrikam.sharepoint.com/sites/Board/Shared%20Documents/Board%20Pack%20Q3.pptx",
		Expected:  "Anyone links expire within 30 days", Actual: "never expires, edit rights",
		Message:     "An Anyone (anonymous) link on a site labelled Confidential never expires.",
		Remediation: "Remove the link, or set an expiry of at most 30 days.",
		References:  notify.References{CIS: []string{"7.2.9"}, SCuBA: []string{"MS.SHAREPOINT.3.1v1"}, Docs: []string{"https://learn.microsoft.com/sharepoint/turn-external-sharing-on-or-off"}},
		FirstSeen:   t0, LastSeen: t0}
	resolvedAt := t0.Add(50 * time.Hour)
	rf := f
	rf.ResolvedAt = &resolvedAt
	esc := f
	esc.Severity, esc.PreviousSeverity = tenant.SeverityCritical, tenant.SeverityHigh
	var digest []notify.Finding
	for i, sev := range []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium} {
		g := f
		g.Fingerprint = strings.Repeat(string(rune('a'+i)), 32)
		g.Severity, g.RuleID, g.Title = sev, "guests.blocked_domain", "Guest from a blocked domain"
		g.ObjectKey, g.ObjectName = "guest:0000000"+string(rune('1'+i)), "guest"+string(rune('1'+i))+"@partner.example"
		digest = append(digest, g)
	}
	tests := []struct {
		file string
		note notify.Notification
	}{
		{"teams_new_finding.json", notify.Notification{Kind: notify.KindNew, Tenant: "fabrikam", ScanID: "42", At: t0, Finding: &f}},
		{"teams_escalated.json", notify.Notification{Kind: notify.KindEscalated, Tenant: "fabrikam", ScanID: "43", At: t0, Finding: &esc}},
		{"teams_resolved.json", notify.Notification{Kind: notify.KindResolved, Tenant: "fabrikam", ScanID: "44", At: resolvedAt, Finding: &rf}},
		{"teams_digest.json", notify.Notification{Kind: notify.KindDigest, Tenant: "fabrikam", ScanID: "1", At: t0, Digest: &notify.Digest{
			Counts:     map[notify.Kind]int{notify.KindNew: 2, notify.KindReopened: 1},
			BySeverity: map[tenant.Severity]int{tenant.SeverityCritical: 1, tenant.SeverityHigh: 1, tenant.SeverityMedium: 1},
			Findings:   digest}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := json.MarshalIndent(Message(&tc.note), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if tc.note.Finding != nil && !strings.Contains(string(raw), tc.note.Finding.ObjectURL) {
				t.Errorf("%s does not link to %s:\n%s", tc.file, tc.note.Finding.ObjectURL, raw)
			}
		})
	}
}
