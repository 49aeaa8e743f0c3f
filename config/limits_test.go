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
