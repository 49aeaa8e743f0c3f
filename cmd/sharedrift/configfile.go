package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/internal/readcap"
	"github.com/sharedrift/sharedrift/scanner/m365"
)

// oldConnectionKeys are the keys of the short connection file earlier
// versions read besides the daemon's configuration, with what replaces
// them. sharedrift now reads one format, the daemon's
// (docs/configuration.md); a file with these keys gets an error that says
// how to write it.
var oldConnectionKeys = map[string]string{
	"tenantId":         "tenant_id",
	"sharepointTenant": "domain",
	"clientId":         "credentials.client_id",
	"auth":             "credentials (method: client_secret | certificate | workload_identity | managed_identity)",
}

// oldAuthKeys translate the old auth block's keys.
var oldAuthKeys = map[string]string{
	"method":                  "credentials.method (secret → client_secret, certificate, workload → workload_identity, managed → managed_identity)",
	"secretEnv":               "credentials.client_secret: env:VAR",
	"secretFile":              "credentials.client_secret: file:PATH",
	"certificateFile":         "credentials.certificate: file:PATH",
	"certificatePasswordEnv":  "credentials.certificate_password: env:VAR",
	"tokenFile":               "credentials.token_file",
	"managedIdentityClientId": "credentials.client_id",
}

// checkOldConnectionFile refuses a configuration written with the old
// short connection keys, naming each key and its replacement.
func checkOldConnectionFile(path string) error {
	raw, err := readcap.ReadFile(path, readcap.Config)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	var doc struct {
		Tenants map[string]map[string]any `yaml:"tenants"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil // config.Load reports the YAML error with its position
	}
	var found []string
	for name, fields := range doc.Tenants {
		for k, v := range fields {
			if repl, ok := oldConnectionKeys[k]; ok {
				found = append(found, fmt.Sprintf("tenants.%s.%s → %s", name, k, repl))
			}
			if k == "auth" {
				auth, _ := v.(map[string]any)
				for ak := range auth {
					if repl, ok := oldAuthKeys[ak]; ok {
						found = append(found, fmt.Sprintf("tenants.%s.auth.%s → %s", name, ak, repl))
					}
				}
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	sort.Strings(found)
	return fmt.Errorf("%s: written in the old short connection format, which sharedrift no longer reads; use the configuration format (docs/configuration.md), also for a single tenant, and add its baseline:\n  %s",
		path, strings.Join(found, "\n  "))
}

// tenantConnection reads how to reach tenant name from the configuration
// file, loaded and checked as the daemon would (SHAREDRIFT_... variables
// included); a tenant with a fixture is returned with fixture set and no
// connection. name may also be the tenant's initial domain.
func tenantConnection(path, name string) (tc m365.TenantConfig, fixture string, err error) {
	if err := checkConfigExists(path); err != nil {
		return tc, "", err
	}
	if err := checkOldConnectionFile(path); err != nil {
		return tc, "", err
	}
	cfg, err := config.Load(config.Options{File: path, Env: os.Environ()})
	if err != nil {
		return tc, "", err
	}
	t, ok := cfg.Tenants[name]
	if !ok {
		for key, ct := range cfg.Tenants {
			if ct.Domain != "" && (strings.EqualFold(name, ct.Domain) || strings.EqualFold(name, ct.Domain+".onmicrosoft.com")) {
				t, ok, name = ct, true, key
				break
			}
		}
	}
	if !ok {
		names := cfg.TenantNames()
		sort.Strings(names)
		if len(names) == 0 {
			return tc, "", fmt.Errorf("%s: tenants: no tenant configured", path)
		}
		return tc, "", fmt.Errorf("%s: tenant %q is not configured, expected one of %v", path, name, names)
	}
	if t.Fixture != "" {
		return tc, t.Fixture, nil
	}
	tc = app.LiveConfig(t)
	if tc.TenantID == "" {
		return tc, "", errors.New(path + ": tenants." + name + ".tenant_id: required")
	}
	return tc, "", nil
}

// checkConfigExists says, for a --config file that does not exist, which
// one was asked for and which configuration files exist where people keep
// them (its directory, the working directory, the usual system and user
// places), so a typo is one look away.
func checkConfigExists(path string) error {
	if path == "" {
		return nil
	}
	_, err := os.Stat(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // other errors surface when the file is read
	}
	dirs := []string{filepath.Dir(path), ".", "/etc/sharedrift"}
	if d, err := os.UserConfigDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "sharedrift"))
	}
	var found []string
	seen := map[string]bool{}
	for _, d := range dirs {
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(d, pat))
			for _, f := range m {
				if abs, err := filepath.Abs(f); err == nil && !seen[abs] && looksLikeConfig(f) {
					seen[abs] = true
					found = append(found, f)
				}
			}
		}
	}
	if len(found) == 0 {
		return fmt.Errorf("--config %s: no such file, and no sharedrift configuration in %s (see docs/configuration.md)", path, strings.Join(dirs, ", "))
	}
	return fmt.Errorf("--config %s: no such file; configuration files that exist: %s", path, strings.Join(found, ", "))
}

// looksLikeConfig reports whether a YAML file has a top-level tenants key,
// the one key every sharedrift configuration has.
func looksLikeConfig(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "tenants:") {
			return true
		}
	}
	return false
}
