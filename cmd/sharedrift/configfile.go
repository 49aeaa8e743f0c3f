package main

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/internal/readcap"
	"github.com/sharedrift/sharedrift/scanner/m365"
)

// daemonTenantKeys are tenant keys only the daemon configuration has; the
// short connection file spells its keys in camelCase (tenantId, auth).
var daemonTenantKeys = []string{"tenant_id", "domain", "credentials", "fixture", "baseline", "schedule", "notify", "remediation", "report"}

// isDaemonConfig tells the daemon configuration (docs/configuration.md)
// from the short connection file (docs/azure-setup.md): the daemon's has
// sections besides tenants, or tenants with its snake_case keys.
func isDaemonConfig(path string) (bool, error) {
	raw, err := readcap.ReadFile(path, readcap.Config)
	if err != nil {
		return false, fmt.Errorf("read config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return false, fmt.Errorf("%s: invalid YAML: %w", path, err)
	}
	for k, v := range doc {
		if k != "tenants" {
			return true, nil
		}
		tenants, _ := v.(map[string]any)
		for _, t := range tenants {
			fields, _ := t.(map[string]any)
			for _, dk := range daemonTenantKeys {
				if _, ok := fields[dk]; ok {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// tenantConnection reads how to reach tenant name from a configuration file
// in either form. For the daemon's form the whole file is loaded and
// checked as the daemon would (SHAREDRIFT_... variables included); a
// tenant with a fixture is returned with fixture set and no connection.
func tenantConnection(path, name string) (tc m365.TenantConfig, fixture string, err error) {
	daemonForm, err := isDaemonConfig(path)
	if err != nil {
		return tc, "", err
	}
	if !daemonForm {
		cf, err := m365.LoadConfig(path)
		if err != nil {
			return tc, "", err
		}
		tc, err = cf.Tenant(name)
		if err != nil {
			return tc, "", fmt.Errorf("%s: %w", path, err)
		}
		return tc, "", nil
	}
	cfg, err := config.Load(config.Options{File: path, Env: os.Environ()})
	if err != nil {
		return tc, "", err
	}
	t, ok := cfg.Tenants[name]
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
