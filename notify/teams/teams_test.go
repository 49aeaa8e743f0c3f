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
	f := notify.Finding{Fingerprint: "fp1", Tenant: "fabrikam", RuleID: "SPO-LINK-ANYONE-NO-EXPIRY", Title: "Anyone link without expiry",
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
