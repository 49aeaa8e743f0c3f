// Package teams posts notifications to a Microsoft Teams channel through a
// Workflows ("When a Teams webhook request is received") webhook, as an
// Adaptive Card.
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/webhook"
	"github.com/sharedrift/sharedrift/tenant"
)

// Notifier posts to one Teams destination.
type Notifier struct {
	name string
	url  string
	http *http.Client
}

// New builds the notifier for the destination named name. client may be nil.
func New(name string, cfg *notify.TeamsConfig, client *http.Client) (*Notifier, error) {
	dc := notify.DestinationConfig{Name: name, Type: notify.TypeTeams, Teams: cfg}
	if err := dc.Validate(); err != nil {
		return nil, err
	}
	u, _ := cfg.URL.Resolve()
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	return &Notifier{name: name, url: u, http: client}, nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, note *notify.Notification) (bool, error) {
	body, err := json.Marshal(Message(note))
	if err != nil {
		return false, fmt.Errorf("%w: encode card: %w", notify.ErrRejected, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%w: build request", notify.ErrRejected)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		// The URL holds the workflow's signature; keep it out of the error.
		return true, fmt.Errorf("teams post: %v", redactURL(err, n.url))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return webhook.Classify(resp, strings.TrimSpace(string(reply)))
}

func redactURL(err error, u string) string {
	return strings.ReplaceAll(err.Error(), u, "[teams webhook URL]")
}

// Message wraps the card the way Workflows webhooks expect it.
func Message(note *notify.Notification) map[string]any {
	return map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     Card(note),
		}},
	}
}

var color = map[tenant.Severity]string{
	tenant.SeverityCritical: "Attention",
	tenant.SeverityHigh:     "Attention",
	tenant.SeverityMedium:   "Warning",
	tenant.SeverityLow:      "Accent",
	tenant.SeverityInfo:     "Default",
}

var headline = map[notify.Kind]string{
	notify.KindNew:       "New drift",
	notify.KindEscalated: "Drift escalated",
	notify.KindReopened:  "Drift is back",
	notify.KindReminder:  "Still open",
	notify.KindResolved:  "Resolved",
	notify.KindTest:      "Test notification",
	// Remediation announcements.
	notify.KindRemediationCap:     "Remediation stopped",
	notify.KindRemediationApplied: "Fix applied",
}

func text(s string, extra map[string]any) map[string]any {
	m := map[string]any{"type": "TextBlock", "text": s, "wrap": true}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func facts(kv ...string) map[string]any {
	var fs []any
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		fs = append(fs, map[string]any{"title": kv[i], "value": kv[i+1]})
	}
	return map[string]any{"type": "FactSet", "facts": fs}
}

// Card renders an Adaptive Card (schema 1.4, what Teams renders).
func Card(note *notify.Notification) map[string]any {
	var body, actions []any
	switch {
	case note.Digest != nil:
		d := note.Digest
		body = append(body, text(fmt.Sprintf("%d findings in %s", d.Size(), note.Tenant), map[string]any{"size": "Large", "weight": "Bolder"}))
		body = append(body, facts("Scan", note.ScanID, "New", count(d.Counts[notify.KindNew]), "Reopened", count(d.Counts[notify.KindReopened]),
			"Escalated", count(d.Counts[notify.KindEscalated]),
			"Critical", count(d.BySeverity[tenant.SeverityCritical]), "High", count(d.BySeverity[tenant.SeverityHigh])))
		for i, f := range d.Findings {
			if i == 20 {
				break
			}
			body = append(body, text(fmt.Sprintf("**%s** · %s — %s", strings.ToUpper(string(f.Severity)), title(&f), name(&f)), nil))
		}
		if more := d.Size() - min(len(d.Findings), 20); more > 0 {
			body = append(body, text(fmt.Sprintf("…and %d more.", more), map[string]any{"isSubtle": true}))
		}
	case note.Finding != nil:
		f := note.Finding
		head := headline[note.Kind] + ": " + title(f)
		body = append(body,
			text(head, map[string]any{"size": "Large", "weight": "Bolder", "color": colorOf(f.Severity, note.Kind)}),
		)
		if f.Message != "" {
			body = append(body, text(f.Message, nil))
		}
		if note.Kind == notify.KindEscalated {
			body = append(body, text(fmt.Sprintf("Severity raised from %s to %s.", f.PreviousSeverity, f.Severity), nil))
		}
		body = append(body, facts("Tenant", f.Tenant, "Severity", string(f.Severity), "Rule", f.RuleID, "Section", string(f.Section),
			"Object", name(f), "Key", f.ObjectKey, "Expected", f.Expected, "Actual", f.Actual,
			"First seen", f.FirstSeen.UTC().Format("2006-01-02 15:04 UTC")))
		if f.Remediation != "" && note.Kind != notify.KindResolved {
			body = append(body, text("**Fix:** "+f.Remediation, nil))
		}
		if refs := refs(f.References); refs != "" {
			body = append(body, text(refs, map[string]any{"isSubtle": true, "size": "Small"}))
		}
		if f.ObjectURL != "" {
			actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": "Open " + name(f), "url": f.ObjectURL})
		}
	default:
		body = append(body, text("sharedrift: "+headline[note.Kind], nil))
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"msteams": map[string]any{"width": "Full"},
		"body":    body,
	}
	if len(actions) > 0 {
		card["actions"] = actions
	}
	return card
}

func colorOf(s tenant.Severity, k notify.Kind) string {
	if k == notify.KindResolved {
		return "Good"
	}
	if c, ok := color[s]; ok {
		return c
	}
	return "Default"
}

func count(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func title(f *notify.Finding) string {
	if f.Title != "" {
		return f.Title
	}
	return f.RuleID
}

func name(f *notify.Finding) string {
	if f.ObjectName != "" {
		return f.ObjectName
	}
	return f.ObjectKey
}

func refs(r notify.References) string {
	var parts []string
	if len(r.CIS) > 0 {
		parts = append(parts, "CIS "+strings.Join(r.CIS, ", "))
	}
	if len(r.SCuBA) > 0 {
		parts = append(parts, "SCuBA "+strings.Join(r.SCuBA, ", "))
	}
	for i, d := range r.Docs {
		parts = append(parts, fmt.Sprintf("[docs %d](%s)", i+1, d))
	}
	if len(parts) == 0 {
		return ""
	}
	return "References: " + strings.Join(parts, " · ")
}
