package app

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/internal/golden"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/notifystore"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
	"github.com/sharedrift/sharedrift/notify/teams"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

const notifyGoldenDir = "../testdata/golden/notify"

// criticalRule is fabrikam's one critical failure against the
// recommended baseline: an Anyone link on confidential content.
const criticalRule = "links.anyone_on_confidential"

// pipelineNotes scans the fabrikam fake tenant through the real pipeline
// (collector, rules, store, planner, outbox) and returns what the outbox
// holds for each destination, decoded as the delivery worker decodes it:
//
//   - "alerts": critical findings one by one, reminded daily;
//   - "digest": high and above, folded into one digest;
//   - after a second scan in which the critical Anyone link is gone, its
//     resolution.
func pipelineNotes(t *testing.T) (first, reminders, resolved map[string][]*notify.Notification) {
	t.Helper()
	ctx := context.Background()
	srv, err := m365test.New(filepath.Join("..", "testdata", "tenants", "fabrikam"), m365test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	now := *srv.RecordedAt()
	clock := now
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "sharedrift.db"), store.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := baselines.Load("recommended")
	if err != nil {
		t.Fatal(err)
	}
	alerts := &notify.Planner{Routes: []notify.Route{{Destination: "alerts", MinSeverity: tenant.SeverityCritical}},
		Reminder: notify.ReminderConfig{Every: 24 * time.Hour, MinSeverity: tenant.SeverityCritical}}
	digest := &notify.Planner{Routes: []notify.Route{{Destination: "digest", MinSeverity: tenant.SeverityHigh}},
		Digest: notify.DigestConfig{Threshold: 3}}
	o := notifystore.Options{Remediable: func(id string) bool { r, ok := rules.Lookup(id); return ok && r.Meta().Fixable }}

	sc, err := Scan(ctx, st, ScanJob{Tenant: "fabrikam", Client: client, Baseline: b, BaselineRef: "recommended",
		Started: now, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	for _, p := range []*notify.Planner{alerts, digest} {
		if _, err := notifystore.PlanScan(ctx, st, p, sc.Scan, o); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]bool{}
	first = outbox(t, st, seen)

	clock = now.Add(25 * time.Hour)
	if _, err := notifystore.PlanReminders(ctx, st, alerts, "fabrikam", clock, o); err != nil {
		t.Fatal(err)
	}
	reminders = outbox(t, st, seen)

	// The second scan sees the tenant without the critical Anyone link:
	// the snapshot of the first, its links filtered, fifty hours later.
	var critical string
	for _, n := range first["alerts"] {
		if n.Finding != nil && n.Finding.RuleID == criticalRule {
			critical = n.Finding.ObjectKey
		}
	}
	if critical == "" {
		t.Fatalf("no %s alert in %v", criticalRule, first)
	}
	snap := *sc.Snapshot
	snap.CollectedAt = now.Add(50 * time.Hour)
	snap.Links = nil
	if err := sc.Snapshot.EachLink(func(l *tenant.Link) error {
		if l.Key() != critical {
			snap.Links = append(snap.Links, *l)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clock = snap.CollectedAt
	sc2, err := Record(ctx, st, &snap, RecordJob{Baseline: b, BaselineRef: "recommended", Started: snap.CollectedAt})
	if err != nil {
		t.Fatal(err)
	}
	defer sc2.Close()
	if _, err := notifystore.PlanScan(ctx, st, alerts, sc2.Scan, o); err != nil {
		t.Fatal(err)
	}
	resolved = outbox(t, st, seen)
	return first, reminders, resolved
}

// outbox decodes the messages not seen before, by destination.
func outbox(t *testing.T, st store.Store, seen map[int64]bool) map[string][]*notify.Notification {
	t.Helper()
	msgs, err := st.OutboxMessages(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*notify.Notification{}
	for _, m := range msgs {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		n, err := notify.DecodePayload(m.Payload)
		if err != nil {
			t.Fatalf("outbox message %d: %v", m.ID, err)
		}
		out[m.Destination] = append(out[m.Destination], n)
	}
	return out
}

func one(t *testing.T, what string, ns []*notify.Notification, kind notify.Kind) *notify.Notification {
	t.Helper()
	var got *notify.Notification
	for _, n := range ns {
		if n.Kind != kind {
			continue
		}
		if got != nil {
			t.Fatalf("%s: more than one %s notification", what, kind)
		}
		got = n
	}
	if got == nil {
		t.Fatalf("%s: no %s notification among %d", what, kind, len(ns))
	}
	return got
}

// TestGoldenNotifications renders what the real pipeline planned for the
// fabrikam fixture through the Slack and Teams notifiers and compares the
// payloads with testdata/golden/notify (run with -update, or make golden,
// after checking a change). Every finding the goldens show carries a
// built-in rule ID and a link to its object.
func TestGoldenNotifications(t *testing.T) {
	first, reminders, resolved := pipelineNotes(t)
	newNote := one(t, "alerts", first["alerts"], notify.KindNew)
	digestNote := one(t, "digest", first["digest"], notify.KindDigest)
	reminder := one(t, "reminders", reminders["alerts"], notify.KindReminder)
	resolution := one(t, "second scan", resolved["alerts"], notify.KindResolved)

	for _, n := range []*notify.Notification{newNote, reminder, resolution} {
		checkLinked(t, n.Kind, n.Finding)
	}
	if len(digestNote.Digest.Findings) < 3 {
		t.Fatalf("digest lists %d findings", len(digestNote.Digest.Findings))
	}
	for i := range digestNote.Digest.Findings {
		checkLinked(t, notify.KindDigest, &digestNote.Digest.Findings[i])
	}
	if !strings.HasPrefix(newNote.Finding.ObjectURL, "https://fabrikam.sharepoint.com/:") {
		t.Errorf("the Anyone link alert links to %q, not the link's web URL", newNote.Finding.ObjectURL)
	}

	// Slack, through slack-go against the recording fake.
	ctx := context.Background()
	fake := slackfake.New()
	defer fake.Close()
	sn, err := slack.New("alerts", &notify.SlackConfig{Token: "xoxb-test-token", Channel: "C0ALERTS1", APIURL: fake.APIURL()}, slack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lastPost := func() string {
		posts := fake.Calls("chat.postMessage")
		return posts[len(posts)-1].Form.Get("blocks")
	}
	if _, err := sn.Notify(ctx, newNote); err != nil {
		t.Fatal(err)
	}
	slackGolden(t, "slack_new_finding.json", lastPost(), newNote.Finding.ObjectURL)
	reminder.Thread = newNote.Posted
	if _, err := sn.Notify(ctx, reminder); err != nil {
		t.Fatal(err)
	}
	slackGolden(t, "slack_reminder.json", lastPost(), reminder.Finding.ObjectURL)
	resolution.Thread = newNote.Posted
	if _, err := sn.Notify(ctx, resolution); err != nil {
		t.Fatal(err)
	}
	slackGolden(t, "slack_resolved_reply.json", lastPost(), resolution.Finding.ObjectURL)
	updates := fake.Calls("chat.update")
	if len(updates) != 1 {
		t.Fatalf("want one chat.update of the original message, got %d", len(updates))
	}
	slackGolden(t, "slack_resolved_original.json", updates[0].Form.Get("blocks"), resolution.Finding.ObjectURL)
	if _, err := sn.Notify(ctx, digestNote); err != nil {
		t.Fatal(err)
	}
	slackGolden(t, "slack_digest.json", lastPost(), digestNote.Digest.Findings[0].ObjectURL)

	// Teams: the whole Workflows payload.
	for _, tc := range []struct {
		file string
		n    *notify.Notification
		url  string
	}{
		{"teams_new_finding.json", newNote, newNote.Finding.ObjectURL},
		{"teams_resolved.json", resolution, resolution.Finding.ObjectURL},
		{"teams_digest.json", digestNote, ""},
	} {
		raw, err := json.MarshalIndent(teams.Message(tc.n), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if tc.url != "" && !bytes.Contains(raw, []byte(tc.url)) {
			t.Errorf("%s does not link to %s", tc.file, tc.url)
		}
		golden.Check(t, filepath.Join(notifyGoldenDir, tc.file), append(raw, '\n'))
	}
}

// checkLinked fails unless f names a built-in rule and links to its object.
func checkLinked(t *testing.T, kind notify.Kind, f *notify.Finding) {
	t.Helper()
	if _, ok := rules.Lookup(f.RuleID); !ok {
		t.Errorf("%s notification names rule %q, which is not built in", kind, f.RuleID)
	}
	if !strings.HasPrefix(f.ObjectURL, "https://") {
		t.Errorf("%s notification of %s on %s has no object URL (%q)", kind, f.RuleID, f.ObjectKey, f.ObjectURL)
	}
	if f.Title == "" {
		t.Errorf("%s notification of %s has no rule title", kind, f.RuleID)
	}
}

// slackGolden compares Block Kit JSON with a file, after checking that it
// links to url (when given).
func slackGolden(t *testing.T, name, blocks, url string) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(blocks), "", "  "); err != nil {
		t.Fatalf("%s: blocks are not JSON: %v\n%s", name, err, blocks)
	}
	// slack-go escapes < as \u003c in the form it posts.
	if url != "" && !strings.Contains(blocks, "<"+url+"|") && !strings.Contains(blocks, `\u003c`+url+"|") {
		t.Errorf("%s does not link to %s", name, url)
	}
	buf.WriteByte('\n')
	golden.Check(t, filepath.Join(notifyGoldenDir, name), buf.Bytes())
}
