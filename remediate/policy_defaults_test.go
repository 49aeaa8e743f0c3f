package remediate_test

import (
	"testing"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/remediate"
)

// Unset caps take their defaults; set ones are kept.
func TestPolicyFromCaps(t *testing.T) {
	for _, tc := range []struct {
		name              string
		in                config.Remediation
		changes, maxPlans int
	}{
		{"unset", config.Remediation{}, remediate.DefaultMaxChanges, remediate.DefaultMaxPlans},
		{"set", config.Remediation{MaxChanges: 3, MaxPlans: 50}, 3, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := remediate.PolicyFrom(tc.in)
			if p.MaxChanges != tc.changes || p.MaxPlans != tc.maxPlans {
				t.Errorf("max changes %d, max plans %d; want %d, %d", p.MaxChanges, p.MaxPlans, tc.changes, tc.maxPlans)
			}
			if p.Mode != remediate.ModeDryRun && tc.in.Mode == "" {
				t.Errorf("mode %q, want dry-run by default", p.Mode)
			}
		})
	}
}
