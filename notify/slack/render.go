package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	goslack "github.com/slack-go/slack"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/tenant"
)

// Action IDs of the buttons on a finding message; the interactivity handler
// dispatches on them.
const (
	ActionAck     = "sharedrift_ack"
	ActionSnooze  = "sharedrift_snooze"
	ActionApprove = "sharedrift_approve"
	ActionReject  = "sharedrift_reject"
	// ActionAccept opens the accept-risk form (a modal); its submission
	// comes back as a view with CallbackAccept.
	ActionAccept   = "sharedrift_accept"
	CallbackAccept = "sharedrift_accept_risk"
	actionsBlock   = "sharedrift_actions"
)

// digestLimit caps the findings listed in a digest; Slack allows 50 blocks.
const digestLimit = 20

// ActionValue is the JSON carried in a button's value.
type ActionValue struct {
	Tenant      string `json:"tenant"`
	Fingerprint string `json:"fingerprint"`
}

var severityIcon = map[tenant.Severity]string{
	tenant.SeverityCritical: ":red_circle:",
	tenant.SeverityHigh:     ":large_orange_circle:",
	tenant.SeverityMedium:   ":large_yellow_circle:",
	tenant.SeverityLow:      ":large_blue_circle:",
	tenant.SeverityInfo:     ":white_circle:",
}

func icon(s tenant.Severity) string {
	if i, ok := severityIcon[s]; ok {
		return i
	}
	return ":grey_question:"
}

// esc escapes the three characters Slack's mrkdwn treats as control characters.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// trunc shortens s to at most n runes, marking the cut.
func trunc(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func mrkdwn(s string) *goslack.TextBlockObject {
	return goslack.NewTextBlockObject(goslack.MarkdownType, trunc(s, 3000), false, false)
}

func plain(s string) *goslack.TextBlockObject {
	return goslack.NewTextBlockObject(goslack.PlainTextType, s, true, false)
}

func field(label, value string) *goslack.TextBlockObject {
	if value == "" {
		value = "—"
	}
	return mrkdwn("*" + label + "*\n" + trunc(value, 1900))
}

// slackDate renders t in the reader's time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func title(f *notify.Finding) string {
	if f.Title != "" {
		return f.Title
	}
	return f.RuleID
}

// objectLink renders the drifted object's name, linked when a URL is known.
func objectLink(f *notify.Finding) string {
	name := esc(objectName(f))
	if f.ObjectURL == "" {
		return name
	}
	return "<" + f.ObjectURL + "|" + strings.ReplaceAll(name, "|", "¦") + ">"
}

// object is objectLink plus the stable key, for the detailed view.
func object(f *notify.Finding) string {
	s := objectLink(f)
	if f.ObjectName != "" && f.ObjectKey != "" {
		s += "\n`" + esc(f.ObjectKey) + "`"
	}
	return s
}

func references(r notify.References) string {
	var parts []string
	if len(r.CIS) > 0 {
		parts = append(parts, "CIS "+esc(strings.Join(r.CIS, ", ")))
	}
	if len(r.SCuBA) > 0 {
		parts = append(parts, "SCuBA "+esc(strings.Join(r.SCuBA, ", ")))
	}
	for i, d := range r.Docs {
		parts = append(parts, fmt.Sprintf("<%s|docs %d>", d, i+1))
	}
	return strings.Join(parts, " · ")
}

// kindRemediationCap is the kind remediation uses when a run stopped at its
// change cap.
const kindRemediationCap = notify.KindRemediationCap

var headline = map[notify.Kind]string{
	kindRemediationCap:            "Remediation stopped",
	notify.KindRemediationApplied: "Fix applied",
	notify.KindNew:                "New drift",
	notify.KindEscalated:          "Drift escalated",
	notify.KindReopened:           "Drift is back",
	notify.KindReminder:           "Still open",
	notify.KindResolved:           "Resolved",
	notify.KindTest:               "Test notification",
}

// remediationKind reports whether k announces remediation, not a finding.
func remediationKind(k notify.Kind) bool {
	return k == kindRemediationCap || k == notify.KindRemediationApplied
}

// FallbackText is the plain notification text (push notifications, screen
// readers, incoming webhooks that drop blocks).
func FallbackText(n *notify.Notification) string {
	if n.Digest != nil {
		return fmt.Sprintf("sharedrift: %d findings in %s", n.Digest.Size(), n.Tenant)
	}
	if n.Finding == nil {
		return "sharedrift: " + headline[n.Kind]
	}
	f := n.Finding
	return fmt.Sprintf("[%s] %s in %s: %s — %s", f.Severity, headline[n.Kind], f.Tenant, title(f), f.ObjectKey)
}

// FindingBlocks renders a new, escalated, reopened or test finding message.
// Buttons are added when interactive (bot token mode); remediable findings
// also get Approve fix / Reject.
func FindingBlocks(n *notify.Notification, interactive bool) []goslack.Block {
	f := n.Finding
	head := fmt.Sprintf("%s · %s: %s", strings.ToUpper(string(f.Severity)), headline[n.Kind], title(f))
	blocks := []goslack.Block{
		goslack.NewHeaderBlock(plain(trunc(head, 150))),
		goslack.NewSectionBlock(mrkdwn(icon(f.Severity)+" "+summary(n)), nil, nil),
	}
	blocks = append(blocks, detailBlocks(f)...)
	// Remediation events are not stored findings: nothing to acknowledge or snooze.
	if interactive && !remediationKind(n.Kind) {
		blocks = append(blocks, actionBlock(f))
	}
	return blocks
}

func summary(n *notify.Notification) string {
	f := n.Finding
	s := "*" + esc(title(f)) + "*"
	if f.Message != "" {
		s += "\n" + esc(f.Message)
	}
	switch n.Kind {
	case notify.KindEscalated:
		s += fmt.Sprintf("\nSeverity raised from *%s* to *%s*.", f.PreviousSeverity, f.Severity)
	case notify.KindReopened:
		s += "\nThis drift was resolved before and has come back."
	case notify.KindTest:
		s += "\n_This is a test message; nothing has drifted._"
	}
	return s
}

// detailBlocks are the facts shared by every rendering of one finding.
func detailBlocks(f *notify.Finding) []goslack.Block {
	blocks := []goslack.Block{
		goslack.NewSectionBlock(nil, []*goslack.TextBlockObject{
			field("Tenant", esc(f.Tenant)),
			field("Severity", icon(f.Severity)+" "+string(f.Severity)),
			field("Rule", "`"+esc(f.RuleID)+"`"),
			field("Section", string(f.Section)),
		}, nil),
		goslack.NewSectionBlock(mrkdwn("*What drifted*\n"+object(f)), nil, nil),
		goslack.NewSectionBlock(nil, []*goslack.TextBlockObject{
			field("Expected", esc(f.Expected)),
			field("Actual", esc(f.Actual)),
		}, nil),
	}
	if f.Remediation != "" {
		blocks = append(blocks, goslack.NewSectionBlock(mrkdwn("*Fix*\n"+esc(f.Remediation)), nil, nil))
	}
	ctx := []goslack.MixedElement{
		mrkdwn("First seen " + slackDate(f.FirstSeen) + " · last seen " + slackDate(f.LastSeen)),
	}
	if refs := references(f.References); refs != "" {
		ctx = append(ctx, mrkdwn("References: "+refs))
	}
	blocks = append(blocks, goslack.NewContextBlock("", ctx...))
	return blocks
}

func actionBlock(f *notify.Finding) goslack.Block {
	v, _ := json.Marshal(ActionValue{Tenant: f.Tenant, Fingerprint: f.Fingerprint})
	val := string(v)
	elems := []goslack.BlockElement{
		goslack.NewButtonBlockElement(ActionAck, val, plain("Acknowledge")),
		goslack.NewButtonBlockElement(ActionSnooze, val, plain("Snooze 7 days")),
		goslack.NewButtonBlockElement(ActionAccept, val, plain("Accept risk…")),
	}
	if f.Remediable {
		approve := goslack.NewButtonBlockElement(ActionApprove, val, plain("Approve fix")).WithStyle(goslack.StylePrimary)
		approve.Confirm = goslack.NewConfirmationBlockObject(plain("Apply the fix?"),
			plain(trunc("sharedrift will change "+objectName(f)+" back to the baseline.", 300)), plain("Apply"), plain("Cancel"))
		elems = append(elems, approve,
			goslack.NewButtonBlockElement(ActionReject, val, plain("Reject")).WithStyle(goslack.StyleDanger))
	}
	return goslack.NewActionBlock(actionsBlock, elems...)
}

func objectName(f *notify.Finding) string {
	if f.ObjectName != "" {
		return f.ObjectName
	}
	return f.ObjectKey
}

// ReminderBlocks renders a reminder for a finding that stays open.
func ReminderBlocks(n *notify.Notification, interactive bool) []goslack.Block {
	f := n.Finding
	open := n.At.Sub(f.FirstSeen).Round(time.Hour)
	blocks := []goslack.Block{
		goslack.NewSectionBlock(mrkdwn(fmt.Sprintf("%s :alarm_clock: *Still open:* %s — %s in *%s*, open for %s.",
			icon(f.Severity), esc(title(f)), string(f.Severity), esc(f.Tenant), humanDuration(open))), nil, nil),
	}
	blocks = append(blocks, detailBlocks(f)...)
	// Remediation events are not stored findings: nothing to acknowledge or snooze.
	if interactive && !remediationKind(n.Kind) {
		blocks = append(blocks, actionBlock(f))
	}
	return blocks
}

// ResolvedReplyBlocks renders the thread reply announcing a resolution.
func ResolvedReplyBlocks(n *notify.Notification) []goslack.Block {
	f := n.Finding
	at := n.At
	if f.ResolvedAt != nil {
		at = *f.ResolvedAt
	}
	text := fmt.Sprintf(":white_check_mark: *Resolved:* %s on %s is back to the expected value.", esc(title(f)), objectLink(f))
	if f.Expected != "" {
		text += "\nNow: " + esc(f.Expected)
	}
	return []goslack.Block{
		goslack.NewSectionBlock(mrkdwn(text), nil, nil),
		goslack.NewContextBlock("", mrkdwn(fmt.Sprintf("Tenant %s · rule `%s` · resolved %s · open since %s",
			esc(f.Tenant), esc(f.RuleID), slackDate(at), slackDate(f.FirstSeen)))),
	}
}

// ResolvedOriginalBlocks is what the original message becomes once the
// finding is resolved: the same facts, marked resolved, without buttons.
func ResolvedOriginalBlocks(n *notify.Notification) []goslack.Block {
	f := n.Finding
	at := n.At
	if f.ResolvedAt != nil {
		at = *f.ResolvedAt
	}
	blocks := []goslack.Block{
		goslack.NewHeaderBlock(plain(trunc("RESOLVED · "+title(f), 150))),
		goslack.NewSectionBlock(mrkdwn(":white_check_mark: ~"+esc(title(f))+"~ resolved "+slackDate(at)+"."), nil, nil),
	}
	return append(blocks, detailBlocks(f)...)
}

// DigestBlocks renders one message summarising a scan's many findings.
func DigestBlocks(n *notify.Notification) []goslack.Block {
	d := n.Digest
	var counts []string
	for _, k := range []notify.Kind{notify.KindNew, notify.KindReopened, notify.KindEscalated} {
		if c := d.Counts[k]; c > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", c, k))
		}
	}
	var sev []string
	for _, s := range []tenant.Severity{tenant.SeverityCritical, tenant.SeverityHigh, tenant.SeverityMedium, tenant.SeverityLow, tenant.SeverityInfo} {
		if c := d.BySeverity[s]; c > 0 {
			sev = append(sev, fmt.Sprintf("%s %d %s", icon(s), c, s))
		}
	}
	blocks := []goslack.Block{
		goslack.NewHeaderBlock(plain(trunc(fmt.Sprintf("%d findings in %s", d.Size(), n.Tenant), 150))),
		goslack.NewSectionBlock(mrkdwn(fmt.Sprintf("Scan `%s` at %s: %s.\n%s",
			esc(n.ScanID), slackDate(n.At), strings.Join(counts, ", "), strings.Join(sev, "  "))), nil, nil),
		goslack.NewDividerBlock(),
	}
	for i := range d.Findings {
		if i == digestLimit {
			break
		}
		f := &d.Findings[i]
		line := fmt.Sprintf("%s *%s* — %s\n`%s` · expected %s, actual %s", icon(f.Severity), esc(title(f)),
			trunc(objectLink(f), 500), esc(f.RuleID), esc(trunc(f.Expected, 200)), esc(trunc(f.Actual, 200)))
		blocks = append(blocks, goslack.NewSectionBlock(mrkdwn(line), nil, nil))
	}
	if more := d.Size() - min(len(d.Findings), digestLimit); more > 0 {
		blocks = append(blocks, goslack.NewContextBlock("",
			mrkdwn(fmt.Sprintf("…and %d more. Run `sharedrift findings list --tenant %s` for all of them.", more, esc(n.Tenant)))))
	}
	return blocks
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return fmt.Sprintf("%d minutes", int(d/time.Minute))
}
