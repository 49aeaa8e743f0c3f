package notifystore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/internal/pgtest"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/notifystore"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/notify/slack/slackfake"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/store/storetest"
	"github.com/sharedrift/sharedrift/tenant"
)

// backend opens the same database again each time open is called, the way
// a restarted daemon would.
type backend struct {
	name string
	open func(t *testing.T, now func() time.Time) store.Store
}

// backends are SQLite always and PostgreSQL from SHAREDRIFT_TEST_POSTGRES_DSN
// (the test command starts a throwaway server); without it the PostgreSQL
// runs fail rather than skip, so a missing database is never mistaken for a pass.
func backends(t *testing.T) []backend {
	sqliteDir := map[string]string{}
	pgSchema := map[string]string{}
	return []backend{
		{"sqlite", func(t *testing.T, now func() time.Time) store.Store {
			dir, ok := sqliteDir[t.Name()]
			if !ok {
				dir = t.TempDir()
				sqliteDir[t.Name()] = dir
			}
			st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "sharedrift.db"), store.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"postgres", func(t *testing.T, now func() time.Time) store.Store {
			dsn, ok := pgSchema[t.Name()]
			if !ok {
				dsn = pgtest.Schema(t)
				pgSchema[t.Name()] = dsn
			}
			st, err := store.Open(context.Background(), dsn, store.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
}

// rig is one daemon's worth of notification plumbing over a store.
type rig struct {
	t       *testing.T
	clock   *storetest.Clock
	st      store.Store
	slack   *slackfake.Server
	planner *notify.Planner
	worker  *notify.Worker
	owner   string
}

const dest = "ops-slack"

func newRig(t *testing.T, b backend, clock *storetest.Clock, srv *slackfake.Server, owner string) *rig {
	t.Helper()
	return newRigWith(t, b, clock, srv, owner, nil)
}

// newRigWith is newRig whose worker sees the outbox through wrap.
func newRigWith(t *testing.T, b backend, clock *storetest.Clock, srv *slackfake.Server, owner string, wrap func(notify.Outbox) notify.Outbox) *rig {
	t.Helper()
	st := b.open(t, clock.Now)
	srv.SetClock(clock.Now)
	var ob notify.Outbox = &notifystore.Outbox{S: st}
	if wrap != nil {
		ob = wrap(ob)
	}
	n, err := slack.New(dest, &notify.SlackConfig{Token: "xoxb-test-token", Channel: "C0ALERTS1", APIURL: srv.APIURL()}, slack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := notify.NewWorker(notify.WorkerOptions{
		Outbox:      ob,
		Notifiers:   map[string]notify.Notifier{dest: n},
		Owner:       owner,
		Now:         clock.Now,
		SendTimeout: 300 * time.Millisecond,
		Delivery: notify.DeliveryConfig{BackoffInitial: 30 * time.Second, BackoffMax: 10 * time.Minute,
			MaxAge: 24 * time.Hour, Lease: 2 * time.Minute, Batch: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, clock: clock, st: st, slack: srv, worker: w, owner: owner,
		planner: &notify.Planner{Routes: []notify.Route{{Destination: dest}}}}
}

func fail(perm string) tenant.Result {
	return tenant.Result{RuleID: "links.anyone_link", Section: tenant.SectionLinks, Outcome: tenant.Fail, Severity: tenant.SeverityHigh,
		ObjectKey: "link:drive1/item" + perm + "/perm" + perm, ObjectName: "file" + perm + ".docx",
		Expected: "no Anyone links", Actual: "anonymous view link"}
}

// scan records a scan with the given failing results and plans its notifications.
func (r *rig) scan(results ...tenant.Result) int {
	r.t.Helper()
	sc, err := r.st.RecordScan(context.Background(), store.ScanInput{Snapshot: storetest.Snapshot(r.clock.Now()), Results: results, Baseline: "recommended"})
	if err != nil {
		r.t.Fatal(err)
	}
	n, err := notifystore.PlanScan(context.Background(), r.st, r.planner, sc, notifystore.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) run() notify.RunStats {
	r.t.Helper()
	st, err := r.worker.RunOnce(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

// drain runs the worker, advancing the clock past any backoff, until
// nothing is pending.
func (r *rig) drain() {
	r.t.Helper()
	for i := 0; i < 20; i++ {
		r.run()
		if r.count(store.OutboxPending) == 0 {
			return
		}
		r.clock.Advance(11 * time.Minute)
	}
	r.t.Fatalf("outbox did not drain: %d pending", r.count(store.OutboxPending))
}

func (r *rig) count(state store.OutboxState) int {
	r.t.Helper()
	ms, err := r.st.OutboxMessages(context.Background(), store.OutboxFilter{State: state})
	if err != nil {
		r.t.Fatal(err)
	}
	return len(ms)
}

func topLevel(msgs []slackfake.Message) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range msgs {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

func TestSameDriftOneMessageThenResolvedInThread(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")

			if n := r.scan(fail("2")); n != 1 {
				t.Fatalf("scan 1 enqueued %d, want 1", n)
			}
			r.drain()
			r.clock.Advance(time.Hour)
			if n := r.scan(fail("2")); n != 0 {
				t.Fatalf("scan 2 with the same drift enqueued %d, want 0", n)
			}
			r.drain()
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("after two scans of the same drift: %d messages, want 1", len(msgs))
			}
			original := msgs[0]
			if !strings.Contains(original.Blocks, "No Anyone links where the baseline forbids them") || !strings.Contains(original.Blocks, ActionAck()) {
				t.Errorf("announcement lacks the rule title or buttons: %s", original.Blocks)
			}

			r.clock.Advance(time.Hour)
			if n := r.scan(); n != 1 {
				t.Fatalf("scan 3 (drift fixed) enqueued %d, want 1", n)
			}
			r.drain()
			msgs = srv.Messages()
			if len(msgs) != 2 {
				t.Fatalf("after the fix: %d messages, want the original and one reply", len(msgs))
			}
			reply := msgs[1]
			if reply.ThreadTS != original.TS || !strings.Contains(reply.Text, "Resolved") {
				t.Errorf("resolved notice not a reply in the original thread: %+v", reply)
			}
			if msgs[0].Updates != 1 || !strings.Contains(msgs[0].Blocks, "RESOLVED") || strings.Contains(msgs[0].Blocks, ActionAck()) {
				t.Errorf("original not rewritten as resolved without buttons: updates=%d %s", msgs[0].Updates, msgs[0].Blocks)
			}
			if r.count(store.OutboxSent) != 2 || r.count(store.OutboxDead) != 0 {
				t.Errorf("outbox: %d sent, %d dead", r.count(store.OutboxSent), r.count(store.OutboxDead))
			}
		})
	}
}

// ActionAck is the acknowledge button's action ID.
func ActionAck() string { return slack.ActionAck }

func TestSlackOutageLosesNothing(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")

			srv.Down(http.StatusInternalServerError)
			r.scan(fail("2"), fail("3"))
			for i := 0; i < 12; i++ { // six hours of 500s
				r.run()
				r.clock.Advance(30 * time.Minute)
			}
			// The drift on item 3 is fixed while Slack is still down.
			r.scan(fail("2"))
			srv.Down(0)
			srv.Delay(time.Second) // now Slack times out
			for i := 0; i < 4; i++ {
				r.run()
				r.clock.Advance(30 * time.Minute)
			}
			if got := len(srv.Messages()); got != 0 {
				t.Fatalf("%d messages delivered during the outage", got)
			}
			if r.count(store.OutboxPending) != 3 || r.count(store.OutboxDead) != 0 {
				t.Fatalf("during the outage: %d pending, %d dead; want 3 pending", r.count(store.OutboxPending), r.count(store.OutboxDead))
			}
			failed := 0
			for _, q := range srv.Requests() {
				if q.Status != http.StatusOK {
					failed++
				}
			}
			if failed < 12 {
				t.Errorf("only %d failed attempts recorded; the worker did not keep trying", failed)
			}

			srv.Delay(0)
			r.drain()
			msgs := srv.Messages()
			top := topLevel(msgs)
			if len(top) != 2 || len(msgs) != 3 {
				t.Fatalf("after recovery: %d messages (%d top-level), want 2 announcements and 1 reply", len(msgs), len(top))
			}
			var item3 slackfake.Message
			for _, m := range top {
				if strings.Contains(m.Text, "link:drive1/item3/perm3") {
					item3 = m
				}
			}
			if msgs[2].ThreadTS == "" || msgs[2].ThreadTS != item3.TS {
				t.Errorf("resolution of item 3 not threaded under its announcement: %+v", msgs[2])
			}
			r.run()
			if got := len(srv.Messages()); got != 3 {
				t.Errorf("extra messages after draining: %d", got)
			}
		})
	}
}

func TestRestartBetweenEnqueueAndSendDeliversOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			clock := storetest.NewClock(storetest.T0)
			first := newRig(t, b, clock, srv, "replica-1")
			if n := first.scan(fail("2"), fail("3")); n != 2 {
				t.Fatalf("enqueued %d, want 2", n)
			}
			// The first process claims one message and dies before sending.
			if _, err := first.st.ClaimDue(context.Background(), "replica-1", 1, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			first.st.Close()

			second := newRig(t, b, clock, srv, "replica-2")
			second.run()
			if got := len(srv.Messages()); got != 1 {
				t.Fatalf("restarted worker sent %d, want the unclaimed one only (the other is leased)", got)
			}
			clock.Advance(3 * time.Minute) // the dead process's lease runs out
			second.drain()
			for i := 0; i < 3; i++ {
				second.run()
				clock.Advance(time.Hour)
			}
			msgs := srv.Messages()
			if len(msgs) != 2 || msgs[0].Text == msgs[1].Text {
				t.Fatalf("want each of the two notifications exactly once, got %d: %+v", len(msgs), msgs)
			}
			if second.count(store.OutboxSent) != 2 {
				t.Errorf("sent rows = %d, want 2", second.count(store.OutboxSent))
			}
		})
	}
}

func TestRejectedPayloadIsDeadLettered(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			tests := []struct {
				name    string
				setup   func(*slackfake.Server)
				wantErr string
			}{
				{"invalid blocks", func(s *slackfake.Server) { s.Reject("invalid_blocks") }, "invalid_blocks"},
				{"unknown channel", func(s *slackfake.Server) { s.SetChannels("C0OTHER01") }, "channel_not_found"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					srv := slackfake.New()
					defer srv.Close()
					tc.setup(srv)
					r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
					r.scan(fail("2"))
					if st := r.run(); st.Dead != 1 {
						t.Fatalf("run: %+v, want one dead letter", st)
					}
					dead, err := r.st.OutboxMessages(context.Background(), store.OutboxFilter{State: store.OutboxDead})
					if err != nil || len(dead) != 1 {
						t.Fatalf("dead letters: %v %v", dead, err)
					}
					if !strings.Contains(dead[0].LastError, tc.wantErr) || !strings.Contains(dead[0].LastError, `"`+dest+`"`) {
						t.Errorf("dead letter reason %q lacks %q or the destination", dead[0].LastError, tc.wantErr)
					}
					calls := len(srv.Requests())
					for i := 0; i < 5; i++ {
						r.clock.Advance(time.Hour)
						r.run()
					}
					if len(srv.Requests()) != calls {
						t.Errorf("rejected message retried: %d → %d requests", calls, len(srv.Requests()))
					}
				})
			}
		})
	}
}

func TestUndeliverableDeadLetteredAfterMaxAge(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			srv.Down(http.StatusServiceUnavailable)
			r.scan(fail("2"))
			for i := 0; i < 30 && r.count(store.OutboxPending) > 0; i++ {
				r.run()
				r.clock.Advance(time.Hour)
			}
			dead, err := r.st.OutboxMessages(context.Background(), store.OutboxFilter{State: store.OutboxDead})
			if err != nil || len(dead) != 1 {
				t.Fatalf("want one dead letter after the max age, got %v %v", dead, err)
			}
			if !strings.Contains(dead[0].LastError, "503") {
				t.Errorf("dead letter does not say why: %q", dead[0].LastError)
			}
		})
	}
}

func TestRemindersAndAcknowledge(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			r.planner.Reminder = notify.ReminderConfig{Every: 24 * time.Hour, MinSeverity: tenant.SeverityHigh}
			r.scan(fail("2"), fail("3"))
			r.drain()
			ctx := context.Background()
			if n, _ := notifystore.PlanReminders(ctx, r.st, r.planner, storetest.Tenant, r.clock.Now(), notifystore.Options{}); n != 0 {
				t.Fatalf("reminders before a day passed: %d", n)
			}
			// Acknowledging one through the Slack action adapter silences it.
			fs, err := r.st.FindingsList(ctx, store.FindingFilter{Tenant: storetest.Tenant})
			if err != nil || len(fs) != 2 {
				t.Fatalf("findings: %v %v", fs, err)
			}
			acked := fs[0].Fingerprint
			if err := (notifystore.FindingActions{S: r.st}).Acknowledge(ctx, storetest.Tenant, acked, "slack:U0ADMIN01"); err != nil {
				t.Fatal(err)
			}
			r.clock.Advance(25 * time.Hour)
			n, err := notifystore.PlanReminders(ctx, r.st, r.planner, storetest.Tenant, r.clock.Now(), notifystore.Options{})
			if err != nil || n != 1 {
				t.Fatalf("reminders after a day: %d %v, want 1 (one finding acknowledged)", n, err)
			}
			if again, _ := notifystore.PlanReminders(ctx, r.st, r.planner, storetest.Tenant, r.clock.Now().Add(time.Hour), notifystore.Options{}); again != 0 {
				t.Errorf("the same reminder enqueued twice: %d", again)
			}
			r.drain()
			msgs := srv.Messages()
			last := msgs[len(msgs)-1]
			if len(msgs) != 3 || last.ThreadTS == "" || !strings.Contains(last.Text, "Still open") {
				t.Fatalf("reminder not posted in the announcement's thread: %+v", msgs)
			}
			var payload struct {
				Finding notify.Finding `json:"finding"`
			}
			ms, _ := r.st.OutboxMessages(ctx, store.OutboxFilter{State: store.OutboxSent})
			_ = json.Unmarshal(ms[len(ms)-1].Payload, &payload)
			if payload.Finding.Fingerprint == acked {
				t.Errorf("acknowledged finding was reminded")
			}
			if err := (notifystore.FindingActions{S: r.st}).Acknowledge(ctx, storetest.Tenant, "ffffffffffff", "slack:U0ADMIN01"); err == nil {
				t.Error("acknowledging an unknown finding succeeded")
			}
		})
	}
}

// killedAfterSend is the outbox of a process that dies right after the
// destination accepted a message: the store never hears of the delivery.
type killedAfterSend struct{ notify.Outbox }

func (killedAfterSend) MarkSent(context.Context, int64, string) error {
	return errors.New("process killed")
}

func TestCrashAfterSlackAcceptedDeliversOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			clock := storetest.NewClock(storetest.T0)
			first := newRigWith(t, b, clock, srv, "replica-1", func(o notify.Outbox) notify.Outbox { return killedAfterSend{o} })
			if n := first.scan(fail("2")); n != 1 {
				t.Fatalf("enqueued %d, want 1", n)
			}
			if _, err := first.worker.RunOnce(context.Background()); err == nil {
				t.Fatal("the killed process recorded the delivery")
			}
			if got := len(srv.Messages()); got != 1 {
				t.Fatalf("first attempt posted %d messages, want 1", got)
			}
			first.st.Close()

			second := newRig(t, b, clock, srv, "replica-2")
			clock.Advance(3 * time.Minute) // the dead process's lease runs out
			second.drain()
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("after the restart: %d messages, want the first attempt's only", len(msgs))
			}
			if msgs[0].Metadata == nil || msgs[0].Metadata.EventPayload[slack.MetadataKey] == nil {
				t.Errorf("message carries no idempotency key: %+v", msgs[0].Metadata)
			}
			if len(srv.Calls("conversations.history")) == 0 {
				t.Error("the restarted worker did not look for the earlier attempt")
			}
			sent, err := second.st.OutboxMessages(context.Background(), store.OutboxFilter{State: store.OutboxSent})
			if err != nil || len(sent) != 1 || !strings.Contains(sent[0].ExternalRef, msgs[0].TS) {
				t.Fatalf("sent rows %+v %v: want one recording ts %s", sent, err, msgs[0].TS)
			}

			// The recorded reference is the real message: the resolution
			// threads under it.
			clock.Advance(time.Hour)
			second.scan()
			second.drain()
			msgs = srv.Messages()
			if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS || msgs[0].Updates != 1 {
				t.Fatalf("resolution not threaded under the recovered announcement: %+v", msgs)
			}
		})
	}
}

func TestLostSlackResponseDeliversOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			r.planner.Reminder = notify.ReminderConfig{Every: 24 * time.Hour, MinSeverity: tenant.SeverityHigh}
			r.scan(fail("2"))
			srv.LoseResponses(true) // Slack posts, the answer never comes
			if st := r.run(); st.Retried != 1 {
				t.Fatalf("run with a lost answer: %+v, want one retry", st)
			}
			srv.LoseResponses(false)
			r.drain()
			if got := len(srv.Messages()); got != 1 {
				t.Fatalf("announcement posted %d times, want once", got)
			}

			// The same for a reply in a thread (conversations.replies).
			r.clock.Advance(25 * time.Hour)
			if n, err := notifystore.PlanReminders(context.Background(), r.st, r.planner, storetest.Tenant, r.clock.Now(), notifystore.Options{}); err != nil || n != 1 {
				t.Fatalf("reminders: %d %v", n, err)
			}
			srv.LoseResponses(true)
			r.run()
			srv.LoseResponses(false)
			r.drain()
			msgs := srv.Messages()
			if len(msgs) != 2 || msgs[1].ThreadTS != msgs[0].TS {
				t.Fatalf("want the announcement and one reminder in its thread, got %+v", msgs)
			}
			if len(srv.Calls("conversations.replies")) == 0 {
				t.Error("the thread was not searched before the reminder was posted again")
			}
			if r.count(store.OutboxSent) != 2 || r.count(store.OutboxPending) != 0 {
				t.Errorf("outbox: %d sent, %d pending", r.count(store.OutboxSent), r.count(store.OutboxPending))
			}
		})
	}
}

func TestResolvedFindingOfDigestRepliesInDigestThread(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			r.planner.Digest = notify.DigestConfig{Threshold: 2}
			if n := r.scan(fail("2"), fail("3")); n != 1 {
				t.Fatalf("enqueued %d, want one digest", n)
			}
			r.drain()
			r.clock.Advance(time.Hour)
			if n := r.scan(fail("2")); n != 1 {
				t.Fatalf("enqueued %d, want one resolution", n)
			}
			r.drain()
			msgs := srv.Messages()
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want the digest and one reply", len(msgs))
			}
			digest, reply := msgs[0], msgs[1]
			if !strings.Contains(digest.Text, "2") || reply.ThreadTS != digest.TS || !strings.Contains(reply.Text, "Resolved") {
				t.Errorf("resolution not a reply in the digest's thread: digest %+v reply %+v", digest, reply)
			}
			if digest.Updates != 0 {
				t.Errorf("digest rewritten %d times; it lists other findings", digest.Updates)
			}
		})
	}
}

func TestResolutionAfterReopenThreadsUnderLatestAnnouncement(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			for _, results := range [][]tenant.Result{{fail("2")}, nil, {fail("2")}, nil} { // new, fixed, back, fixed
				r.scan(results...)
				r.drain()
				r.clock.Advance(time.Hour)
			}
			top := topLevel(srv.Messages())
			msgs := srv.Messages()
			if len(top) != 2 || len(msgs) != 4 {
				t.Fatalf("%d messages (%d top-level), want 2 announcements with one reply each", len(msgs), len(top))
			}
			first, back := top[0], top[1]
			sent, _ := r.st.OutboxMessages(context.Background(), store.OutboxFilter{State: store.OutboxSent})
			reopened := ""
			for _, m := range sent {
				if m.Kind == string(notify.KindReopened) {
					reopened = m.ExternalRef
				}
			}
			if !strings.Contains(reopened, back.TS) {
				t.Errorf("second announcement %s is not the reopening (%q)", back.TS, reopened)
			}
			replies := map[string]int{}
			for _, m := range msgs {
				if m.ThreadTS != "" {
					replies[m.ThreadTS]++
				}
			}
			if replies[first.TS] != 1 || replies[back.TS] != 1 {
				t.Errorf("replies per thread = %v, want one under %s and one under %s", replies, first.TS, back.TS)
			}
			for _, m := range srv.Messages() {
				if m.ThreadTS == "" && m.Updates != 1 {
					t.Errorf("announcement %s rewritten %d times, want once", m.TS, m.Updates)
				}
			}
		})
	}
}

// TestRuleWideUnknownSendsNoResolved: a scan in which a rule could not be
// evaluated at all (one rule-wide unknown result) resolves none of its
// findings, so nobody is told they were fixed; when the rule is judged
// again, the one really fixed is.
func TestRuleWideUnknownSendsNoResolved(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			if n := r.scan(fail("2"), fail("3")); n != 2 {
				t.Fatalf("scan 1 enqueued %d, want 2", n)
			}
			r.drain()
			r.clock.Advance(time.Hour)
			if n := r.scan(storetest.RuleWide("links.anyone_link", tenant.SectionLinks)); n != 0 {
				t.Fatalf("the rule-wide unknown scan enqueued %d, want 0", n)
			}
			r.drain()
			if msgs := srv.Messages(); len(msgs) != 2 {
				t.Fatalf("after the rule-wide unknown scan: %d messages, want the 2 announcements", len(msgs))
			}
			r.clock.Advance(time.Hour)
			if n := r.scan(fail("3")); n != 1 {
				t.Fatalf("scan 3 (link 2 fixed) enqueued %d, want 1", n)
			}
			r.drain()
			msgs := srv.Messages()
			if len(msgs) != 3 || !strings.Contains(msgs[2].Text, "Resolved") || !strings.Contains(msgs[2].Text+msgs[2].Blocks, "file2.docx") {
				t.Errorf("want one resolved reply for link 2, got %+v", msgs[2:])
			}
		})
	}
}

// TestAcceptRiskFromSlack: the Slack form's acceptance reaches the store
// with who made it; a finding resolved meanwhile is refused with a reason
// the form can show, and an unknown one is not found.
func TestAcceptRiskFromSlack(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			r.scan(fail("2"), fail("3"))
			ctx := context.Background()
			fs, err := r.st.FindingsList(ctx, store.FindingFilter{Tenant: storetest.Tenant})
			if err != nil || len(fs) != 2 {
				t.Fatalf("findings %d %v", len(fs), err)
			}
			acts := notifystore.FindingActions{S: r.st}
			until := r.clock.Now().Add(30 * 24 * time.Hour)
			if err := acts.AcceptRisk(ctx, storetest.Tenant, fs[0].Fingerprint, slack.Acceptance{Reason: "press kit", Owner: "comms", By: "slack:U0ADMIN01", Until: until}); err != nil {
				t.Fatal(err)
			}
			f, err := r.st.Finding(ctx, storetest.Tenant, fs[0].Fingerprint)
			if err != nil || f.Accepted == nil || f.Accepted.By != "slack:U0ADMIN01" || f.Accepted.Reason != "press kit" || !f.Accepted.Until.Equal(until) {
				t.Fatalf("stored acceptance %+v %v", f.Accepted, err)
			}
			r.clock.Advance(time.Hour)
			r.scan(fail("2")) // fail("3") resolves
			other := fs[1].Fingerprint
			if fs[1].ObjectKey == fail("2").ObjectKey {
				other = fs[0].Fingerprint
			}
			err = acts.AcceptRisk(ctx, storetest.Tenant, other, slack.Acceptance{Reason: "r", Owner: "o", By: "slack:U0ADMIN01", Until: until})
			if !errors.Is(err, slack.ErrRefused) {
				t.Errorf("accept a resolved finding: %v, want refused", err)
			}
			if err := acts.AcceptRisk(ctx, storetest.Tenant, "ffffffffffff", slack.Acceptance{Reason: "r", Owner: "o", Until: until}); !errors.Is(err, slack.ErrNotFound) {
				t.Errorf("accept an unknown finding: %v, want not found", err)
			}
		})
	}
}

// TestRemindersByPage: reminders are planned a page of open findings at a
// time; with pages of 3, seven findings (one below the reminder severity,
// one acknowledged) get the same reminders, in the same order, as with one
// page, and planning again enqueues none.
func TestRemindersByPage(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			keysAfter := func(page int) (ks []string) {
				// Each page size in its own subtest: its own database.
				t.Run(fmt.Sprintf("pages of %d", page), func(t *testing.T) { ks = remindedKeys(t, b, page) })
				return ks
			}
			whole, paged := keysAfter(1000), keysAfter(3)
			if len(paged) != 5 || !slices.Equal(whole, paged) {
				t.Fatalf("reminders in pages of 3 %v, in one page %v", paged, whole)
			}
		})
	}
}

// remindedKeys records seven findings, acknowledges one, and returns the
// keys of the reminders planned a day later with pages of page findings.
func remindedKeys(t *testing.T, b backend, page int) []string {
	ctx := context.Background()
	notifystore.SetReminderPage(t, page)
	r := newRig(t, b, storetest.NewClock(storetest.T0), slackfake.New(), "replica-1")
	r.planner.Reminder = notify.ReminderConfig{Every: 24 * time.Hour, MinSeverity: tenant.SeverityHigh}
	low := fail("9")
	low.Severity = tenant.SeverityMedium
	r.scan(fail("1"), fail("2"), fail("3"), fail("4"), fail("5"), fail("6"), low)
	acked := fail("4")
	if err := (notifystore.FindingActions{S: r.st}).Acknowledge(ctx, storetest.Tenant, acked.Fingerprint(), "slack:U0ADMIN01"); err != nil {
		t.Fatal(err)
	}
	before, err := r.st.OutboxMessages(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(25 * time.Hour)
	n, err := notifystore.PlanReminders(ctx, r.st, r.planner, storetest.Tenant, r.clock.Now(), notifystore.Options{})
	if err != nil || n != 5 {
		t.Fatalf("pages of %d: %d reminders (%v), want 5", page, n, err)
	}
	if again, err := notifystore.PlanReminders(ctx, r.st, r.planner, storetest.Tenant, r.clock.Now(), notifystore.Options{}); err != nil || again != 0 {
		t.Fatalf("pages of %d: planned again, %d more (%v)", page, again, err)
	}
	ms, err := r.st.OutboxMessages(ctx, store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, m := range ms[len(before):] {
		ks = append(ks, m.IdempotencyKey)
	}
	return ks
}

// TestUnlistedDigestFindingResolvesInItsThread: a digest lists its first
// notify.DigestListed findings but records every one it folds, so the
// resolution of one it counted without listing replies in its thread.
func TestUnlistedDigestFindingResolvesInItsThread(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := slackfake.New()
			defer srv.Close()
			r := newRig(t, b, storetest.NewClock(storetest.T0), srv, "replica-1")
			r.planner.Digest.Threshold = 10
			var results []tenant.Result
			for i := 100; i < 100+notify.DigestListed+5; i++ {
				results = append(results, fail(strconv.Itoa(i)))
			}
			if n := r.scan(results...); n != 1 {
				t.Fatalf("first scan enqueued %d, want one digest", n)
			}
			r.drain()
			digest := srv.Messages()[0]
			last := results[len(results)-1] // last in order: counted, not listed
			if strings.Contains(digest.Blocks, last.ObjectName) {
				t.Fatalf("the digest lists %s; the test needs one it does not", last.ObjectName)
			}
			r.clock.Advance(time.Hour)
			if n := r.scan(results[:len(results)-1]...); n != 1 {
				t.Fatalf("second scan enqueued %d, want one resolved notice", n)
			}
			r.drain()
			msgs := srv.Messages()
			if len(msgs) != 2 || msgs[1].ThreadTS != digest.TS || !strings.Contains(msgs[1].Text, "Resolved") {
				t.Fatalf("the resolution is not a reply in the digest's thread: %+v", msgs[1:])
			}
		})
	}
}
