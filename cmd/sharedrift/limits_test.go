package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hugeFile is a 2 GiB sparse file: large to read, free to make.
func hugeFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 2<<30); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyFixture copies the contoso fixture tenant so a test can spoil it.
func copyFixture(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "..", "testdata", "tenants", "contoso")
	dst := filepath.Join(t.TempDir(), "contoso")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestHugeInputsRefused: every file the CLI reads — baseline, extends:
// target, config, snapshot, fixture body — when it is /dev/zero or a 2 GiB
// file, exits 1 quickly with one error line naming the file (and the cap
// where the cap is what refused it), instead of running out of memory.
func TestHugeInputsRefused(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")
	out := t.TempDir()

	type tc struct {
		name string
		args []string
		want []string
	}
	var tests []tc
	for _, huge := range []string{"/dev/zero", hugeFile(t, "huge")} {
		child := writeFile(t, "child.yaml", "extends: "+huge+"\n")
		tests = append(tests,
			tc{"baseline " + huge, []string{"scan", "--snapshot", contoso, "--baseline", huge}, []string{"load baseline", huge, "4 MiB"}},
			tc{"baseline validate " + huge, []string{"baseline", "validate", huge}, []string{huge, "4 MiB"}},
			tc{"extends " + huge, []string{"scan", "--snapshot", contoso, "--baseline", child}, []string{child, "extends", huge, "4 MiB"}},
			tc{"config " + huge, []string{"scan", "--config", huge, "--tenant", "a"}, []string{"read config", huge, "4 MiB"}},
			tc{"daemon config " + huge, []string{"daemon", "--config", huge}, []string{"read config", huge, "4 MiB"}},
			tc{"snapshot " + huge, []string{"scan", "--snapshot", huge}, []string{huge}},
			tc{"previous snapshot " + huge, []string{"report", "--snapshot", contoso, "--previous", huge, "-o", filepath.Join(out, "r.html")}, []string{huge}},
		)
	}
	bigBody := copyFixture(t)
	body := filepath.Join(bigBody, "graph", "v1.0", "groups.json")
	if err := os.Truncate(body, 2<<30); err != nil {
		t.Fatal(err)
	}
	zeroBody := copyFixture(t)
	zero := filepath.Join(zeroBody, "graph", "v1.0", "groups.json")
	if err := os.Remove(zero); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	tests = append(tests,
		tc{"fixture body 2 GiB", []string{"scan", "--fixture", bigBody}, []string{"fixture", body, "256 MiB"}},
		tc{"fixture body /dev/zero", []string{"scan", "--fixture", zeroBody}, []string{"fixture", zero}},
	)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			stdout, stderr, code := cli(t, tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitError, stderr)
			}
			if stdout != "" {
				t.Errorf("printed on stdout:\n%.500s", stdout)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "sharedrift ") {
				t.Errorf("want one error line starting with the command path, got:\n%.2000s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error does not mention %q:\n%.2000s", w, stderr)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			for _, dir := range []string{state, out} {
				if entries, _ := os.ReadDir(dir); len(entries) > 0 {
					t.Errorf("wrote %s/%s", dir, entries[0].Name())
				}
			}
		})
	}
}
