package slack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
)

func TestSendFileUploadsToChannel(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	t.Setenv("SLACK_TEST_TOKEN", "xoxb-test")
	n, err := New("reports", &notify.SlackConfig{Token: "env:SLACK_TEST_TOKEN", Channel: "C0REPORTS", APIURL: fake.APIURL()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("<!doctype html><title>review</title>")
	if err := n.SendFile(context.Background(), "fabrikam.html", "text/html", "fabrikam review", "Weekly review", data); err != nil {
		t.Fatal(err)
	}
	files := fake.Files()
	if len(files) != 1 {
		t.Fatalf("files shared: %d, want 1", len(files))
	}
	f := files[0]
	if f.Name != "fabrikam.html" || f.Title != "fabrikam review" || f.Channel != "C0REPORTS" || f.Comment != "Weekly review" || string(f.Content) != string(data) {
		t.Errorf("shared file: %+v", f)
	}
	for _, m := range []string{"files.getUploadURLExternal", "upload", "files.completeUploadExternal"} {
		if len(fake.Calls(m)) != 1 {
			t.Errorf("%s called %d times, want 1", m, len(fake.Calls(m)))
		}
	}

	hook, err := New("hook", &notify.SlackConfig{WebhookURL: notify.Secret(fake.WebhookURL())}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := hook.SendFile(context.Background(), "x.html", "text/html", "x", "", data); err == nil || !strings.Contains(err.Error(), "bot token") {
		t.Errorf("webhook upload: %v, want a bot token error", err)
	}
}

func TestRemediationCapMessage(t *testing.T) {
	f := sampleFinding()
	f.RuleID, f.Title = "remediation.max_changes", "Remediation stopped at its change cap"
	n := &notify.Notification{Kind: kindRemediationCap, Tenant: f.Tenant, Finding: &f}
	if got := FallbackText(n); !strings.Contains(got, "Remediation stopped in fabrikam") {
		t.Errorf("fallback text %q has no headline", got)
	}
	raw, err := json.Marshal(FindingBlocks(n, true))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "Remediation stopped: Remediation stopped at its change cap") {
		t.Errorf("header missing: %s", raw)
	}
	if strings.Contains(string(raw), `"type":"actions"`) {
		t.Errorf("a cap message has no finding to acknowledge, but has buttons: %s", raw)
	}
}
