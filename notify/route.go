package notify

import (
	"path"
	"slices"

	"github.com/sharedrift/sharedrift/config/notifyconf"
)

// The notification settings are defined with the configuration (package
// notifyconf), which must not depend on notify; these aliases keep their
// names at hand where they are consumed.

// Secret is notifyconf.Secret.
type Secret = notifyconf.Secret

// Config is notifyconf.Config.
type Config = notifyconf.Config

// DestinationConfig is notifyconf.DestinationConfig.
type DestinationConfig = notifyconf.DestinationConfig

// SlackConfig is notifyconf.SlackConfig.
type SlackConfig = notifyconf.SlackConfig

// TeamsConfig is notifyconf.TeamsConfig.
type TeamsConfig = notifyconf.TeamsConfig

// WebhookConfig is notifyconf.WebhookConfig.
type WebhookConfig = notifyconf.WebhookConfig

// EmailConfig is notifyconf.EmailConfig.
type EmailConfig = notifyconf.EmailConfig

// Route is notifyconf.Route.
type Route = notifyconf.Route

// DigestConfig is notifyconf.DigestConfig.
type DigestConfig = notifyconf.DigestConfig

// ReminderConfig is notifyconf.ReminderConfig.
type ReminderConfig = notifyconf.ReminderConfig

// DeliveryConfig is notifyconf.DeliveryConfig.
type DeliveryConfig = notifyconf.DeliveryConfig

// InteractivityConfig is notifyconf.InteractivityConfig.
type InteractivityConfig = notifyconf.InteractivityConfig

// Destination types.
const (
	TypeSlack   = notifyconf.TypeSlack
	TypeTeams   = notifyconf.TypeTeams
	TypeWebhook = notifyconf.TypeWebhook
	TypeEmail   = notifyconf.TypeEmail
)

// Matches reports whether route r selects f.
func Matches(r *Route, f *Finding) bool {
	if len(r.Tenants) > 0 && !slices.Contains(r.Tenants, f.Tenant) {
		return false
	}
	if r.MinSeverity != "" && !f.Severity.AtLeast(r.MinSeverity) {
		return false
	}
	if len(r.Sections) > 0 && !slices.Contains(r.Sections, f.Section) {
		return false
	}
	if len(r.Rules) > 0 && !slices.ContainsFunc(r.Rules, func(p string) bool {
		m, _ := path.Match(p, f.RuleID)
		return m
	}) {
		return false
	}
	return true
}

// Destinations returns the destinations f is routed to, in route order, each once.
func Destinations(routes []Route, f *Finding) []string {
	var out []string
	for i := range routes {
		if Matches(&routes[i], f) && !slices.Contains(out, routes[i].Destination) {
			out = append(out, routes[i].Destination)
		}
	}
	return out
}
