package remediate

import (
	"fmt"
	"slices"
	"time"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/config"
)

// Mode is how remediation treats a rule's findings.
type Mode string

// Modes, from least to most active.
const (
	// ModeOff plans nothing.
	ModeOff Mode = config.ModeOff
	// ModeNotify records the plan so people can see it; nothing is applied.
	ModeNotify Mode = config.ModeNotify
	// ModeDryRun records the plan; nothing is applied (the default).
	ModeDryRun Mode = config.ModeDryRun
	// ModeApprove applies a plan once a person approved it (CLI, API or Slack).
	ModeApprove Mode = config.ModeApprove
	// ModeAuto applies plans without approval, except destructive steps of
	// rules not listed in AllowDestructive.
	ModeAuto Mode = config.ModeAuto
)

// Defaults for policy fields left unset.
const (
	DefaultMaxChanges     = 10
	DefaultMaxPlans       = 1000
	DefaultMaxSnapshotAge = 24 * time.Hour
	DefaultGracePeriod    = 7 * 24 * time.Hour
)

// Policy is a tenant's remediation policy.
type Policy struct {
	Mode  Mode
	Rules map[string]Mode
	// MaxChanges caps the changes one run makes.
	MaxChanges int
	// MaxPlans caps the plans recorded after one scan: a large tenant can
	// fail a fixable rule on hundreds of thousands of links, and a plan
	// per failure is neither reviewable nor cheap to store.
	MaxPlans int
	// MaxSnapshotAge refuses findings last seen in an older scan.
	MaxSnapshotAge time.Duration
	// AllowDestructive lists rules whose destructive steps may run in auto mode.
	AllowDestructive []string
	Exclude          config.Exclusion
	// GracePeriod separates a plan's first steps from its deferred,
	// destructive ones (block a guest, delete it later).
	GracePeriod time.Duration
}

// PolicyFrom converts a tenant's configured policy and fills defaults.
func PolicyFrom(c config.Remediation) Policy {
	p := Policy{Mode: Mode(c.Mode), MaxChanges: c.MaxChanges, MaxPlans: c.MaxPlans, MaxSnapshotAge: c.MaxSnapshotAge.D(),
		AllowDestructive: c.AllowDestructive, Exclude: c.Exclude}
	if len(c.Rules) > 0 {
		p.Rules = map[string]Mode{}
		for k, v := range c.Rules {
			p.Rules[k] = Mode(v)
		}
	}
	return p.withDefaults()
}

func (p Policy) withDefaults() Policy {
	if p.Mode == "" {
		p.Mode = ModeDryRun
	}
	if p.MaxChanges <= 0 {
		p.MaxChanges = DefaultMaxChanges
	}
	if p.MaxPlans <= 0 {
		p.MaxPlans = DefaultMaxPlans
	}
	if p.MaxSnapshotAge <= 0 {
		p.MaxSnapshotAge = DefaultMaxSnapshotAge
	}
	if p.GracePeriod <= 0 {
		p.GracePeriod = DefaultGracePeriod
	}
	return p
}

// ModeFor returns the mode of a rule.
func (p *Policy) ModeFor(ruleID string) Mode {
	if m, ok := p.Rules[ruleID]; ok {
		return m
	}
	return p.Mode
}

// DestructiveAllowed reports whether a rule's destructive steps may run
// without a person's approval.
func (p *Policy) DestructiveAllowed(ruleID string) bool {
	return slices.Contains(p.AllowDestructive, ruleID)
}

// Excluded returns why an operation's object is excluded, or "".
func (p *Policy) Excluded(sc Scope) string {
	for _, c := range []struct {
		kind     string
		patterns []string
		values   []string
	}{
		{"site", p.Exclude.Sites, sc.Sites},
		{"user", p.Exclude.Users, sc.Users},
		{"domain", p.Exclude.Domains, sc.Domains},
		{"label", p.Exclude.Labels, sc.Labels},
	} {
		for _, v := range c.values {
			for _, pat := range c.patterns {
				if baselines.Glob(pat, v) {
					return fmt.Sprintf("%s %s is excluded by %q", c.kind, v, pat)
				}
			}
		}
	}
	return ""
}
