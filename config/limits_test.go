package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/internal/readcap"
)

// TestHugeFilesRefused: a configuration or secret file that is a device or
// far too large is refused at its cap with an error naming it, quickly.
func TestHugeFilesRefused(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "huge")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 2<<30); err != nil {
		t.Fatal(err)
	}
	bigSecret := filepath.Join(dir, "secret")
	if err := os.WriteFile(bigSecret, []byte(strings.Repeat("s", readcap.Secret+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, huge := range []string{"/dev/zero", sparse} {
		start := time.Now()
		_, err := Load(Options{File: huge})
		if !errors.Is(err, readcap.ErrTooLarge) || !strings.Contains(err.Error(), huge) || !strings.Contains(err.Error(), "4 MiB") {
			t.Errorf("config %s: %v; want the 4 MiB size limit naming the file", huge, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("config %s took %v", huge, d)
		}
	}
	for _, huge := range []string{"/dev/zero", sparse, bigSecret} {
		file := writeConfig(t, "store:\n  dsn: {file: "+huge+"}\n"+minimal)
		_, err := Load(Options{File: file})
		if err == nil || !strings.Contains(err.Error(), "store.dsn") || !strings.Contains(err.Error(), huge) || !strings.Contains(err.Error(), "64 KiB") {
			t.Errorf("secret %s: %v; want store.dsn and the 64 KiB size limit naming the file", huge, err)
		}
	}
}

// TestCertificateCap: a certificate file is a secret with a larger cap, so
// a PFX with its chain loads while a file past 1 MiB is refused.
func TestCertificateCap(t *testing.T) {
	dir := t.TempDir()
	cert := func(size int) string {
		p := filepath.Join(dir, "cert.pfx")
		if err := os.WriteFile(p, []byte(strings.Repeat("c", size)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	doc := func(path string) string {
		return `
tenants:
  acme:
    tenant_id: 9c5f3a2e-1b4d-4c6e-8f7a-0d2b3c4e5f60
    domain: acme
    baseline: recommended
    credentials:
      method: certificate
      client_id: 6d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6
      certificate: file:` + path + "\n"
	}
	if _, err := Load(Options{File: writeConfig(t, doc(cert(readcap.Secret+1)))}); err != nil {
		t.Fatalf("a certificate larger than a secret's cap: %v", err)
	}
	_, err := Load(Options{File: writeConfig(t, doc(cert(readcap.Certificate+1)))})
	if err == nil || !strings.Contains(err.Error(), "tenants.acme.credentials.certificate") || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("a certificate past 1 MiB: %v", err)
	}
}
