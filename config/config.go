package config

import (
	"regexp"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/sharedrift/sharedrift/config/notifyconf"
)

// Config is the whole daemon configuration.
type Config struct {
	Log       Log                 `koanf:"log"`
	Store     Store               `koanf:"store"`
	HTTP      HTTP                `koanf:"http"`
	Scheduler Scheduler           `koanf:"scheduler"`
	Defaults  Defaults            `koanf:"defaults"`
	Notify    notifyconf.Config   `koanf:"notify"`
	Changes   ChangeNotifications `koanf:"change_notifications"`
	Tenants   map[string]Tenant   `koanf:"tenants"`
}

// ChangeNotifications subscribes to every drive's changes through Graph
// change notifications, so that a new sharing link is seen within
// minutes; scheduled scans stay the safety net. Empty URL disables it.
type ChangeNotifications struct {
	// URL is the public https base URL at which Microsoft reaches this
	// daemon's HTTP server (an ingress in front of it); notifications go
	// to URL + "/graph/notifications/{tenant}".
	URL string `koanf:"url"`
	// Debounce waits this long after a drive's first unprocessed
	// notification before reading the drive, so a burst is read once.
	Debounce Duration `koanf:"debounce"`
	// Lifetime is what each subscription is created or renewed for; it is
	// renewed when less than half is left.
	Lifetime Duration `koanf:"lifetime"`
	// Interval is how often marked drives are processed and subscriptions
	// maintained.
	Interval Duration `koanf:"interval"`
}

// Log configures the daemon's structured logger.
type Log struct {
	Level  string `koanf:"level"`  // debug | info | warn | error
	Format string `koanf:"format"` // json | text
}

// Store selects where state is kept: PostgreSQL when DSN is set, otherwise
// the embedded SQLite database in StateDir.
type Store struct {
	DSN       SecretRef `koanf:"dsn"`
	StateDir  string    `koanf:"state_dir"`
	Retention Duration  `koanf:"retention"`
}

// HTTP configures the health, metrics and JSON API server.
type HTTP struct {
	// Listen is a host:port; empty disables the server.
	Listen string     `koanf:"listen"`
	Tokens []APIToken `koanf:"tokens"`
	// Console configures the web console served at /.
	Console Console `koanf:"console"`
}

// Console configures the web console's sign-in.
type Console struct {
	// SessionTTL is how long a console session lasts after sign-in.
	SessionTTL Duration `koanf:"session_ttl"`
	// TrustedHeader signs people in from a header set by an
	// authenticating proxy in front of the daemon; off by default.
	TrustedHeader TrustedHeader `koanf:"trusted_header"`
}

// TrustedHeader names the user a proxy (oauth2-proxy style) has
// authenticated. Only requests from the proxies' addresses are believed,
// and only users on the allow list get in, with the scope listed.
type TrustedHeader struct {
	Enabled bool `koanf:"enabled"`
	// Header carries the user, e.g. X-Forwarded-Email.
	Header string `koanf:"header"`
	// Proxies are the CIDRs the proxy connects from.
	Proxies []string `koanf:"proxies"`
	// Users is the allow list.
	Users []TrustedUser `koanf:"users"`
}

// TrustedUser is one user the trusted header may name, and its scope.
type TrustedUser struct {
	Name  string `koanf:"name"`
	Scope Scope  `koanf:"scope"`
}

// Scope is what an API token may do.
type Scope string

// API token scopes. Admin implies read.
const (
	ScopeRead  Scope = "read"
	ScopeAdmin Scope = "admin"
)

// APIToken is one bearer token accepted by the API.
type APIToken struct {
	Name   string    `koanf:"name"`
	Scope  Scope     `koanf:"scope"`
	Secret SecretRef `koanf:"secret"`
}

// Scheduler tunes when and how scans run.
type Scheduler struct {
	// Jitter spreads tenants sharing a schedule over this window; each
	// tenant's offset is derived from its name, so every replica agrees.
	Jitter Duration `koanf:"jitter"`
	// StartupScan scans every tenant once when the daemon starts.
	StartupScan bool `koanf:"startup_scan"`
	// ScanTimeout bounds one tenant's scan.
	ScanTimeout Duration `koanf:"scan_timeout"`
	// GracePeriod is how long a stopping daemon lets running scans finish
	// before abandoning them uncommitted.
	GracePeriod Duration `koanf:"grace_period"`
	// LeaseTTL is how long a replica's claim on a scan lasts without renewal;
	// a dead replica's scans are taken over after it.
	LeaseTTL Duration `koanf:"lease_ttl"`
	// MaxConcurrent caps scans running at once in this process.
	MaxConcurrent int `koanf:"max_concurrent"`
}

// Defaults apply to every tenant that does not set the field itself.
type Defaults struct {
	Schedule    string      `koanf:"schedule"`
	Baseline    string      `koanf:"baseline"`
	Remediation Remediation `koanf:"remediation"`

	FullScanEvery       Duration `koanf:"full_scan_every"`
	SitePropertiesEvery Duration `koanf:"site_properties_every"`
	SitePropertiesPages *int     `koanf:"site_properties_pages"`
	LinkDiscovery       string   `koanf:"link_discovery"`
}

// Tenant is one Microsoft 365 tenant to watch.
type Tenant struct {
	// Name is the map key under tenants; filled in by Load.
	Name string `koanf:"-"`
	// TenantID is the Entra directory (tenant) ID.
	TenantID string `koanf:"tenant_id"`
	// Domain is the tenant's initial domain prefix (fabrikam for
	// fabrikam.onmicrosoft.com); it gives the SharePoint admin host.
	Domain string `koanf:"domain"`
	// Cloud is global, usgov, usgovhigh, dod or china.
	Cloud       string      `koanf:"cloud"`
	Schedule    string      `koanf:"schedule"`
	Baseline    string      `koanf:"baseline"`
	Credentials Credentials `koanf:"credentials"`
	// Fixture, when set, scans an in-process fake tenant serving this
	// fixture directory instead of Microsoft 365 (demos and tests), or
	// the fixture built into the binary that BuiltinFixturePrefix names
	// ("builtin:fabrikam").
	Fixture     string       `koanf:"fixture"`
	Notify      TenantNotify `koanf:"notify"`
	Remediation Remediation  `koanf:"remediation"`
	Report      Report       `koanf:"report"`

	// FullScanEvery is how often each section is read in full; scans in
	// between read only what changed since the previous one.
	FullScanEvery Duration `koanf:"full_scan_every"`
	// SitePropertiesEvery is how often every site's sharing properties
	// are read again (no change feed reports them); 0 means every scan.
	SitePropertiesEvery Duration `koanf:"site_properties_every"`
	// SitePropertiesPages bounds the pages of site properties an
	// incremental scan reads: each reads the next this many, so a sharing
	// change on an existing site is seen within ceil(pages/this) scans.
	// 0 means every page. Nil (unset) takes defaults' value, else
	// DefaultSitePropertiesPages; Load always fills it in.
	SitePropertiesPages *int `koanf:"site_properties_pages"`
	// LinkDiscovery is how a full read finds a site's links: "groups"
	// (the site's sharing-link groups, one call per site, permissions read
	// only where a rule needs their detail; a site whose groups cannot be
	// read is read item by item) or "items" (every shared item's
	// permissions). Default DefaultLinkDiscovery.
	LinkDiscovery string `koanf:"link_discovery"`
}

// SitePropertiesWindow is the pages of site properties an incremental
// scan reads (0: every page); DefaultSitePropertiesPages when unset.
func (t *Tenant) SitePropertiesWindow() int {
	if t.SitePropertiesPages == nil {
		return DefaultSitePropertiesPages
	}
	return *t.SitePropertiesPages
}

// Credential methods.
const (
	AuthClientSecret     = "client_secret"
	AuthCertificate      = "certificate"
	AuthWorkloadIdentity = "workload_identity"
	AuthManagedIdentity  = "managed_identity"
)

// Credentials are how the collector authenticates to the tenant.
type Credentials struct {
	Method              string    `koanf:"method"`
	ClientID            string    `koanf:"client_id"`
	ClientSecret        SecretRef `koanf:"client_secret"`
	Certificate         SecretRef `koanf:"certificate"`
	CertificatePassword SecretRef `koanf:"certificate_password"`
	// TokenFile is the federated token for workload identity (defaults to
	// AZURE_FEDERATED_TOKEN_FILE at run time when empty).
	TokenFile string `koanf:"token_file"`
}

// TenantNotify routes a tenant's findings to destinations. Load appends
// these routes to notify.routes, limited to the tenant.
type TenantNotify struct {
	Routes []notifyconf.Route `koanf:"routes"`
}

// Remediation modes, from least to most active.
const (
	ModeOff     = "off"
	ModeNotify  = "notify"
	ModeDryRun  = "dry-run"
	ModeApprove = "approve"
	ModeAuto    = "auto"
)

// RemediationModes lists the remediation modes, from least to most active.
var RemediationModes = []string{ModeOff, ModeNotify, ModeDryRun, ModeApprove, ModeAuto}

// Remediation is the remediation policy for a tenant.
type Remediation struct {
	// Mode applies to every rule not listed in Rules; default dry-run.
	Mode string `koanf:"mode"`
	// Rules overrides Mode per rule ID.
	Rules map[string]string `koanf:"rules"`
	// MaxChanges caps changes per run; over it nothing more is changed.
	MaxChanges int `koanf:"max_changes"`
	// MaxPlans caps the plans recorded after one scan, most severe first.
	MaxPlans int `koanf:"max_plans"`
	// MaxSnapshotAge refuses to act on older scans.
	MaxSnapshotAge Duration `koanf:"max_snapshot_age"`
	// AllowDestructive lists rule IDs whose destructive fixes may run in auto mode.
	AllowDestructive []string  `koanf:"allow_destructive"`
	Exclude          Exclusion `koanf:"exclude"`
	// GracePeriod separates a fix's first step from its deferred,
	// destructive one (block a guest's sign-in, delete it after this long).
	GracePeriod Duration `koanf:"grace_period"`
}

// Exclusion lists objects remediation never touches.
type Exclusion struct {
	Sites   []string `koanf:"sites"`
	Users   []string `koanf:"users"`
	Domains []string `koanf:"domains"`
	Labels  []string `koanf:"labels"`
}

// Report schedules a security review report for a tenant.
type Report struct {
	Schedule     string   `koanf:"schedule"`
	Format       string   `koanf:"format"` // html | markdown | json | csv
	Since        Duration `koanf:"since"`
	Destinations []string `koanf:"destinations"`
}

// ModeFor returns the remediation mode for a rule.
func (r Remediation) ModeFor(ruleID string) string {
	if m, ok := r.Rules[ruleID]; ok {
		return m
	}
	return r.Mode
}

// TenantNames returns the configured tenant names, sorted.
func (c *Config) TenantNames() []string {
	return sortedKeys(c.Tenants)
}

// Default values for fields left unset.
const (
	DefaultListen   = "127.0.0.1:8080"
	DefaultStateDir = "/var/lib/sharedrift"
	// BuiltinFixturePrefix marks a tenant fixture built into the binary.
	BuiltinFixturePrefix = "builtin:"
	DefaultSchedule      = "@every 6h"
	DefaultScanTimeout   = 30 * time.Minute
	DefaultGrace         = 30 * time.Second
	DefaultLeaseTTL      = 60 * time.Second
	// Change notification defaults.
	DefaultChangeDebounce = 10 * time.Second
	DefaultChangeLifetime = 72 * time.Hour
	DefaultChangeInterval = 5 * time.Second
	// DefaultSessionTTL is how long a console session lasts.
	DefaultSessionTTL = 8 * time.Hour
	// DefaultTrustedHeader is the header oauth2-proxy sets to the signed-in email.
	DefaultTrustedHeader = "X-Forwarded-Email"
	DefaultJitter        = 30 * time.Second

	// DefaultFullScanEvery bounds how long an incremental view of a
	// tenant may go without a full read.
	DefaultFullScanEvery = 24 * time.Hour

	// DefaultSitePropertiesPages reads a tenant of up to 6 pages of site
	// properties (3,000 sites at 500 a page) whole each scan, and keeps a
	// larger tenant's unchanged re-scan at 6 CSOM calls besides its drives.
	DefaultSitePropertiesPages = 6
	// DefaultLinkDiscovery finds links through the sites' sharing-link
	// groups (docs/scale.md).
	DefaultLinkDiscovery = "groups"
)

var tenantNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// cronParser accepts standard five-field expressions and descriptors such
// as @daily and @every 10m.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
