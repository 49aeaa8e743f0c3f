package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/config/notifyconf"
	"github.com/sharedrift/sharedrift/internal/readcap"
)

var (
	clouds        = []string{"global", "usgov", "usgovhigh", "dod", "china"}
	reportFormats = []string{"html", "markdown", "json", "csv"}
	authMethods   = []string{AuthClientSecret, AuthCertificate, AuthWorkloadIdentity, AuthManagedIdentity}
)

func oneOf(v string, allowed []string) string {
	return fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

// validate checks the merged configuration, fills tenant names and
// defaults, and resolves every secret reference.
// linkDiscoveries are the values of link_discovery.
var linkDiscoveries = []string{"groups", "items"}

func validate(ps *problems, src string, c *Config, own map[string]Remediation, getenv func(string) (string, bool), readFile func(path string, limit int64) ([]byte, error), baseDir string, requireTenants bool) {
	// secret resolves ref; a file it names is read up to limit bytes.
	secret := func(key string, ref *SecretRef, required bool, limit int64) {
		ref.File = relTo(baseDir, ref.File)
		if !ref.IsSet() {
			if required {
				ps.add(src, key, "missing secret: set {env: VAR} or {file: PATH}")
			}
			return
		}
		if err := ref.resolve(getenv, func(p string) ([]byte, error) { return readFile(p, limit) }); err != nil {
			ps.add(src, key, "missing secret: "+err.Error())
		}
	}

	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add(src, "log.level", oneOf(c.Log.Level, []string{"debug", "info", "warn", "error"}))
	}
	if !slices.Contains([]string{"json", "text"}, c.Log.Format) {
		ps.add(src, "log.format", oneOf(c.Log.Format, []string{"json", "text"}))
	}

	secret("store.dsn", &c.Store.DSN, false, readcap.Secret)
	if !c.Store.DSN.IsSet() && c.Store.StateDir == "" {
		ps.add(src, "store.state_dir", "required when store.dsn is not set")
	}

	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			ps.add(src, "http.listen", fmt.Sprintf("want host:port, got %q", c.HTTP.Listen))
		}
	}
	names := map[string]bool{}
	values := map[Secret]string{}
	for i := range c.HTTP.Tokens {
		tok := &c.HTTP.Tokens[i]
		key := fmt.Sprintf("http.tokens[%d]", i)
		if tok.Name == "" {
			ps.add(src, key+".name", "required")
		} else if names[tok.Name] {
			ps.add(src, key+".name", fmt.Sprintf("duplicate token name %q", tok.Name))
		}
		names[tok.Name] = true
		if tok.Scope != ScopeRead && tok.Scope != ScopeAdmin {
			ps.add(src, key+".scope", oneOf(string(tok.Scope), []string{"read", "admin"}))
		}
		secret(key+".secret", &tok.Secret, true, readcap.Secret)
		if v := tok.Secret.Value(); v != "" {
			if other, dup := values[v]; dup {
				// Same value under two names would make the scope ambiguous.
				ps.add(src, key+".secret", fmt.Sprintf("same token value as %q", other))
			}
			values[v] = tok.Name
		}
	}

	validateConsole(ps, src, &c.HTTP.Console)

	s := &c.Scheduler
	if s.ScanTimeout <= 0 {
		ps.add(src, "scheduler.scan_timeout", "must be positive")
	}
	if s.LeaseTTL.D() < 2e9 {
		ps.add(src, "scheduler.lease_ttl", "must be at least 2s")
	}
	if s.MaxConcurrent < 1 {
		ps.add(src, "scheduler.max_concurrent", "must be at least 1")
	}

	if c.Defaults.Schedule != "" {
		if _, err := ParseSchedule(c.Defaults.Schedule); err != nil {
			ps.add(src, "defaults.schedule", err.Error())
		}
	}
	validateRemediation(ps, src, "defaults.remediation", &c.Defaults.Remediation)
	if c.Defaults.FullScanEvery < 0 {
		ps.add(src, "defaults.full_scan_every", "must not be negative")
	}
	if c.Defaults.SitePropertiesEvery < 0 {
		ps.add(src, "defaults.site_properties_every", "must not be negative")
	}
	if p := c.Defaults.SitePropertiesPages; p != nil && *p < 0 {
		ps.add(src, "defaults.site_properties_pages", "must not be negative (0 reads every page)")
	}
	if d := c.Defaults.LinkDiscovery; d != "" && !slices.Contains(linkDiscoveries, d) {
		ps.add(src, "defaults.link_discovery", oneOf(d, linkDiscoveries))
	}

	validateNotify(ps, src, c)
	validateChanges(ps, src, c)

	if requireTenants && len(c.Tenants) == 0 {
		ps.add(src, "tenants", "no tenants configured")
	}
	for _, name := range sortedKeys(c.Tenants) {
		t := c.Tenants[name]
		validateTenant(ps, src, c, &t, own[name], secret)
		c.Tenants[name] = t
	}
}

// applyDefaults fills in what the configuration leaves out, before
// validate checks it: each tenant's name, its schedule, baseline, scan
// periods, cloud, report format and remediation policy from `defaults`
// (and the built-in defaults), and paths relative to the configuration
// file's directory. It returns each tenant's own remediation settings, as
// written, for validation to name the tenant's keys.
func applyDefaults(c *Config, baseDir string) map[string]Remediation {
	own := make(map[string]Remediation, len(c.Tenants))
	// Notification secrets are resolved when they are used, so a relative
	// file: path is made absolute here, against the configuration file,
	// like every other path in it.
	absNotifySecrets(reflect.ValueOf(&c.Notify).Elem(), baseDir)
	for _, name := range sortedKeys(c.Tenants) {
		t := c.Tenants[name]
		t.Name = name
		if !strings.HasPrefix(t.Fixture, BuiltinFixturePrefix) {
			t.Fixture = relTo(baseDir, t.Fixture)
		}
		if t.Schedule == "" {
			t.Schedule = c.Defaults.Schedule
		}
		if t.Baseline == "" {
			t.Baseline = c.Defaults.Baseline
		}
		if strings.ContainsRune(t.Baseline, '/') || strings.HasSuffix(t.Baseline, ".yaml") || strings.HasSuffix(t.Baseline, ".yml") {
			t.Baseline = relTo(baseDir, t.Baseline)
		}
		if t.FullScanEvery == 0 {
			t.FullScanEvery = c.Defaults.FullScanEvery
		}
		if t.FullScanEvery == 0 {
			t.FullScanEvery = Duration(DefaultFullScanEvery)
		}
		if t.SitePropertiesEvery == 0 {
			t.SitePropertiesEvery = c.Defaults.SitePropertiesEvery
		}
		// Unset is nil, so that an explicit 0 (every page) is kept.
		if t.SitePropertiesPages == nil {
			n := DefaultSitePropertiesPages
			if d := c.Defaults.SitePropertiesPages; d != nil && *d >= 0 {
				n = *d
			}
			t.SitePropertiesPages = &n
		}
		if t.LinkDiscovery == "" {
			t.LinkDiscovery = c.Defaults.LinkDiscovery
		}
		if t.LinkDiscovery == "" {
			t.LinkDiscovery = DefaultLinkDiscovery
		}
		if t.Cloud == "" {
			t.Cloud = "global"
		}
		if t.Report.Schedule != "" && t.Report.Format == "" {
			t.Report.Format = "html"
		}
		own[name] = t.Remediation
		t.Remediation = mergeRemediation(c.Defaults.Remediation, t.Remediation)
		c.Tenants[name] = t
		// A tenant's own routes join the notification routes, limited to
		// it (one that names tenants itself is refused by validate).
		for _, r := range t.Notify.Routes {
			if len(r.Tenants) == 0 {
				r.Tenants = []string{name}
				c.Notify.Routes = append(c.Notify.Routes, r)
			}
		}
	}
	return own
}

// mergeRemediation is a tenant's remediation policy: the defaults, with
// what the tenant sets on top.
func mergeRemediation(def, t Remediation) Remediation {
	rem := def
	if t.Mode != "" {
		rem.Mode = t.Mode
	}
	if len(t.Rules) > 0 {
		merged := map[string]string{}
		for k, v := range def.Rules {
			merged[k] = v
		}
		for k, v := range t.Rules {
			merged[k] = v
		}
		rem.Rules = merged
	}
	if t.MaxChanges != 0 {
		rem.MaxChanges = t.MaxChanges
	}
	if t.MaxPlans != 0 {
		rem.MaxPlans = t.MaxPlans
	}
	if t.MaxSnapshotAge != 0 {
		rem.MaxSnapshotAge = t.MaxSnapshotAge
	}
	if t.GracePeriod != 0 {
		rem.GracePeriod = t.GracePeriod
	}
	if len(t.AllowDestructive) > 0 {
		rem.AllowDestructive = t.AllowDestructive
	}
	ex := t.Exclude
	if len(ex.Sites)+len(ex.Users)+len(ex.Domains)+len(ex.Labels) > 0 {
		rem.Exclude = ex
	}
	return rem
}

// validateNotify checks the tenants' own routes and runs the notification
// config's validation, which names the destination and key.
func validateNotify(ps *problems, src string, c *Config) {
	for _, name := range sortedKeys(c.Tenants) {
		for i, r := range c.Tenants[name].Notify.Routes {
			if len(r.Tenants) > 0 {
				ps.add(src, fmt.Sprintf("tenants.%s.notify.routes[%d].tenants", name, i), "not allowed in a tenant's own route")
			}
		}
	}
	if err := c.Notify.Validate(); err != nil {
		var list []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			list = j.Unwrap()
		} else {
			list = []error{err}
		}
		for _, e := range list {
			ps.add(src, "notify", e.Error())
		}
	}
}

func validateRemediation(ps *problems, src, key string, r *Remediation) {
	if r.Mode != "" && !slices.Contains(RemediationModes, r.Mode) {
		ps.add(src, key+".mode", oneOf(r.Mode, RemediationModes))
	}
	for _, id := range sortedKeys(r.Rules) {
		if !slices.Contains(RemediationModes, r.Rules[id]) {
			ps.add(src, key+".rules."+id, oneOf(r.Rules[id], RemediationModes))
		}
	}
	if r.MaxChanges < 0 {
		ps.add(src, key+".max_changes", "must not be negative")
	}
	if r.MaxPlans < 0 {
		ps.add(src, key+".max_plans", "must not be negative")
	}
	if r.GracePeriod < 0 {
		ps.add(src, key+".grace_period", "must not be negative")
	}
}

func validateTenant(ps *problems, src string, c *Config, t *Tenant, ownRemediation Remediation, secret func(string, *SecretRef, bool, int64)) {
	key := "tenants." + t.Name
	if t.Schedule == "" {
		ps.add(src, key+".schedule", "missing (and defaults.schedule is empty)")
	} else if _, err := ParseSchedule(t.Schedule); err != nil {
		ps.add(src, key+".schedule", err.Error())
	}
	if t.Baseline == "" {
		ps.add(src, key+".baseline", "missing: every tenant needs a baseline (a pack name such as recommended, or a file path)")
	}
	if t.FullScanEvery < 0 {
		ps.add(src, key+".full_scan_every", "must not be negative")
	}
	if t.SitePropertiesEvery < 0 {
		ps.add(src, key+".site_properties_every", "must not be negative")
	}
	// Unset is nil, so that an explicit 0 (every page) is kept.
	if p := t.SitePropertiesPages; p != nil && *p < 0 {
		ps.add(src, key+".site_properties_pages", "must not be negative (0 reads every page)")
	}
	if !slices.Contains(linkDiscoveries, t.LinkDiscovery) {
		ps.add(src, key+".link_discovery", oneOf(t.LinkDiscovery, linkDiscoveries))
	}
	if !slices.Contains(clouds, t.Cloud) {
		ps.add(src, key+".cloud", oneOf(t.Cloud, clouds))
	}

	cr := &t.Credentials
	if t.Fixture == "" {
		if t.TenantID == "" {
			ps.add(src, key+".tenant_id", "required (the Entra directory ID)")
		} else if !guidRE.MatchString(t.TenantID) {
			ps.add(src, key+".tenant_id", fmt.Sprintf("%q, expected a GUID (the Entra directory ID, not a domain)", t.TenantID))
		}
		if t.Domain == "" {
			ps.add(src, key+".domain", "required (the initial domain prefix, as in NAME.onmicrosoft.com)")
		}
		if cr.Method == "" {
			ps.add(src, key+".credentials.method", "required: "+strings.Join(authMethods, ", "))
		}
	}
	switch cr.Method {
	case "":
	case AuthClientSecret:
		requireID(ps, src, key, cr)
		secret(key+".credentials.client_secret", &cr.ClientSecret, true, readcap.Secret)
	case AuthCertificate:
		requireID(ps, src, key, cr)
		secret(key+".credentials.certificate", &cr.Certificate, true, readcap.Certificate)
		secret(key+".credentials.certificate_password", &cr.CertificatePassword, false, readcap.Secret)
	case AuthWorkloadIdentity:
		requireID(ps, src, key, cr)
	case AuthManagedIdentity:
	default:
		ps.add(src, key+".credentials.method", oneOf(cr.Method, authMethods))
	}
	if cr.Method != AuthClientSecret && cr.ClientSecret.IsSet() {
		ps.add(src, key+".credentials.client_secret", "only used with method client_secret")
	}

	validateRemediation(ps, src, key+".remediation", &ownRemediation)

	if t.Report.Schedule != "" {
		if _, err := ParseSchedule(t.Report.Schedule); err != nil {
			ps.add(src, key+".report.schedule", err.Error())
		}
		if len(t.Report.Destinations) == 0 {
			ps.add(src, key+".report.destinations", "a scheduled report needs at least one destination")
		}
	}
	if t.Report.Format != "" && !slices.Contains(reportFormats, t.Report.Format) {
		ps.add(src, key+".report.format", oneOf(t.Report.Format, reportFormats))
	}
	for i, d := range t.Report.Destinations {
		dk := fmt.Sprintf("%s.report.destinations[%d]", key, i)
		dc, ok := c.Notify.Lookup(d)
		switch {
		case !ok:
			ps.add(src, dk, fmt.Sprintf("unknown destination %q", d))
		case dc.Type == notifyconf.TypeSlack && (dc.Slack == nil || dc.Slack.Token == ""):
			ps.add(src, dk, fmt.Sprintf("destination %q: uploading a report needs a Slack bot token (an incoming webhook cannot carry files)", d))
		case dc.Type != notifyconf.TypeSlack && dc.Type != notifyconf.TypeEmail:
			ps.add(src, dk, fmt.Sprintf("destination %q: reports go to slack or email destinations, not %s", d, dc.Type))
		}
	}
	if t.Report.Since < 0 {
		ps.add(src, key+".report.since", "must not be negative")
	}
}

// absNotifySecrets rewrites every notifyconf.Secret under v of the form
// "file:RELATIVE" to be relative to baseDir.
func absNotifySecrets(v reflect.Value, baseDir string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			absNotifySecrets(v.Elem(), baseDir)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				absNotifySecrets(v.Field(i), baseDir)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			absNotifySecrets(v.Index(i), baseDir)
		}
	case reflect.String:
		if v.Type() != notifySecret || !v.CanSet() {
			return
		}
		if p, ok := strings.CutPrefix(v.String(), "file:"); ok && p != "" {
			v.SetString("file:" + relTo(baseDir, p))
		}
	}
}

// guidRE matches a directory or application ID.
var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// relTo resolves a relative path against the config file's directory, so a
// config works from whatever directory the daemon is started in.
func relTo(baseDir, p string) string {
	if p == "" || baseDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

func requireID(ps *problems, src, key string, cr *Credentials) {
	if cr.ClientID != "" && !guidRE.MatchString(cr.ClientID) {
		ps.add(src, key+".credentials.client_id", fmt.Sprintf("%q, expected the application (client) ID GUID", cr.ClientID))
	}
	if cr.ClientID == "" {
		ps.add(src, key+".credentials.client_id", "required for method "+cr.Method)
	}
}

// validateChanges checks change_notifications: Microsoft only calls an
// absolute https URL, and the daemon must serve HTTP to receive.
func validateChanges(ps *problems, src string, c *Config) {
	ch := &c.Changes
	if ch.URL != "" {
		u, err := url.Parse(ch.URL)
		switch {
		case err != nil || u.Host == "" || u.Scheme != "https":
			ps.add(src, "change_notifications.url", fmt.Sprintf("want an absolute https URL Microsoft can reach, got %q", ch.URL))
		case u.RawQuery != "" || u.Fragment != "":
			ps.add(src, "change_notifications.url", fmt.Sprintf("want a base URL without query or fragment, got %q", ch.URL))
		}
		if c.HTTP.Listen == "" {
			ps.add(src, "http.listen", "required when change_notifications.url is set: notifications arrive on the HTTP server")
		}
	}
	if ch.Debounce < 0 || ch.Debounce.D() > 5*time.Minute {
		ps.add(src, "change_notifications.debounce", fmt.Sprintf("want 0 to 5m, got %s", ch.Debounce.D()))
	}
	if ch.Interval.D() < 100*time.Millisecond {
		ps.add(src, "change_notifications.interval", fmt.Sprintf("want at least 100ms, got %s", ch.Interval.D()))
	}
	// Graph's upper bound is checked where its limits are kept (app).
	if ch.Lifetime.D() < time.Hour {
		ps.add(src, "change_notifications.lifetime", fmt.Sprintf("want at least 1h, got %s", ch.Lifetime.D()))
	}
}

func validateConsole(ps *problems, src string, c *Console) {
	if c.SessionTTL.D() < time.Minute || c.SessionTTL.D() > 7*24*time.Hour {
		ps.add(src, "http.console.session_ttl", fmt.Sprintf("want between 1m and 7d, got %s", c.SessionTTL.D()))
	}
	th := &c.TrustedHeader
	if !th.Enabled {
		return
	}
	const key = "http.console.trusted_header"
	if th.Header == "" || strings.EqualFold(th.Header, "Authorization") || strings.EqualFold(th.Header, "Cookie") {
		ps.add(src, key+".header", fmt.Sprintf("want a header set by the proxy such as X-Forwarded-Email, got %q", th.Header))
	}
	if len(th.Proxies) == 0 {
		ps.add(src, key+".proxies", "required when enabled: the CIDRs the proxy connects from (otherwise anyone could send the header)")
	}
	for i, p := range th.Proxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			ps.add(src, fmt.Sprintf("%s.proxies[%d]", key, i), fmt.Sprintf("want a CIDR like 10.0.0.0/8, got %q", p))
		}
	}
	if len(th.Users) == 0 {
		ps.add(src, key+".users", "required when enabled: the allow list of users and their scopes")
	}
	seen := map[string]bool{}
	for i, u := range th.Users {
		k := fmt.Sprintf("%s.users[%d]", key, i)
		n := strings.ToLower(strings.TrimSpace(u.Name))
		switch {
		case n == "":
			ps.add(src, k+".name", "required")
		case seen[n]:
			ps.add(src, k+".name", fmt.Sprintf("duplicate user %q", u.Name))
		}
		seen[n] = true
		if u.Scope != ScopeRead && u.Scope != ScopeAdmin {
			ps.add(src, k+".scope", oneOf(string(u.Scope), []string{"read", "admin"}))
		}
	}
}
