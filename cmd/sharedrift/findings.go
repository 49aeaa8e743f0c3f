package main

import (
	"cmp"
	"context"
	"errors"
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
		Short: "List, inspect, acknowledge, snooze and accept findings",
		Long: `A finding is one drift (a rule failing on one object) tracked across scans: it is
open from the first scan that sees it, resolved when a complete scan no longer does,
and reopened if it comes back. Findings are named by fingerprint; any unique prefix
of it works.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newFindingsListCmd(), newFindingsShowCmd(), newFindingsAckCmd(), newFindingsSnoozeCmd(), newFindingsAcceptCmd())
	return cmd
}

func newFindingsListCmd() *cobra.Command {
	var (
		tenantName, format, state, severity, section, rule, label string
		limit                                                     int
		sf                                                        *storeFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List findings, most severe first",
		Example: `  sharedrift findings list --tenant fabrikam
  sharedrift findings list --severity high --state all --format json
  sharedrift findings list --label "Highly Confidential"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			f := store.FindingFilter{Tenant: tenantName, MinSeverity: tenant.Severity(severity), Section: tenant.Section(section), RuleID: rule, Label: label, Limit: limit}
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
			s, name, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			f.Tenant = name
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
	fl.StringVar(&label, "label", "", "only findings on objects with this sensitivity `LABEL` (any case)")
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
		return resolveTenant(ctx, s, name)
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
		tenantName, format, rule string
		sf                       *storeFlags
	)
	cmd := &cobra.Command{
		Use:     use + " FINGERPRINT|OBJECT",
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
			fp, err := resolveFinding(ctx, s, name, args[0], rule)
			if err != nil {
				return err
			}
			f, err := act(ctx, s, name, fp)
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
	cmd.Flags().StringVar(&rule, "rule", "", "with an object key or name: the finding of this rule")
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
		{"label", f.ObjectLabel},
		{"expected", f.Expected},
		{"actual", f.Actual},
		{"message", f.Message},
		{"first seen", fmtTime(f.FirstSeen)},
		{"last seen", fmtTime(f.LastSeen)},
		{"resolved", opt(f.ResolvedAt)},
		{"reopened", fmt.Sprintf("%d times, last %s", f.ReopenCount, opt(f.ReopenedAt))},
		{"acknowledged", strings.TrimSpace(opt(f.AcknowledgedAt) + " " + f.AcknowledgedBy + reasonText(f.AckReason))},
		{"snoozed until", strings.TrimSpace(opt(f.SnoozedUntil) + " " + f.SnoozedBy + reasonText(f.SnoozeReason))},
		{"risk accepted", acceptedText(f)},
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

// resolveFinding finds the finding arg names: a fingerprint or a unique
// prefix of one, else the exact key or display name of an active
// finding's object (names have spaces: quote them).
func resolveFinding(ctx context.Context, s store.Store, tenantName, arg, rule string) (string, error) {
	f, err := s.Finding(ctx, tenantName, arg)
	if err == nil {
		return f.Fingerprint, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	fs, lerr := s.FindingsList(ctx, store.FindingFilter{Tenant: tenantName, States: []store.FindingState{store.FindingOpen, store.FindingReopened}})
	if lerr != nil {
		return "", lerr
	}
	var hits []store.Finding
	for _, f := range fs {
		if (f.ObjectKey == arg || f.ObjectName == arg) && (rule == "" || f.RuleID == rule) {
			hits = append(hits, f)
		}
	}
	switch len(hits) {
	case 0:
		return "", fmt.Errorf("%q is neither a finding's fingerprint nor the exact key or name of an open finding's object in tenant %s (see `sharedrift findings list`)", arg, tenantName)
	case 1:
		return hits[0].Fingerprint, nil
	}
	var b strings.Builder
	for _, h := range hits {
		fmt.Fprintf(&b, "\n  %s  %s", h.Fingerprint[:12], h.RuleID)
	}
	return "", fmt.Errorf("object %q has %d open findings; name one by fingerprint or --rule:%s", arg, len(hits), b.String())
}

// untilFlag is an expiry given as --until (a date or RFC 3339 time) or
// --for (an age from now); --until wins.
type untilFlag struct{ until, forAge string }

func (u *untilFlag) add(c *cobra.Command, what, defFor string) {
	c.Flags().StringVar(&u.forAge, "for", defFor, what+" for `AGE` from now (7d, 2w, 12h)")
	c.Flags().StringVar(&u.until, "until", "", what+" until this date (through its end, UTC) or RFC 3339 time; overrides --for")
}

// at returns the expiry, or the zero time when neither flag is set.
func (u *untilFlag) at(now time.Time) (time.Time, error) {
	if u.until != "" {
		if t, err := time.Parse(time.RFC3339, u.until); err == nil {
			return t, nil
		}
		d, err := time.Parse(time.DateOnly, u.until)
		if err != nil {
			return time.Time{}, usagef("--until: %q, expected a date like 2026-04-01 or an RFC 3339 time", u.until)
		}
		return d.AddDate(0, 0, 1), nil
	}
	if u.forAge == "" {
		return time.Time{}, nil
	}
	d, err := parseAge(u.forAge)
	if err != nil {
		return time.Time{}, usagef("--for: %w", err)
	}
	return now.Add(d), nil
}

// whoami names the person acknowledging or snoozing by default.
func whoami() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

func newFindingsAckCmd() *cobra.Command {
	var (
		by, reason string
		exp        untilFlag
	)
	return findingCmd("ack", "Acknowledge a finding (cleared if it is resolved and comes back)", `  sharedrift findings ack 3f9a1c --reason "owner told"
  sharedrift findings ack 3f9a1c --reason "fix scheduled" --for 14d
  sharedrift findings ack "guest:8b2c3d4e-0001-4f6a-9b0c-1d2e3f4a5b61" --reason "leaving"`,
		func(c *cobra.Command) {
			c.Flags().StringVar(&by, "by", "", "who acknowledges (default: the current user)")
			c.Flags().StringVar(&reason, "reason", "", "why (shown with the finding and in reports)")
			exp.add(c, "also silence reminders", "")
		},
		func(ctx context.Context, s store.Store, tn, fp string) (store.Finding, error) {
			m := store.Mark{By: cmp.Or(by, whoami()), Reason: reason}
			until, err := exp.at(time.Now())
			if err != nil {
				return store.Finding{}, err
			}
			f, err := s.AckFinding(ctx, tn, fp, m)
			if err != nil || until.IsZero() {
				return f, err
			}
			return s.SnoozeFinding(ctx, tn, fp, until, m)
		})
}

func newFindingsSnoozeCmd() *cobra.Command {
	var (
		by, reason string
		exp        untilFlag
		clear      bool
	)
	return findingCmd("snooze", "Silence reminders for a finding for a while", `  sharedrift findings snooze 3f9a1c --for 7d --reason "after the audit"
  sharedrift findings snooze 3f9a1c --until 2026-04-01
  sharedrift findings snooze 3f9a1c --clear`,
		func(c *cobra.Command) {
			c.Flags().StringVar(&by, "by", "", "who snoozes (default: the current user)")
			c.Flags().StringVar(&reason, "reason", "", "why (shown with the finding)")
			exp.add(c, "snooze", "7d")
			c.Flags().BoolVar(&clear, "clear", false, "end the snooze now")
		},
		func(ctx context.Context, s store.Store, tn, fp string) (store.Finding, error) {
			m := store.Mark{By: cmp.Or(by, whoami()), Reason: reason}
			if clear {
				return s.SnoozeFinding(ctx, tn, fp, time.Time{}, m)
			}
			t, err := exp.at(time.Now())
			if err != nil {
				return store.Finding{}, err
			}
			return s.SnoozeFinding(ctx, tn, fp, t, m)
		})
}

func newFindingsAcceptCmd() *cobra.Command {
	var (
		by, reason, owner string
		exp               untilFlag
	)
	return findingCmd("accept", "Accept a finding's risk: its current value, until an expiry", `  sharedrift findings accept 3f9a1c --reason "press kit, public by design" --owner comms@fabrikam.com --for 90d
  sharedrift findings accept "https://fabrikam.sharepoint.com/sites/Marketing /Brand Kit 2026.zip" --reason "public" --owner comms --until 2026-12-31

The next scans treat the accepted value like a baseline exception: the finding
passes while its object keeps that value, and fails again (reopens) when the
value changes or the acceptance expires. Reports list it with the exceptions.`,
		func(c *cobra.Command) {
			c.Flags().StringVar(&by, "by", "", "who accepts (default: the current user)")
			c.Flags().StringVar(&reason, "reason", "", "why the risk is accepted (required)")
			c.Flags().StringVar(&owner, "owner", "", "who answers for the risk (required)")
			exp.add(c, "accept", "")
		},
		func(ctx context.Context, s store.Store, tn, fp string) (store.Finding, error) {
			until, err := exp.at(time.Now())
			switch {
			case err != nil:
				return store.Finding{}, err
			case until.IsZero():
				return store.Finding{}, usagef("accept: an expiry is required: --for AGE or --until DATE")
			case strings.TrimSpace(reason) == "":
				return store.Finding{}, usagef("accept: --reason is required")
			case strings.TrimSpace(owner) == "":
				return store.Finding{}, usagef("accept: --owner is required")
			}
			return s.AcceptRisk(ctx, tn, fp, store.Acceptance{Reason: reason, Owner: owner, By: cmp.Or(by, whoami()), Until: until})
		})
}

func reasonText(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

// acceptedText describes an accepted risk in one line.
func acceptedText(f *store.Finding) string {
	a := f.Accepted
	if a == nil {
		return ""
	}
	state := "until"
	if !time.Now().Before(a.Until) {
		state = "lapsed"
	}
	return fmt.Sprintf("value %q by %s, owner %s, %s %s: %s", a.Value, a.By, a.Owner, state, fmtTime(a.Until), a.Reason)
}
