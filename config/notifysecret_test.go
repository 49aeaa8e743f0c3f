package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNotifySecretFileRelativeToConfig: a relative file: path of a
// notification secret is read next to the configuration file, whatever
// the working directory, as every other path in it.
func TestNotifySecretFileRelativeToConfig(t *testing.T) {
	p := writeConfig(t, minimal+`
notify:
  destinations:
    - name: soc
      type: webhook
      webhook:
        url: https://soc.example.org/hooks/sharedrift
        secret: file:secrets/webhook.key
`)
	dir := filepath.Dir(p)
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "webhook.key"), []byte("0123456789abcdef-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // anywhere but next to the file
	cfg, err := Load(Options{File: p})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := cfg.Notify.Lookup("soc")
	if !ok {
		t.Fatal("destination soc not loaded")
	}
	got, err := d.Webhook.Secret.Resolve()
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if got != "0123456789abcdef-s3cret" {
		t.Fatalf("secret = %q, want the file's content", got)
	}
}
