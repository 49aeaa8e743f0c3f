// Package notifyconf is the notifications part of the configuration:
// destinations, routes, digests, reminders, delivery and interactivity,
// with their validation. It is a leaf, so that the configuration does not
// depend on the notification machinery that consumes it.
package notifyconf

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/internal/readcap"
	"github.com/sharedrift/sharedrift/tenant"
)

// Secret is a credential from configuration. It never prints its value; a
// value of the form "env:NAME" is read from the environment variable NAME,
// "file:PATH" from a file (a mounted Kubernetes secret).
type Secret string

// String hides the value so a Secret cannot leak through logs or errors.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON hides the value from JSON dumps of the configuration.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Resolve returns the secret's value, reading the environment for
// "env:NAME" and the file for "file:PATH" (trailing newlines dropped). The
// error names the variable or file, never a value.
func (s Secret) Resolve() (string, error) {
	v := string(s)
	if p, ok := strings.CutPrefix(v, "file:"); ok {
		b, err := readcap.ReadFile(p, readcap.Secret)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		if v := strings.TrimRight(string(b), "\r\n"); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("secret file %s is empty", p)
	}
	if name, ok := strings.CutPrefix(v, "env:"); ok {
		if name == "" {
			return "", errors.New(`"env:" needs a variable name`)
		}
		ev := os.Getenv(name)
		if ev == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", name)
		}
		return ev, nil
	}
	return v, nil
}

// Destination types.
const (
	TypeSlack   = "slack"
	TypeTeams   = "teams"
	TypeWebhook = "webhook"
	TypeEmail   = "email"
)

// Config is the notification section of the configuration.
type Config struct {
	Destinations  []DestinationConfig `koanf:"destinations" yaml:"destinations"`
	Routes        []Route             `koanf:"routes" yaml:"routes"`
	Digest        DigestConfig        `koanf:"digest" yaml:"digest"`
	Reminders     ReminderConfig      `koanf:"reminders" yaml:"reminders"`
	Delivery      DeliveryConfig      `koanf:"delivery" yaml:"delivery"`
	Interactivity InteractivityConfig `koanf:"interactivity" yaml:"interactivity"`
}

// DestinationConfig names one place notifications go. Exactly the block
// matching Type is set.
type DestinationConfig struct {
	Name    string         `koanf:"name" yaml:"name"`
	Type    string         `koanf:"type" yaml:"type"`
	Slack   *SlackConfig   `koanf:"slack" yaml:"slack"`
	Teams   *TeamsConfig   `koanf:"teams" yaml:"teams"`
	Webhook *WebhookConfig `koanf:"webhook" yaml:"webhook"`
	Email   *EmailConfig   `koanf:"email" yaml:"email"`
}

// SlackConfig posts with a bot token (chat.postMessage / chat.update) or, when
// only incoming webhooks are allowed, to a webhook URL (no threading, no
// buttons).
type SlackConfig struct {
	Token Secret `koanf:"token" yaml:"token"`
	// Channel is a channel ID (C…, G…) or a #name; required with Token.
	Channel    string `koanf:"channel" yaml:"channel"`
	WebhookURL Secret `koanf:"webhook_url" yaml:"webhook_url"`
	// APIURL overrides the Web API base URL (tests, egress proxies).
	APIURL string `koanf:"api_url" yaml:"api_url"`
}

// TeamsConfig posts an Adaptive Card to a Teams Workflows webhook.
type TeamsConfig struct {
	URL Secret `koanf:"url" yaml:"url"`
}

// WebhookConfig posts signed JSON to a URL.
type WebhookConfig struct {
	URL    string `koanf:"url" yaml:"url"`
	Secret Secret `koanf:"secret" yaml:"secret"`
	// Timeout per request; default 10s.
	Timeout time.Duration `koanf:"timeout" yaml:"timeout"`
}

// EmailConfig sends multipart (text + HTML) mail over SMTP with STARTTLS.
type EmailConfig struct {
	Host     string   `koanf:"host" yaml:"host"`
	Port     int      `koanf:"port" yaml:"port"`
	Username string   `koanf:"username" yaml:"username"`
	Password Secret   `koanf:"password" yaml:"password"`
	From     string   `koanf:"from" yaml:"from"`
	To       []string `koanf:"to" yaml:"to"`
	// AllowPlaintext permits servers without STARTTLS (local relays only).
	AllowPlaintext bool `koanf:"allow_plaintext" yaml:"allow_plaintext"`
}

// Route sends findings matching all its non-empty filters to Destination.
// Every matching route applies; a destination gets a finding once.
type Route struct {
	Destination string           `koanf:"destination" yaml:"destination"`
	Tenants     []string         `koanf:"tenants" yaml:"tenants"`
	MinSeverity tenant.Severity  `koanf:"min_severity" yaml:"min_severity"`
	Sections    []tenant.Section `koanf:"sections" yaml:"sections"`
	// Rules are rule IDs or glob patterns ("SPO.*").
	Rules []string `koanf:"rules" yaml:"rules"`
}

// DigestConfig folds a scan's individual messages for a destination into one
// digest when there are at least Threshold of them (0 disables digests).
type DigestConfig struct {
	Threshold int `koanf:"threshold" yaml:"threshold"`
}

// ReminderConfig re-announces open findings at or above MinSeverity every
// Every (0 disables reminders). Acknowledged and snoozed findings are skipped.
type ReminderConfig struct {
	Every       time.Duration   `koanf:"every" yaml:"every"`
	MinSeverity tenant.Severity `koanf:"min_severity" yaml:"min_severity"`
}

// DeliveryConfig tunes the outbox worker; zero values take defaults.
type DeliveryConfig struct {
	// MaxAge dead-letters a notification still undelivered this long after it
	// was enqueued (default 72h).
	MaxAge         time.Duration `koanf:"max_age" yaml:"max_age"`
	BackoffInitial time.Duration `koanf:"backoff_initial" yaml:"backoff_initial"`
	BackoffMax     time.Duration `koanf:"backoff_max" yaml:"backoff_max"`
	Lease          time.Duration `koanf:"lease" yaml:"lease"`
	Batch          int           `koanf:"batch" yaml:"batch"`
	PollInterval   time.Duration `koanf:"poll_interval" yaml:"poll_interval"`
}

// InteractivityConfig configures the Slack interactivity endpoint.
type InteractivityConfig struct {
	SigningSecret Secret `koanf:"signing_secret" yaml:"signing_secret"`
	// AllowedUsers are the Slack user IDs whose button presses are accepted.
	AllowedUsers []string `koanf:"allowed_users" yaml:"allowed_users"`
}

// WithDefaults fills zero delivery settings.
func (d DeliveryConfig) WithDefaults() DeliveryConfig {
	if d.MaxAge <= 0 {
		d.MaxAge = 72 * time.Hour
	}
	if d.BackoffInitial <= 0 {
		d.BackoffInitial = 10 * time.Second
	}
	if d.BackoffMax <= 0 {
		d.BackoffMax = 15 * time.Minute
	}
	if d.Lease <= 0 {
		d.Lease = 2 * time.Minute
	}
	if d.Batch <= 0 {
		d.Batch = 50
	}
	if d.PollInterval <= 0 {
		d.PollInterval = 5 * time.Second
	}
	return d
}

var (
	nameRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	channelIDRE = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)
	channelRE   = regexp.MustCompile(`^#[a-z0-9][a-z0-9._-]{0,79}$`)
	userIDRE    = regexp.MustCompile(`^[UW][A-Z0-9]{6,}$`)
)

// Validate checks the whole section; the error names the destination or
// route and the offending key.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	var errs []error
	for i, d := range c.Destinations {
		if d.Name == "" {
			errs = append(errs, fmt.Errorf("notify.destinations[%d].name: missing", i))
			continue
		}
		if seen[d.Name] {
			errs = append(errs, fmt.Errorf("destination %q: name used twice", d.Name))
			continue
		}
		seen[d.Name] = true
		if err := d.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for i, r := range c.Routes {
		if err := r.validate(seen); err != nil {
			errs = append(errs, fmt.Errorf("notify.routes[%d] (destination %q): %w", i, r.Destination, err))
		}
	}
	if c.Digest.Threshold < 0 {
		errs = append(errs, fmt.Errorf("notify.digest.threshold: %d, expected 0 (off) or more", c.Digest.Threshold))
	}
	if c.Reminders.Every < 0 {
		errs = append(errs, fmt.Errorf("notify.reminders.every: %s, expected 0 (off) or a positive duration", c.Reminders.Every))
	}
	if c.Reminders.Every > 0 {
		if _, ok := c.Reminders.MinSeverity.Rank(); !ok {
			errs = append(errs, fmt.Errorf("notify.reminders.min_severity: %q, expected one of info, low, medium, high, critical", c.Reminders.MinSeverity))
		}
	}
	if c.Interactivity.SigningSecret != "" || len(c.Interactivity.AllowedUsers) > 0 {
		if err := c.Interactivity.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks the interactivity settings.
func (ic *InteractivityConfig) Validate() error {
	s, err := ic.SigningSecret.Resolve()
	if err != nil {
		return fmt.Errorf("notify.interactivity.signing_secret: %w", err)
	}
	if s == "" {
		return errors.New("notify.interactivity.signing_secret: missing")
	}
	if len(ic.AllowedUsers) == 0 {
		return errors.New("notify.interactivity.allowed_users: empty; list the Slack user IDs allowed to press buttons")
	}
	for i, u := range ic.AllowedUsers {
		if !userIDRE.MatchString(u) {
			return fmt.Errorf("notify.interactivity.allowed_users[%d]: %q is not a Slack user ID (U… or W…)", i, u)
		}
	}
	return nil
}

// Validate checks one destination; errors start with its name.
func (d *DestinationConfig) Validate() error {
	if err := d.validate(); err != nil {
		return fmt.Errorf("destination %q: %w", d.Name, err)
	}
	return nil
}

func (d *DestinationConfig) validate() error {
	if !nameRE.MatchString(d.Name) {
		return fmt.Errorf("name: %q, expected lower-case letters, digits, '.', '_' or '-'", d.Name)
	}
	set := 0
	for _, b := range []bool{d.Slack != nil, d.Teams != nil, d.Webhook != nil, d.Email != nil} {
		if b {
			set++
		}
	}
	if set > 1 {
		return fmt.Errorf("more than one of slack, teams, webhook, email set; expected only %q", d.Type)
	}
	switch d.Type {
	case TypeSlack:
		if d.Slack == nil {
			return errors.New("slack: missing settings block")
		}
		return d.Slack.validate()
	case TypeTeams:
		if d.Teams == nil {
			return errors.New("teams: missing settings block")
		}
		return validateURLSecret("teams.url", d.Teams.URL)
	case TypeWebhook:
		if d.Webhook == nil {
			return errors.New("webhook: missing settings block")
		}
		return d.Webhook.validate()
	case TypeEmail:
		if d.Email == nil {
			return errors.New("email: missing settings block")
		}
		return d.Email.validate()
	}
	return fmt.Errorf("type: %q, expected slack, teams, webhook or email", d.Type)
}

func (s *SlackConfig) validate() error {
	if s.Token == "" && s.WebhookURL == "" {
		return errors.New("slack.token: missing (a bot token, or webhook_url for an incoming webhook)")
	}
	if s.Token != "" && s.WebhookURL != "" {
		return errors.New("slack: set either token or webhook_url, not both")
	}
	if s.WebhookURL != "" {
		return validateURLSecret("slack.webhook_url", s.WebhookURL)
	}
	tok, err := s.Token.Resolve()
	if err != nil {
		return fmt.Errorf("slack.token: %w", err)
	}
	if !strings.HasPrefix(tok, "xoxb-") && !strings.HasPrefix(tok, "xoxp-") {
		return errors.New("slack.token: not a bot or user token (expected xoxb-…)")
	}
	switch {
	case s.Channel == "":
		return errors.New("slack.channel: missing")
	case !channelIDRE.MatchString(s.Channel) && !channelRE.MatchString(s.Channel):
		return fmt.Errorf("slack.channel: %q, expected a channel ID (C…) or #name", s.Channel)
	}
	if s.APIURL != "" {
		if _, err := parseHTTPURL(s.APIURL); err != nil {
			return fmt.Errorf("slack.api_url: %w", err)
		}
	}
	return nil
}

func (w *WebhookConfig) validate() error {
	if _, err := parseHTTPURL(w.URL); err != nil {
		return fmt.Errorf("webhook.url: %w", err)
	}
	sec, err := w.Secret.Resolve()
	if err != nil {
		return fmt.Errorf("webhook.secret: %w", err)
	}
	if len(sec) < 16 {
		return errors.New("webhook.secret: missing or shorter than 16 characters (the HMAC signing secret)")
	}
	if w.Timeout < 0 {
		return fmt.Errorf("webhook.timeout: %s, expected a positive duration", w.Timeout)
	}
	return nil
}

func (e *EmailConfig) validate() error {
	if e.Host == "" {
		return errors.New("email.host: missing")
	}
	if e.Port < 0 || e.Port > 65535 {
		return fmt.Errorf("email.port: %d, expected 1-65535 (default 587)", e.Port)
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		return fmt.Errorf("email.from: %q: %w", e.From, err)
	}
	if len(e.To) == 0 {
		return errors.New("email.to: no recipients")
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("email.to[%d]: %q: %w", i, to, err)
		}
	}
	if e.Username != "" {
		if pw, err := e.Password.Resolve(); err != nil {
			return fmt.Errorf("email.password: %w", err)
		} else if pw == "" {
			return errors.New("email.password: missing (username is set)")
		}
	}
	return nil
}

func validateURLSecret(key string, s Secret) error {
	v, err := s.Resolve()
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if v == "" {
		return fmt.Errorf("%s: missing", key)
	}
	if _, err := parseHTTPURL(v); err != nil {
		// The URL carries a credential, so the value is not repeated.
		return fmt.Errorf("%s: not an http(s) URL", key)
	}
	return nil
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", s)
	}
	return u, nil
}

func (r *Route) validate(dests map[string]bool) error {
	if r.Destination == "" {
		return errors.New("destination: missing")
	}
	if !dests[r.Destination] {
		return errors.New("destination: no destination with that name")
	}
	if r.MinSeverity != "" {
		if _, ok := r.MinSeverity.Rank(); !ok {
			return fmt.Errorf("min_severity: %q, expected one of info, low, medium, high, critical", r.MinSeverity)
		}
	}
	for i, s := range r.Sections {
		if !knownSection(s) {
			return fmt.Errorf("sections[%d]: %q, expected one of %v", i, s, tenant.AllSections)
		}
	}
	for i, t := range r.Tenants {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("tenants[%d]: empty", i)
		}
	}
	for i, p := range r.Rules {
		if p == "" {
			return fmt.Errorf("rules[%d]: empty", i)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("rules[%d]: %q: malformed pattern", i, p)
		}
	}
	return nil
}

func knownSection(s tenant.Section) bool {
	for _, k := range tenant.AllSections {
		if k == s {
			return true
		}
	}
	return false
}

// Lookup returns the destination named name.
func (c *Config) Lookup(name string) (*DestinationConfig, bool) {
	for i := range c.Destinations {
		if c.Destinations[i].Name == name {
			return &c.Destinations[i], true
		}
	}
	return nil, false
}
