package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

// TestScanProgress: --progress always writes progress lines to stderr
// when it is not a terminal; auto (the default) and never write none; a
// bad value is refused.
func TestScanProgress(t *testing.T) {
	_, stderr, code := cli(t, "scan", "--fixture", fabrikamFixture, "--progress", "always", "--format", "json")
	if code != exitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var last string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "collecting ") {
			last = l
		}
	}
	all := fmt.Sprintf("%d/%d sections", len(tenant.AllSections), len(tenant.AllSections))
	for _, want := range []string{"collecting fabrikam", all, "requests", " RU", "RU/min", "elapsed", "done"} {
		if !strings.Contains(last, want) {
			t.Errorf("last progress line %q lacks %q\nstderr:\n%s", last, want, stderr)
		}
	}
	if strings.Contains(stderr, "\r") {
		t.Error("carriage returns in progress written to a non-terminal")
	}
	for _, mode := range []string{"auto", "never"} {
		_, stderr, _ := cli(t, "scan", "--fixture", fabrikamFixture, "--progress", mode, "--format", "json")
		if strings.Contains(stderr, "collecting ") {
			t.Errorf("--progress %s on a non-terminal wrote progress:\n%s", mode, stderr)
		}
	}
	if _, stderr, code := cli(t, "scan", "--fixture", fabrikamFixture, "--progress", "sometimes"); code != exitError || !strings.Contains(stderr, "--progress") {
		t.Errorf("bad --progress: exit %d %s", code, stderr)
	}
	if _, stderr, code := cli(t, "bench", "--progress", "sometimes"); code != exitError || !strings.Contains(stderr, "--progress") {
		t.Errorf("bench with a bad --progress: exit %d %s", code, stderr)
	}
}
