package notify

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

var t0 = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)

func finding(fp string, sev tenant.Severity) Finding {
	return Finding{Fingerprint: fp, Tenant: "fabrikam", RuleID: "R-" + fp, Section: tenant.SectionLinks, Severity: sev,
		ObjectKey: "link:" + fp, FirstSeen: t0, LastSeen: t0}
}

func keys(items []Item) []string {
	var ks []string
	for _, it := range items {
		ks = append(ks, it.Key)
	}
	return ks
}

func TestPlanTransitions(t *testing.T) {
	p := &Planner{Routes: []Route{{Destination: "slack", MinSeverity: tenant.SeverityMedium}, {Destination: "hook"}}}
	scan := Scan{ID: "s2", Tenant: "fabrikam", At: t0}
	esc := finding("e", tenant.SeverityCritical)
	esc.PreviousSeverity = tenant.SeverityHigh
	deesc := finding("d", tenant.SeverityLow)
	deesc.PreviousSeverity = tenant.SeverityHigh
	snoozed := t0.Add(time.Hour)
	tests := []struct {
		name string
		c    Change
		want []string
	}{
		{"new high goes everywhere", Change{Transition: TransitionNew, Finding: finding("a", tenant.SeverityHigh)},
			[]string{"new/slack/a/s2", "new/hook/a/s2"}},
		{"new low only to the unfiltered route", Change{Transition: TransitionNew, Finding: finding("b", tenant.SeverityLow)},
			[]string{"new/hook/b/s2"}},
		{"still open says nothing", Change{Transition: TransitionOpen, Finding: finding("c", tenant.SeverityCritical)}, nil},
		{"escalation is announced", Change{Transition: TransitionOpen, Finding: esc},
			[]string{"escalated/slack/e/s2/critical", "escalated/hook/e/s2/critical"}},
		{"lower severity is not an escalation", Change{Transition: TransitionOpen, Finding: deesc}, nil},
		{"reopened", Change{Transition: TransitionReopened, Finding: finding("r", tenant.SeverityHigh)},
			[]string{"reopened/slack/r/s2", "reopened/hook/r/s2"}},
		{"resolved", Change{Transition: TransitionResolved, Finding: finding("x", tenant.SeverityHigh)},
			[]string{"resolved/slack/x/s2", "resolved/hook/x/s2"}},
		{"snoozed new stays quiet", Change{Transition: TransitionReopened, Finding: finding("z", tenant.SeverityHigh), SnoozedUntil: &snoozed}, nil},
		{"snoozed resolution is told", Change{Transition: TransitionResolved, Finding: finding("y", tenant.SeverityHigh), SnoozedUntil: &snoozed},
			[]string{"resolved/slack/y/s2", "resolved/hook/y/s2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := keys(p.Plan(scan, []Change{tc.c}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("keys = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPlanSameDriftTwoScans(t *testing.T) {
	p := &Planner{Routes: []Route{{Destination: "slack"}}}
	f := finding("a", tenant.SeverityHigh)
	first := p.Plan(Scan{ID: "s1", At: t0}, []Change{{Transition: TransitionNew, Finding: f}})
	f.LastSeen = t0.Add(time.Hour)
	second := p.Plan(Scan{ID: "s2", At: t0.Add(time.Hour)}, []Change{{Transition: TransitionOpen, Finding: f}})
	again := p.Plan(Scan{ID: "s1", At: t0}, []Change{{Transition: TransitionNew, Finding: finding("a", tenant.SeverityHigh)}})
	if len(first) != 1 || len(second) != 0 {
		t.Fatalf("first=%v second=%v, want one item then none", keys(first), keys(second))
	}
	if !reflect.DeepEqual(keys(first), keys(again)) {
		t.Errorf("replanning a scan changed keys: %v vs %v", keys(first), keys(again))
	}
	if first[0].Group != "a" {
		t.Errorf("group = %q, want the fingerprint", first[0].Group)
	}
}

func TestPlanDigest(t *testing.T) {
	p := &Planner{Routes: []Route{{Destination: "slack"}}, Digest: DigestConfig{Threshold: 3}}
	var cs []Change
	for _, fp := range []string{"a", "b", "c"} {
		cs = append(cs, Change{Transition: TransitionNew, Finding: finding(fp, tenant.SeverityHigh)})
	}
	crit := finding("k", tenant.SeverityCritical)
	cs = append(cs, Change{Transition: TransitionReopened, Finding: crit},
		Change{Transition: TransitionResolved, Finding: finding("q", tenant.SeverityHigh)})
	items := p.Plan(Scan{ID: "s1", Tenant: "fabrikam", At: t0}, cs)
	if got, want := keys(items), []string{"digest/slack/s1", "resolved/slack/q/s1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	d := items[0].Notification.Digest
	if len(d.Findings) != 4 || d.Findings[0].Fingerprint != "k" || d.Counts[KindNew] != 3 || d.Counts[KindReopened] != 1 {
		t.Errorf("digest = %+v", d)
	}
	if d.BySeverity[tenant.SeverityCritical] != 1 || d.BySeverity[tenant.SeverityHigh] != 3 {
		t.Errorf("by severity = %v", d.BySeverity)
	}
	// Below the threshold the same findings go one by one.
	items = p.Plan(Scan{ID: "s2", At: t0}, cs[:2])
	if len(items) != 2 || items[0].Notification.Kind != KindNew {
		t.Errorf("below threshold: %v", keys(items))
	}
}

func TestReminders(t *testing.T) {
	p := &Planner{Routes: []Route{{Destination: "slack"}}, Reminder: ReminderConfig{Every: 24 * time.Hour, MinSeverity: tenant.SeverityHigh}}
	snoozed := t0.Add(72 * time.Hour)
	open := []Change{
		{Transition: TransitionOpen, Finding: finding("crit", tenant.SeverityCritical)},
		{Transition: TransitionOpen, Finding: finding("low", tenant.SeverityLow)},
		{Transition: TransitionOpen, Finding: finding("ack", tenant.SeverityCritical), Acknowledged: true},
		{Transition: TransitionOpen, Finding: finding("snz", tenant.SeverityCritical), SnoozedUntil: &snoozed},
	}
	tests := []struct {
		now  time.Time
		want []string
	}{
		{t0.Add(23 * time.Hour), nil},
		{t0.Add(25 * time.Hour), []string{"reminder/slack/crit/1741078800/1"}},
		{t0.Add(47 * time.Hour), []string{"reminder/slack/crit/1741078800/1"}},
		{t0.Add(49 * time.Hour), []string{"reminder/slack/crit/1741078800/2"}},
		{t0.Add(73 * time.Hour), []string{"reminder/slack/crit/1741078800/3", "reminder/slack/snz/1741078800/3"}},
	}
	for _, tc := range tests {
		t.Run(tc.now.Sub(t0).String(), func(t *testing.T) {
			if got := keys(p.Reminders(tc.now, open)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("keys = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		return Config{
			Destinations: []DestinationConfig{
				{Name: "ops-slack", Type: TypeSlack, Slack: &SlackConfig{Token: "xoxb-1", Channel: "C0ALERTS1"}},
				{Name: "siem", Type: TypeWebhook, Webhook: &WebhookConfig{URL: "https://siem.example/hook", Secret: "0123456789abcdef0123"}},
				{Name: "teams", Type: TypeTeams, Teams: &TeamsConfig{URL: "https://example.invalid/workflows/1"}},
				{Name: "mail", Type: TypeEmail, Email: &EmailConfig{Host: "smtp.example", From: "sharedrift@example.com", To: []string{"sec@example.com"}}},
			},
			Routes: []Route{{Destination: "ops-slack", MinSeverity: tenant.SeverityHigh, Rules: []string{"SPO-*"}}},
		}
	}
	c := valid()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"missing slack token", func(c *Config) { c.Destinations[0].Slack.Token = "" }, []string{`destination "ops-slack"`, "slack.token: missing"}},
		{"missing webhook secret", func(c *Config) { c.Destinations[1].Webhook.Secret = "" }, []string{`destination "siem"`, "webhook.secret"}},
		{"unknown channel form", func(c *Config) { c.Destinations[0].Slack.Channel = "general" }, []string{`destination "ops-slack"`, "slack.channel"}},
		{"route to unknown destination", func(c *Config) { c.Routes[0].Destination = "pager" }, []string{`notify.routes[0] (destination "pager")`, "no destination"}},
		{"route with bad severity", func(c *Config) { c.Routes[0].MinSeverity = "urgent" }, []string{`destination "ops-slack"`, `min_severity: "urgent"`}},
		{"route with malformed rule pattern", func(c *Config) { c.Routes[0].Rules = []string{"SPO-["} }, []string{`destination "ops-slack"`, "malformed pattern"}},
		{"route with unknown section", func(c *Config) { c.Routes[0].Sections = []tenant.Section{"mail"} }, []string{"sections[0]"}},
		{"unknown type", func(c *Config) { c.Destinations[2].Type = "pager" }, []string{`destination "teams"`, `type: "pager"`}},
		{"duplicate name", func(c *Config) { c.Destinations[1].Name = "ops-slack" }, []string{`destination "ops-slack": name used twice`}},
		{"email without recipients", func(c *Config) { c.Destinations[3].Email.To = nil }, []string{`destination "mail"`, "email.to"}},
		{"interactivity without secret", func(c *Config) { c.Interactivity.AllowedUsers = []string{"U0123456"} }, []string{"signing_secret: missing"}},
		{"interactivity with bad user", func(c *Config) {
			c.Interactivity = InteractivityConfig{SigningSecret: "s3cret", AllowedUsers: []string{"alice"}}
		}, []string{`allowed_users[0]: "alice"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("xoxb-very-secret")
	for _, got := range []string{s.String(), s.GoString()} {
		if strings.Contains(got, "very-secret") {
			t.Errorf("secret printed: %q", got)
		}
	}
	t.Setenv("SHAREDRIFT_TEST_TOKEN", "xoxb-from-env")
	if v, err := Secret("env:SHAREDRIFT_TEST_TOKEN").Resolve(); err != nil || v != "xoxb-from-env" {
		t.Errorf("Resolve = %q, %v", v, err)
	}
}

// TestDigestOfManyKeepsCountsAndTheFirst: a digest folding far more than
// DigestListed findings counts every one and lists the first DigestListed
// in order (most severe, then rule and object), whatever order the changes
// arrive in; renderers get the whole count from Size. Destinations and
// singles come out in the same order from any arrival order: destinations
// by their first finding, a tie by the order of the routes.
func TestDigestOfManyKeepsCountsAndTheFirst(t *testing.T) {
	p := &Planner{Routes: []Route{{Destination: "slack"}, {Destination: "crit", MinSeverity: tenant.SeverityCritical}}, Digest: DigestConfig{Threshold: 10}}
	const n = 1000
	cs := make([]Change, 0, n+3)
	for i := range n {
		sev := tenant.SeverityHigh
		if i%7 == 0 {
			sev = tenant.SeverityCritical
		}
		cs = append(cs, Change{Transition: TransitionNew, Finding: finding(fmt.Sprintf("f%04d", (i*389)%n), sev)})
	}
	cs = append(cs, Change{Transition: TransitionResolved, Finding: finding("r2", tenant.SeverityLow)},
		Change{Transition: TransitionResolved, Finding: finding("r1", tenant.SeverityHigh)})
	sorted := slices.Clone(cs)
	slices.SortStableFunc(sorted, func(a, b Change) int {
		switch {
		case lessFinding(&a.Finding, &b.Finding):
			return -1
		case lessFinding(&b.Finding, &a.Finding):
			return 1
		}
		return 0
	})
	scan := Scan{ID: "s1", Tenant: "fabrikam", At: t0}
	items := p.Plan(scan, cs)
	if got, want := keys(items), []string{"digest/slack/s1", "resolved/slack/r1/s1", "resolved/slack/r2/s1", "digest/crit/s1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
	if again := p.Plan(scan, sorted); !reflect.DeepEqual(items, again) {
		t.Fatal("the plan depends on the order the changes arrive in")
	}
	if len(items[0].Members) != n {
		t.Errorf("the digest's members are %d fingerprints, want all %d", len(items[0].Members), n)
	}
	rows, err := OutboxItems(items[:1])
	if err != nil || len(rows[0].Members) != n {
		t.Fatalf("the digest's outbox row has %d members (%v), want %d", len(rows[0].Members), err, n)
	}
	d := items[0].Notification.Digest
	if d.Size() != n || d.Counts[KindNew] != n || len(d.Findings) != DigestListed {
		t.Fatalf("digest of %d: size %d, counts %v, %d listed", n, d.Size(), d.Counts, len(d.Findings))
	}
	crit := (n + 6) / 7
	if d.BySeverity[tenant.SeverityCritical] != crit || d.BySeverity[tenant.SeverityHigh] != n-crit {
		t.Errorf("by severity = %v", d.BySeverity)
	}
	for i := range d.Findings {
		if d.Findings[i].Fingerprint != sorted[i].Finding.Fingerprint {
			t.Fatalf("listed %d is %s, want %s", i, d.Findings[i].Fingerprint, sorted[i].Finding.Fingerprint)
		}
	}
	if c := items[3].Notification.Digest; c.Size() != crit || c.Findings[0].Severity != tenant.SeverityCritical {
		t.Errorf("critical digest: size %d", c.Size())
	}
	// Below the threshold, singles in order however they arrive.
	few := []Change{cs[3], cs[0], cs[2]}
	want := keys(p.Plan(scan, []Change{cs[0], cs[2], cs[3]}))
	if got := keys(p.Plan(scan, few)); !reflect.DeepEqual(got, want) {
		t.Errorf("singles %v, want %v", got, want)
	}
}

// TestDestinationsTieByArrival: two findings equal in order (same
// severity, rule and object) routed to different destinations: the
// destination of the one that arrived first comes first, as a stable sort
// of the changes gave.
func TestDestinationsTieByArrival(t *testing.T) {
	p := &Planner{Routes: []Route{{Destination: "d0", Sections: []tenant.Section{tenant.SectionGuests}}, {Destination: "d1", Sections: []tenant.Section{tenant.SectionLinks}}}}
	a, b := finding("a", tenant.SeverityHigh), finding("a", tenant.SeverityHigh)
	b.Fingerprint, b.Section = "b", tenant.SectionGuests
	items := p.Plan(Scan{ID: "s1", At: t0}, []Change{{Transition: TransitionNew, Finding: a}, {Transition: TransitionNew, Finding: b}})
	if got, want := keys(items), []string{"new/d1/a/s1", "new/d0/b/s1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("keys = %v, want %v", got, want)
	}
}
