package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary documents to the configuration loader: it must
// never panic, every problem must name its source (the file) and say what
// is wrong, and a configuration it accepts must load the same again.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/full.yaml", "../deploy/config/sharedrift.yaml", "../deploy/config/sharedrift-single.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("colour: blue\n" + minimal))
	f.Add([]byte("scheduler:\n  scan_timeout: 30\n  jitter: NaNd\n" + minimal))
	f.Add([]byte("store:\n  dsn: {env: A, file: b}\n" + minimal))
	f.Add([]byte("tenants:\n  Bad Name: {}\n"))
	f.Add([]byte("a: &a [x, x]\nb: [*a, *a]\n"))
	dir := f.TempDir()
	file := filepath.Join(dir, "sharedrift.yaml")
	// Secrets come from a stub, so a file: reference in the input reads
	// nothing from disk.
	readSecret := func(string) ([]byte, error) { return []byte("fuzz-secret-value"), nil }
	f.Fuzz(func(t *testing.T, doc []byte) {
		if bytes.Contains(doc, []byte("/dev")) || bytes.Contains(doc, []byte("/proc")) {
			return // notification secrets are read from disk; /dev/stdin would wait
		}
		if err := os.WriteFile(file, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(Options{File: file, ReadFile: readSecret})
		if err != nil {
			if cfg != nil {
				t.Fatalf("Load returned a configuration with error %v", err)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				if !strings.Contains(err.Error(), file) {
					t.Fatalf("error does not name the file: %v", err)
				}
				return
			}
			for _, p := range ce.Problems {
				if p.Source != file || p.Msg == "" {
					t.Fatalf("problem without its file or message: %+v", p)
				}
			}
			return
		}
		for name := range cfg.Tenants {
			if !tenantNameRE.MatchString(name) {
				t.Fatalf("accepted tenant name %q", name)
			}
		}
		again, err := Load(Options{File: file, ReadFile: readSecret})
		if err != nil || !reflect.DeepEqual(cfg, again) {
			t.Fatalf("loading the same file again: %v\n%+v\n%+v", err, cfg, again)
		}
	})
}
