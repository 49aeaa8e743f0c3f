package main

import (
	"context"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

func newFindingsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "findings",
		Short: "List, inspect, acknowledge and snooze findings",
		Long: `A finding is one drift (a rule failing on one object) tracked across scans: it is
open from the first scan that sees it, resolved when a complete scan no longer does,
and reopened if it comes back. Findings are named by fingerprint; any unique prefix
of it works.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newFindingsListCmd(), newFindingsShowCmd(), newFindingsAckCmd(), newFindingsSnoozeCmd())
	return cmd
}

func newFindingsListCmd() *cobra.Command {
	var (
		tenantName, format, state, severity, section, rule string
		limit                                              int
		sf                                                 *storeFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List findings, most severe first",
		Example: `  sharedrift findings list --tenant fabrikam.onmicrosoft.com
  sharedrift findings list --severity high --state all --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			f := store.FindingFilter{Tenant: tenantName, MinSeverity: tenant.Severity(severity), Section: tenant.Section(section), RuleID: rule, Limit: limit}
			switch state {
			case "active":
				f.States = []store.FindingState{store.FindingOpen, store.FindingReopened}
			case "all":
			case string(store.FindingOpen), string(store.FindingReopened), string(store.FindingResolved):
				f.States = []store.FindingState{store.FindingState(state)}
			default:
				return usagef("--state: %q, expected active, open, reopened, resolved or all", state)
			}
			if severity != "" {
				if _, ok := f.MinSeverity.Rank(); !ok {
					return usagef("--severity: %q, expected info, low, medium, high or critical", severity)
				}
			}
			if section != "" && !f.Section.Known() {
				return usagef("--section: %q, expected one of %v", section, tenant.AllSections)
			}
			s, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			defer s.Close()
			fs, err := s.FindingsList(cmd.Context(), f)
			if err != nil {
				return err
			}
			now := time.Now()
			return writeList(cmd.OutOrStdout(), lf, fs, "no findings",
				[]string{"FINGERPRINT", "SEVERITY", "STATE", "RULE", "OBJECT", "FIRST SEEN", "LAST SEEN"},
				func(x *store.Finding) []string {
					obj := x.ObjectName
					if obj == "" {
						obj = x.ObjectKey
					}
					return []string{x.Fingerprint[:12], string(x.Severity), stateLabel(x, now), x.RuleID, obj,
						fmtTime(x.FirstSeen), fmtTime(x.LastSeen)}
				})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tenantName, "tenant", "", "only this tenant (default: all)")
	fl.StringVar(&state, "state", "active", "active (open or reopened), open, reopened, resolved or all")
	fl.StringVar(&severity, "severity", "", "only findings at or above this `SEVERITY`")
	fl.StringVar(&section, "section", "", "only this section")
	fl.StringVar(&rule, "rule", "", "only this rule `ID`")
	fl.IntVar(&limit, "limit", 0, "at most `N` findings (0: no limit)")
	addListFormat(fl, &format)
	sf = addStoreFlags(fl)
	return cmd
}

// stateLabel adds acknowledgement and snooze to the lifecycle state.
func stateLabel(f *store.Finding, now time.Time) string {
	l := string(f.State)
	if f.AcknowledgedAt != nil {
		l += ",acked"
	}
	if f.Snoozed(now) {
		l += ",snoozed"
	}
	return l
}

// pickTenant returns --tenant, or the only tenant in the store.
func pickTenant(ctx context.Context, s store.Store, name string) (string, error) {
	if name != "" {
		return name, checkTenant(ctx, s, name)
	}
	ts, err := s.Tenants(ctx)
	if err != nil {
		return "", err
	}
	switch len(ts) {
	case 0:
		return "", fmt.Errorf("the store %s holds no tenants yet: record a scan first", s.Target())
	case 1:
		return ts[0].Name, nil
	}
	var names []string
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return "", usagef("the store holds several tenants; choose one with --tenant (%s)", strings.Join(names, ", "))
}

// findingCmd builds show/ack/snooze: commands taking one fingerprint.
func findingCmd(use, short, example string, extra func(*cobra.Command),
	act func(ctx context.Context, s store.Store, tenantName, fp string) (store.Finding, error)) *cobra.Command {
	var (
		tenantName, format string
		sf                 *storeFlags
	)
	cmd := &cobra.Command{
		Use:     use + " FINGERPRINT",
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := sf.openExisting(ctx, logger(cmd))
			if err != nil {
				return err
			}
			defer s.Close()
			name, err := pickTenant(ctx, s, tenantName)
			if err != nil {
				return err
			}
			f, err := act(ctx, s, name, args[0])
			if err != nil {
				return err
			}
			if lf == "json" {
				return writeJSON(cmd.OutOrStdout(), f)
			}
			return showFinding(cmd, &f)
		},
	}
	cmd.Flags().StringVar(&tenantName, "tenant", "", "the finding's tenant (default: the only tenant in the store)")
	addListFormat(cmd.Flags(), &format)
	sf = addStoreFlags(cmd.Flags())
	if extra != nil {
		extra(cmd)
	}
	return cmd
}

func showFinding(cmd *cobra.Command, f *store.Finding) error {
	opt := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return fmtTime(*t)
	}
	rows := [][]string{
		{"fingerprint", f.Fingerprint},
		{"tenant", f.Tenant},
		{"rule", f.RuleID},
		{"severity", string(f.Severity)},
		{"state", stateLabel(f, time.Now())},
		{"section", string(f.Section)},
		{"object", f.ObjectKey},
		{"name", f.ObjectName},
		{"link", f.ObjectURL},
		{"expected", f.Expected},
		{"actual", f.Actual},
		{"message", f.Message},
		{"first seen", fmtTime(f.FirstSeen)},
		{"last seen", fmtTime(f.LastSeen)},
		{"resolved", opt(f.ResolvedAt)},
		{"reopened", fmt.Sprintf("%d times, last %s", f.ReopenCount, opt(f.ReopenedAt))},
		{"acknowledged", strings.TrimSpace(opt(f.AcknowledgedAt) + " " + f.AcknowledgedBy)},
		{"snoozed until", strings.TrimSpace(opt(f.SnoozedUntil) + " " + f.SnoozedBy)},
	}
	var out [][]string
	for _, r := range rows {
		if r[1] != "" {
			out = append(out, []string{r[0] + ":", r[1]})
		}
	}
	return table(cmd.OutOrStdout(), []string{"FINDING", ""}, out)
}

func newFindingsShowCmd() *cobra.Command {
	return findingCmd("show", "Show one finding", "  sharedrift findings show 3f9a1c", nil,
		func(ctx context.Context, s store.Store, tn, fp string) (store.Finding, error) {
			return s.Finding(ctx, tn, fp)
		})
}

// whoami names the person acknowledging or snoozing by default.
func whoami() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func newFindingsAckCmd() *cobra.Command {
	var by string
	return findingCmd("ack", "Acknowledge a finding (cleared if it is resolved and comes back)", "  sharedrift findings ack 3f9a1c --by alice",
		func(c *cobra.Command) {
			c.Flags().StringVar(&by, "by", "", "who acknowledges (default: the current user)")
		},
		func(ctx context.Context, s store.Store, tn, fp string) (store.Finding, error) {
			if by == "" {
				by = whoami()
			}
			return s.AckFinding(ctx, tn, fp, by)
		})
}

func newFindingsSnoozeCmd() *cobra.Command {
	var (
		by, forAge, until string
		clear             bool
	)
	return findingCmd("snooze", "Silence reminders for a finding for a while", `  sharedrift findings snooze 3f9a1c --for 7d
  sharedrift findings snooze 3f9a1c --until 2026-04-01
  sharedrift findings snooze 3f9a1c --clear`,
		func(c *cobra.Command) {
			c.Flags().StringVar(&by, "by", "", "who snoozes (default: the current user)")
			c.Flags().StringVar(&forAge, "for", "7d", "snooze for `AGE` (7d, 2w, 12h)")
			c.Flags().StringVar(&until, "until", "", "snooze until this date or RFC 3339 time (overrides --for)")
			c.Flags().BoolVar(&clear, "clear", false, "end the snooze now")
		},
		func(ctx context.Context, s store.Store, tn, fp string) (store.Finding, error) {
			if by == "" {
				by = whoami()
			}
			var t time.Time
			switch {
			case clear:
			case until != "":
				var err error
				if t, err = time.Parse(time.RFC3339, until); err != nil {
					if t, err = time.Parse("2006-01-02", until); err != nil {
						return store.Finding{}, usagef("--until: %q, expected a date like 2026-04-01 or an RFC 3339 time", until)
					}
				}
			default:
				d, err := parseAge(forAge)
				if err != nil {
					return store.Finding{}, usagef("--for: %w", err)
				}
				t = time.Now().Add(d)
			}
			return s.SnoozeFinding(ctx, tn, fp, t, by)
		})
}
