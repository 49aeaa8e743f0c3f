// Package destinations builds the notifier of every configured destination.
// It is the one place that knows all destination types, so the notify core
// and the daemon stay free of them.
package destinations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/email"
	"github.com/sharedrift/sharedrift/notify/slack"
	"github.com/sharedrift/sharedrift/notify/teams"
	"github.com/sharedrift/sharedrift/notify/webhook"
	"github.com/sharedrift/sharedrift/tenant"
)

// Options are shared dependencies.
type Options struct {
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Build returns a Notifier per destination name. The configuration must
// have been validated; errors still name the destination.
func Build(cfg *notify.Config, o Options) (map[string]notify.Notifier, error) {
	out := make(map[string]notify.Notifier, len(cfg.Destinations))
	var errs []error
	for i := range cfg.Destinations {
		d := &cfg.Destinations[i]
		n, err := One(d, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[d.Name] = n
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// One builds the notifier of one destination.
func One(d *notify.DestinationConfig, o Options) (notify.Notifier, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	switch d.Type {
	case notify.TypeSlack:
		return slack.New(d.Name, d.Slack, slack.Options{HTTPClient: o.HTTPClient, Logger: o.Logger})
	case notify.TypeTeams:
		return teams.New(d.Name, d.Teams, o.HTTPClient)
	case notify.TypeWebhook:
		return webhook.New(d.Name, d.Webhook, o.HTTPClient)
	case notify.TypeEmail:
		return email.New(d.Name, d.Email, email.Options{})
	}
	return nil, fmt.Errorf("destination %q: type %q not supported", d.Name, d.Type)
}

// Checker is a notifier that can verify its destination at start (Slack:
// auth.test and the channel's existence).
type Checker interface {
	Check(ctx context.Context) error
}

// Check runs every notifier's start-up check; the error names each failing
// destination.
func Check(ctx context.Context, ns map[string]notify.Notifier) error {
	var errs []error
	for _, n := range ns {
		if c, ok := n.(Checker); ok {
			if err := c.Check(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Sample is the notification `sharedrift notify test` sends.
func Sample(dest string, now time.Time) *notify.Notification {
	f := notify.Finding{
		Fingerprint: "0000000000000000000000000000test", Tenant: "example", RuleID: "links.anyone_link_expiry",
		Title: "Anyone links expire in time", Section: tenant.SectionLinks, Severity: tenant.SeverityInfo,
		ObjectKey: "link:example/item/perm", ObjectName: "Example.docx", Expected: "expires within 30 days", Actual: "never expires",
		Message: "This sample shows how sharedrift findings look here.", Remediation: "Nothing to do: this is a test.",
		FirstSeen: now, LastSeen: now,
	}
	return &notify.Notification{Kind: notify.KindTest, Destination: dest, Tenant: "example", At: now,
		Key: "test/" + dest + "/" + now.UTC().Format(time.RFC3339Nano), Finding: &f}
}
