package baselines_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/internal/readcap"
)

// sparseFile is a 2 GiB file that takes no disk space.
func sparseFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 2<<30); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadRefusesHugeFiles: a baseline or an extends: target that is a
// device or a huge file is refused at the size cap, naming the file and the
// cap, without being read whole.
func TestLoadRefusesHugeFiles(t *testing.T) {
	sparse := sparseFile(t)
	for _, huge := range []string{"/dev/zero", sparse} {
		t.Run(huge, func(t *testing.T) {
			start := time.Now()
			_, err := baselines.LoadFile(huge)
			if !errors.Is(err, readcap.ErrTooLarge) || !strings.Contains(err.Error(), huge) || !strings.Contains(err.Error(), "4 MiB") {
				t.Errorf("LoadFile: %v; want the 4 MiB size limit naming %s", err, huge)
			}
			child := filepath.Join(t.TempDir(), "child.yaml")
			if err := os.WriteFile(child, []byte("extends: "+huge+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = baselines.Load(child)
			var be *baselines.Error
			if !errors.As(err, &be) || be.File != child || be.Key != "extends" || be.Value != huge || !errors.Is(err, readcap.ErrTooLarge) {
				t.Errorf("extends: %v; want an error in %s at extends naming %s and the size limit", err, child, huge)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestLoadBounds: documents that would make loading slow or its error
// unreadable are refused or summarised quickly, with located errors.
func TestLoadBounds(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString(`a0: &a0 ["a.example", "b.example", "c.example", "d.example", "e.example", "f.example", "g.example", "h.example", "i.example", "j.example"]` + "\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&bomb, "a%d: &a%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	bomb.WriteString("entra: {invitation_domains: {mode: block_list, must_block: *a6, allowed: *a6}}\n")

	var domains strings.Builder
	for i := range 30000 {
		fmt.Fprintf(&domains, "      - d%d.example\n", i)
	}
	overlap := "entra:\n  invitation_domains:\n    mode: block_list\n    must_block:\n" + domains.String() + "    allowed:\n" + domains.String()

	var exceptions strings.Builder
	exceptions.WriteString("exceptions:\n")
	for range 20000 {
		exceptions.WriteString("  - {id: x}\n")
	}

	tests := []struct {
		name, doc string
		want      []string
		maxLines  int
	}{
		{"alias bomb", bomb.String(), []string{"bomb.yaml", "more than 100000 YAML nodes"}, 1},
		{"alias inside its anchor", "sites: &s {by_url: [*s]}\n", []string{"bomb.yaml", "line 1", "alias *s refers to its own anchor"}, 1},
		{"long overlapping domain lists", overlap, []string{"bomb.yaml", "entra.invitation_domains.allowed", `"d0.example"`, "29950 more problems not listed"}, 51},
		{"many bad exceptions", exceptions.String(), []string{"bomb.yaml", "exceptions[0].accepted", "more problems not listed"}, 51},
		{"huge number", "guests: {stale_after_days: 1" + strings.Repeat("0", 100000) + "}\n", []string{"bomb.yaml", "guests.stale_after_days", "(100001 bytes)"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := baselines.Parse([]byte(tc.doc), filepath.Join(t.TempDir(), "bomb.yaml"))
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%.2000s", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n > tc.maxLines || len(err.Error()) > 20000 {
				t.Errorf("error has %d lines, %d bytes; want at most %d lines", n, len(err.Error()), tc.maxLines)
			}
		})
	}
}

// TestExtendsChainBound: a chain of extends: longer than any real one is
// refused with an error naming where it starts.
func TestExtendsChainBound(t *testing.T) {
	dir := t.TempDir()
	for i := range 40 {
		doc := fmt.Sprintf("extends: b%02d.yaml\n", i+1)
		if i == 39 {
			doc = "extends: recommended\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("b%02d.yaml", i)), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := baselines.Load(filepath.Join(dir, "b00.yaml"))
	if err == nil || !strings.Contains(err.Error(), "more than 32 baselines in the extends: chain from "+filepath.Join(dir, "b00.yaml")) {
		t.Fatalf("Load = %v; want the chain bound", err)
	}
	if _, err := baselines.Load(filepath.Join(dir, "b20.yaml")); err != nil {
		t.Fatalf("a chain of 20: %v", err)
	}
}
