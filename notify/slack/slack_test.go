package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
	"github.com/sharedrift/sharedrift/tenant"
)

var t0 = time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC)

func sampleFinding() notify.Finding {
	return notify.Finding{
		Fingerprint: "4f1c2a9e0b7d3c6a8e5f1b2c3d4e5f60",
		Tenant:      "fabrikam",
		RuleID:      "links.anyone_link_expiry",
		Title:       "Anyone link without expiry",
		Section:     tenant.SectionLinks,
		Severity:    tenant.SeverityCritical,
		ObjectKey:   "link:b!drive1/01ITEM/perm-anyone-1",
		ObjectName:  "Board Pack Q3.pptx",
		ObjectURL:   "https://fabrikam.sharepoint.com/sites/Board/Shared%20Documents/Board%20Pack%20Q3.pptx",
		Expected:    "Anyone links expire within 30 days",
		Actual:      "never expires, edit rights",
		Message:     "An Anyone (anonymous) link on a site labelled Confidential never expires.",
		Remediation: "Remove the link, or set an expiry of at most 30 days: SharePoint admin center > Policies > Sharing > Anyone links.",
		References: notify.References{
			CIS:   []string{"7.2.9"},
			SCuBA: []string{"MS.SHAREPOINT.3.1v1"},
			Docs:  []string{"https://learn.microsoft.com/sharepoint/turn-external-sharing-on-or-off"},
		},
		Remediable: true,
		FirstSeen:  t0,
		LastSeen:   t0,
	}
}

func newNotifier(t *testing.T, srv *slackfake.Server, channel string) *Notifier {
	t.Helper()
	n, err := New("ops-slack", &notify.SlackConfig{Token: "xoxb-test-token", Channel: channel, APIURL: srv.APIURL()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkBlocks checks that a recorded request's Block Kit is JSON and links
// to the object (when want is set). The payloads' goldens are produced by
// the real pipeline in app (TestGoldenNotifications).
func checkBlocks(t *testing.T, name, blocks, want string) {
	t.Helper()
	if !json.Valid([]byte(blocks)) {
		t.Fatalf("%s: blocks are not JSON:\n%s", name, blocks)
	}
	if want != "" && !strings.Contains(blocks, want) {
		t.Errorf("%s: blocks do not link to %s:\n%s", name, want, blocks)
	}
}

func TestPayloads(t *testing.T) {
	ctx := context.Background()
	srv := slackfake.New()
	defer srv.Close()
	n := newNotifier(t, srv, "C0ALERTS1")

	f := sampleFinding()
	newNote := &notify.Notification{Kind: notify.KindNew, Destination: "ops-slack", Tenant: f.Tenant, ScanID: "scan-0042", At: t0, Finding: &f}
	if retry, err := n.Notify(ctx, newNote); err != nil {
		t.Fatalf("new: retry=%v err=%v", retry, err)
	}
	if newNote.Posted == nil || newNote.Posted.Channel != "C0ALERTS1" || newNote.Posted.TS == "" {
		t.Fatalf("new message not posted with a thread ref: %+v", newNote.Posted)
	}
	posts := srv.Calls("chat.postMessage")
	checkBlocks(t, "slack_new_finding", posts[len(posts)-1].Form.Get("blocks"), f.ObjectURL)

	rf := f
	rf.LastSeen = t0.Add(26 * time.Hour)
	rem := &notify.Notification{Kind: notify.KindReminder, Destination: "ops-slack", Tenant: f.Tenant, At: t0.Add(24 * time.Hour), Finding: &rf, Thread: newNote.Posted}
	if _, err := n.Notify(ctx, rem); err != nil {
		t.Fatalf("reminder: %v", err)
	}
	posts = srv.Calls("chat.postMessage")
	last := posts[len(posts)-1]
	if last.Form.Get("thread_ts") != newNote.Posted.TS || last.Form.Get("reply_broadcast") != "true" {
		t.Errorf("reminder not broadcast into the original thread: thread_ts=%q broadcast=%q", last.Form.Get("thread_ts"), last.Form.Get("reply_broadcast"))
	}
	checkBlocks(t, "slack_reminder", last.Form.Get("blocks"), f.ObjectURL)

	resAt := t0.Add(50 * time.Hour)
	sf := f
	sf.ResolvedAt = &resAt
	res := &notify.Notification{Kind: notify.KindResolved, Destination: "ops-slack", Tenant: f.Tenant, At: resAt, Finding: &sf, Thread: newNote.Posted}
	if _, err := n.Notify(ctx, res); err != nil {
		t.Fatalf("resolved: %v", err)
	}
	posts = srv.Calls("chat.postMessage")
	last = posts[len(posts)-1]
	if last.Form.Get("thread_ts") != newNote.Posted.TS {
		t.Errorf("resolved reply not in the original thread: thread_ts=%q want %q", last.Form.Get("thread_ts"), newNote.Posted.TS)
	}
	checkBlocks(t, "slack_resolved_reply", last.Form.Get("blocks"), f.ObjectURL)
	updates := srv.Calls("chat.update")
	if len(updates) != 1 || updates[0].Form.Get("ts") != newNote.Posted.TS {
		t.Fatalf("want one chat.update of the original, got %d", len(updates))
	}
	checkBlocks(t, "slack_resolved_original", updates[0].Form.Get("blocks"), f.ObjectURL)

	var findings []notify.Finding
	for i, sev := range []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityHigh, tenant.SeverityMedium} {
		g := f
		g.Fingerprint = strings.Repeat(string(rune('a'+i)), 32)
		g.Severity = sev
		g.ObjectKey = "guest:0000000" + string(rune('1'+i))
		g.ObjectName = "guest" + string(rune('1'+i)) + "@partner.example"
		g.ObjectURL = ""
		g.RuleID = "guests.blocked_domain"
		g.Title = "Guest from a blocked domain"
		g.Expected = "no guests from blocked domains"
		g.Actual = "partner.example is blocked"
		findings = append(findings, g)
	}
	dg := &notify.Notification{Kind: notify.KindDigest, Destination: "ops-slack", Tenant: "fabrikam", ScanID: "scan-0001", At: t0, Digest: &notify.Digest{
		Counts:     map[notify.Kind]int{notify.KindNew: 3, notify.KindReopened: 1},
		BySeverity: map[tenant.Severity]int{tenant.SeverityCritical: 1, tenant.SeverityHigh: 2, tenant.SeverityMedium: 1},
		Findings:   findings,
	}}
	if _, err := n.Notify(ctx, dg); err != nil {
		t.Fatalf("digest: %v", err)
	}
	posts = srv.Calls("chat.postMessage")
	checkBlocks(t, "digest", posts[len(posts)-1].Form.Get("blocks"), "")
}

func TestRejections(t *testing.T) {
	f := sampleFinding()
	note := func() *notify.Notification {
		return &notify.Notification{Kind: notify.KindNew, Destination: "ops-slack", Tenant: f.Tenant, At: t0, Finding: &f}
	}
	tests := []struct {
		name      string
		setup     func(*slackfake.Server)
		channel   string
		wantRetry bool
		wantInErr []string
	}{
		{"invalid blocks is permanent", func(s *slackfake.Server) { s.Reject("invalid_blocks") }, "C0ALERTS1", false,
			[]string{"invalid_blocks", "rejected by test server"}},
		{"unknown channel is permanent", func(s *slackfake.Server) { s.SetChannels("C0ALERTS1") }, "C0NOPE999", false,
			[]string{"channel_not_found"}},
		{"server error is transient", func(s *slackfake.Server) { s.Down(http.StatusInternalServerError) }, "C0ALERTS1", true,
			[]string{"HTTP 500"}},
		{"rate limit is transient with retry-after", func(s *slackfake.Server) { s.Down(http.StatusTooManyRequests) }, "C0ALERTS1", true,
			[]string{"rate limited"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			tc.setup(srv)
			n := newNotifier(t, srv, tc.channel)
			retry, err := n.Notify(context.Background(), note())
			if err == nil {
				t.Fatal("no error")
			}
			if retry != tc.wantRetry {
				t.Errorf("retry = %v, want %v (err %v)", retry, tc.wantRetry, err)
			}
			if !tc.wantRetry && !errors.Is(err, notify.ErrRejected) {
				t.Errorf("permanent error does not wrap ErrRejected: %v", err)
			}
			for _, s := range tc.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			var ra *notify.RetryAfterError
			if strings.Contains(tc.name, "rate limit") && (!errors.As(err, &ra) || ra.After != time.Second) {
				t.Errorf("rate limit did not carry Retry-After: %v", err)
			}
		})
	}
}

func TestCheckUnknownChannel(t *testing.T) {
	srv := slackfake.New()
	defer srv.Close()
	srv.SetChannels("C0ALERTS1")
	if err := newNotifier(t, srv, "C0ALERTS1").Check(context.Background()); err != nil {
		t.Fatalf("known channel: %v", err)
	}
	err := newNotifier(t, srv, "C0NOPE999").Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), `destination "ops-slack"`) || !strings.Contains(err.Error(), "channel_not_found") {
		t.Fatalf("want an error naming the destination and channel_not_found, got %v", err)
	}
}

func TestIncomingWebhook(t *testing.T) {
	srv := slackfake.New()
	defer srv.Close()
	n, err := New("hook", &notify.SlackConfig{WebhookURL: notify.Secret(srv.WebhookURL())}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := sampleFinding()
	if _, err := n.Notify(context.Background(), &notify.Notification{Kind: notify.KindNew, Tenant: f.Tenant, At: t0, Finding: &f}); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls("webhook")
	if len(calls) != 1 {
		t.Fatalf("want 1 webhook call, got %d", len(calls))
	}
	if bytes.Contains(calls[0].Body, []byte(ActionAck)) {
		t.Error("incoming webhook message carries buttons it cannot serve")
	}
	srv.Reject("invalid_blocks")
	retry, err := n.Notify(context.Background(), &notify.Notification{Kind: notify.KindNew, Tenant: f.Tenant, At: t0, Finding: &f})
	if err == nil || retry || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Fatalf("want permanent invalid_blocks error, got retry=%v err=%v", retry, err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  notify.SlackConfig
		want string
	}{
		{"missing token", notify.SlackConfig{Channel: "C0ALERTS1"}, "slack.token: missing"},
		{"missing channel", notify.SlackConfig{Token: "xoxb-1"}, "slack.channel: missing"},
		{"malformed channel", notify.SlackConfig{Token: "xoxb-1", Channel: "alerts room"}, "slack.channel"},
		{"token from unset env", notify.SlackConfig{Token: "env:SHAREDRIFT_TEST_UNSET_TOKEN", Channel: "C0ALERTS1"}, "SHAREDRIFT_TEST_UNSET_TOKEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("ops-slack", &tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), `destination "ops-slack"`) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error naming destination and %q, got %v", tc.want, err)
			}
		})
	}
}

func TestRetryFindsEarlierPost(t *testing.T) {
	ctx := context.Background()
	srv := slackfake.New()
	defer srv.Close()
	srv.SetClock(func() time.Time { return t0 })
	n := newNotifier(t, srv, "C0ALERTS1")
	f := sampleFinding()
	note := func(kind notify.Kind, key string, thread *notify.ThreadRef, retry bool, first time.Time) *notify.Notification {
		return &notify.Notification{Kind: kind, Destination: "ops-slack", Tenant: f.Tenant, At: t0, Key: key, Finding: &f,
			Thread: thread, MaybeDelivered: retry, FirstAttempt: first}
	}
	posts := func() int { return len(srv.Calls("chat.postMessage")) }

	ann := note(notify.KindNew, "new/ops-slack/fp/1", nil, false, t0)
	if _, err := n.Notify(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if md := srv.Messages()[0].Metadata; md == nil || md.EventType != MetadataEventType || md.EventPayload[MetadataKey] != ann.Key {
		t.Fatalf("message metadata = %+v, want the idempotency key", md)
	}
	reply := note(notify.KindResolved, "resolved/ops-slack/fp/2", ann.Posted, false, t0)
	if _, err := n.Notify(ctx, reply); err != nil {
		t.Fatal(err)
	}
	base := posts()

	tests := []struct {
		name      string
		note      *notify.Notification
		wantPosts int
	}{
		{"announcement posted before", note(notify.KindNew, ann.Key, nil, true, t0), 0},
		{"reply posted before", note(notify.KindResolved, reply.Key, ann.Posted, true, t0), 0},
		{"other key", note(notify.KindNew, "new/ops-slack/fp/9", nil, true, t0), 1},
		{"first attempt long after the earlier post", note(notify.KindNew, ann.Key, nil, true, t0.Add(time.Hour)), 1},
		{"first attempt: no lookup", note(notify.KindNew, ann.Key, nil, false, t0), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, lookups := posts(), len(srv.Calls("conversations.history"))+len(srv.Calls("conversations.replies"))
			if retry, err := n.Notify(ctx, tc.note); err != nil {
				t.Fatalf("retry=%v err=%v", retry, err)
			}
			if got := posts() - before; got != tc.wantPosts {
				t.Errorf("posted %d, want %d", got, tc.wantPosts)
			}
			looked := len(srv.Calls("conversations.history"))+len(srv.Calls("conversations.replies")) > lookups
			if looked != tc.note.MaybeDelivered {
				t.Errorf("looked up = %v, want %v", looked, tc.note.MaybeDelivered)
			}
			if tc.note.Kind == notify.KindNew && tc.wantPosts == 0 && (tc.note.Posted == nil || *tc.note.Posted != *ann.Posted) {
				t.Errorf("found message = %+v, want %+v", tc.note.Posted, ann.Posted)
			}
		})
	}
	if posts() != base+3 {
		t.Errorf("posts = %d, want %d", posts(), base+3)
	}
}

// TestDigestCountsWhatItFolds: a digest that lists the first DigestListed
// of 331,574 findings says 331,574 in its header, fallback text and "more"
// line, not the number it lists.
func TestDigestCountsWhatItFolds(t *testing.T) {
	const total = 331574
	fs := make([]notify.Finding, notify.DigestListed)
	for i := range fs {
		fs[i] = sampleFinding()
	}
	n := &notify.Notification{Kind: notify.KindDigest, Tenant: "fabrikam", ScanID: "1", At: t0, Digest: &notify.Digest{
		Counts: map[notify.Kind]int{notify.KindNew: total}, BySeverity: map[tenant.Severity]int{tenant.SeverityHigh: total}, Findings: fs, Total: total}}
	if got := FallbackText(n); !strings.Contains(got, "331574 findings") {
		t.Errorf("fallback %q", got)
	}
	b, err := json.Marshal(DigestBlocks(n))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"331574 findings in fabrikam", fmt.Sprintf("…and %d more", total-digestLimit)} {
		if !strings.Contains(string(b), want) {
			t.Errorf("digest blocks lack %q", want)
		}
	}
}
