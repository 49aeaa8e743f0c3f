package m365

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"gopkg.in/yaml.v3"

	"github.com/sharedrift/sharedrift/internal/readcap"
)

// ConfigFile is the small tenant configuration the live collector reads:
//
//	tenants:
//	  contoso:
//	    tenantId: 9c5f...            # directory (tenant) ID
//	    sharepointTenant: contoso    # contoso-admin.sharepoint.com
//	    cloud: global                # global | usgov | dod | china
//	    clientId: 6d1e...
//	    auth:
//	      method: certificate        # certificate | secret | workload | managed
//	      certificateFile: /etc/sharedrift/contoso.pem
//
// Secrets are never written in the file itself, only referenced by
// environment variable or file path.
type ConfigFile struct {
	Tenants map[string]TenantConfig `yaml:"tenants"`
}

// TenantConfig describes how to reach one tenant.
type TenantConfig struct {
	TenantID         string     `yaml:"tenantId"`
	SharePointTenant string     `yaml:"sharepointTenant"`
	Cloud            string     `yaml:"cloud"`
	ClientID         string     `yaml:"clientId"`
	Auth             AuthConfig `yaml:"auth"`
}

// AuthConfig selects a credential. Exactly the fields of the chosen method
// may be set.
type AuthConfig struct {
	Method string `yaml:"method"`
	// secret
	SecretEnv  string `yaml:"secretEnv"`
	SecretFile string `yaml:"secretFile"`
	// certificate: PEM (key and certificate) or PFX/PKCS#12
	CertificateFile        string `yaml:"certificateFile"`
	CertificatePasswordEnv string `yaml:"certificatePasswordEnv"`
	// workload identity federation; defaults to AZURE_FEDERATED_TOKEN_FILE
	TokenFile string `yaml:"tokenFile"`
	// managed identity; empty means system-assigned
	ManagedIdentityClientID string `yaml:"managedIdentityClientId"`
}

// Auth methods.
const (
	AuthSecret      = "secret"
	AuthCertificate = "certificate"
	AuthWorkload    = "workload"
	AuthManaged     = "managed"
)

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	spNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*$`)
)

// LoadConfig reads and validates a configuration file strictly: unknown keys
// and invalid values are errors naming the file, key and value.
func LoadConfig(path string) (*ConfigFile, error) {
	data, err := readcap.ReadFile(path, readcap.Config)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cf ConfigFile
	if err := dec.Decode(&cf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cf.Tenants) == 0 {
		return nil, fmt.Errorf("%s: tenants: no tenant configured", path)
	}
	names := make([]string, 0, len(cf.Tenants))
	for n := range cf.Tenants {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := cf.Tenants[n].validate("tenants." + n); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return &cf, nil
}

// Tenant returns the named tenant's configuration.
func (cf *ConfigFile) Tenant(name string) (TenantConfig, error) {
	t, ok := cf.Tenants[name]
	if !ok {
		names := make([]string, 0, len(cf.Tenants))
		for n := range cf.Tenants {
			names = append(names, n)
		}
		sort.Strings(names)
		return TenantConfig{}, fmt.Errorf("tenant %q is not configured, expected one of %v", name, names)
	}
	return t, nil
}

func (t TenantConfig) validate(key string) error {
	if !guidRE.MatchString(t.TenantID) {
		return fmt.Errorf("%s.tenantId: %q, expected a GUID", key, t.TenantID)
	}
	if !spNameRE.MatchString(t.SharePointTenant) {
		return fmt.Errorf("%s.sharepointTenant: %q, expected the name before -admin.sharepoint.com", key, t.SharePointTenant)
	}
	if _, err := LookupCloud(t.Cloud); err != nil {
		return fmt.Errorf("%s.cloud: %w", key, err)
	}
	a := t.Auth
	if a.Method != AuthManaged && !guidRE.MatchString(t.ClientID) {
		return fmt.Errorf("%s.clientId: %q, expected the application (client) ID GUID", key, t.ClientID)
	}
	set := map[string]bool{
		"secretEnv": a.SecretEnv != "", "secretFile": a.SecretFile != "",
		"certificateFile": a.CertificateFile != "", "certificatePasswordEnv": a.CertificatePasswordEnv != "",
		"tokenFile": a.TokenFile != "", "managedIdentityClientId": a.ManagedIdentityClientID != "",
	}
	allowed := map[string][]string{
		AuthSecret:      {"secretEnv", "secretFile"},
		AuthCertificate: {"certificateFile", "certificatePasswordEnv"},
		AuthWorkload:    {"tokenFile"},
		AuthManaged:     {"managedIdentityClientId"},
	}
	ok, known := allowed[a.Method]
	if !known {
		return fmt.Errorf("%s.auth.method: %q, expected certificate, secret, workload or managed", key, a.Method)
	}
	for f, isSet := range set {
		if isSet && !contains(ok, f) {
			return fmt.Errorf("%s.auth.%s: not used by method %q", key, f, a.Method)
		}
	}
	switch a.Method {
	case AuthSecret:
		if (a.SecretEnv == "") == (a.SecretFile == "") {
			return fmt.Errorf("%s.auth: method secret needs exactly one of secretEnv or secretFile", key)
		}
	case AuthCertificate:
		if a.CertificateFile == "" {
			return fmt.Errorf("%s.auth.certificateFile: missing, expected a PEM or PFX file path", key)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Warnings lists what the configuration at key allows but cannot work:
// a client secret gets tokens SharePoint refuses, so the sections read
// through SharePoint (sharepoint, sites) are recorded as failed on every
// scan, never as read.
func (t TenantConfig) Warnings(key string) []string {
	if t.Auth.Method != AuthSecret {
		return nil
	}
	return []string{key + ": a client secret cannot read the sharepoint and sites sections (every scan records them as failed): " + SecretTokenFix}
}

// Endpoints returns the tenant's service endpoints.
func (t TenantConfig) Endpoints() (Endpoints, error) {
	c, err := LookupCloud(t.Cloud)
	if err != nil {
		return Endpoints{}, err
	}
	return c.Endpoints(t.SharePointTenant), nil
}

// Credential builds the azidentity credential the configuration names.
func (t TenantConfig) Credential() (azcore.TokenCredential, error) {
	c, err := LookupCloud(t.Cloud)
	if err != nil {
		return nil, err
	}
	co := azcore.ClientOptions{Cloud: c.AzCore()}
	a := t.Auth
	switch a.Method {
	case AuthSecret:
		secret, err := readSecret(a.SecretEnv, a.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("client secret: %w", err)
		}
		return azidentity.NewClientSecretCredential(t.TenantID, t.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co})
	case AuthCertificate:
		data, err := readcap.ReadFile(a.CertificateFile, readcap.Certificate)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		var pw []byte
		if a.CertificatePasswordEnv != "" {
			v, ok := os.LookupEnv(a.CertificatePasswordEnv)
			if !ok {
				return nil, fmt.Errorf("certificate password: environment variable %s is not set", a.CertificatePasswordEnv)
			}
			pw = []byte(v)
		}
		certs, key, err := azidentity.ParseCertificates(data, pw)
		if err != nil {
			// The parser's message never contains key material.
			return nil, fmt.Errorf("certificate %s: %w", a.CertificateFile, err)
		}
		return azidentity.NewClientCertificateCredential(t.TenantID, t.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, SendCertificateChain: true})
	case AuthWorkload:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: co, TenantID: t.TenantID, ClientID: t.ClientID, TokenFilePath: a.TokenFile,
		})
	case AuthManaged:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if a.ManagedIdentityClientID != "" {
			o.ID = azidentity.ClientID(a.ManagedIdentityClientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	}
	return nil, fmt.Errorf("auth method %q is not supported", a.Method)
}

func readSecret(env, file string) (string, error) {
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	}
	data, err := readcap.ReadFile(file, readcap.Secret)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", errors.New(file + " is empty")
	}
	return v, nil
}
