package report

import (
	"path/filepath"
	"testing"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/tenant"
)

// fabrikamInput is the offline report input for the fabrikam fixture
// against the review baseline (recommended plus two exceptions), with the
// tenant's state a month earlier as the previous period.
func fabrikamInput(t *testing.T) *Input {
	t.Helper()
	cur, err := tenant.ReadFile(filepath.Join("..", "testdata", "snapshots", "fabrikam.json"))
	if err != nil {
		t.Fatal(err)
	}
	prev, err := tenant.ReadFile(filepath.Join("testdata", "fabrikam-previous.json"))
	if err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join("testdata", "fabrikam-review.yaml")
	b, err := baselines.Load(ref)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Offline(cur, prev, b, "fabrikam-review")
	if err != nil {
		t.Fatal(err)
	}
	in.Version = "golden"
	return in
}
