package notify

import (
	"path"
	"slices"

	"github.com/sharedrift/sharedrift/config/notifyconf"
)

// The notification settings are defined with the configuration (package
// notifyconf); these names keep them at hand where they are consumed.
type (
	// Secret is a credential from configuration (see notifyconf.Secret).
	Secret              = notifyconf.Secret
	Config              = notifyconf.Config
	DestinationConfig   = notifyconf.DestinationConfig
	SlackConfig         = notifyconf.SlackConfig
	TeamsConfig         = notifyconf.TeamsConfig
	WebhookConfig       = notifyconf.WebhookConfig
	EmailConfig         = notifyconf.EmailConfig
	Route               = notifyconf.Route
	DigestConfig        = notifyconf.DigestConfig
	ReminderConfig      = notifyconf.ReminderConfig
	DeliveryConfig      = notifyconf.DeliveryConfig
	InteractivityConfig = notifyconf.InteractivityConfig
)

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
