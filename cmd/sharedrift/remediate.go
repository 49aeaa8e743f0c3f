package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/app"
	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/remediate"
	"github.com/sharedrift/sharedrift/rules"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/store"
)

// remediateFlags are shared by the remediate subcommands: where the tenant
// is (a fixture directory run in-process, or a live tenant), the store, the
// output format and the remediation policy.
type remediateFlags struct {
	fixture, tenant, baseline, format string
	store                             *storeFlags

	mode             string
	ruleModes        []string
	maxChanges       int
	maxPlans         int
	maxAge, grace    time.Duration
	allowDestructive []string
	exclude          config.Exclusion

	// plans is set for plan, the one command that records scans, so it
	// may create the store and add a tenant to it.
	plans bool

	// fake is the running fixture tenant, once started.
	fake *m365test.Server
}

func (f *remediateFlags) add(fs *pflag.FlagSet, withTenant bool) {
	f.store = addStoreFlags(fs)
	fs.StringVar(&f.tenant, "tenant", "", "tenant `NAME` (default: the fixture's tenant, or the only tenant in the store)")
	fs.StringVar(&f.format, "format", "table", "output format: table or json")
	if !withTenant {
		return
	}
	fs.StringVar(&f.fixture, "fixture", "", "work offline against the fixture tenant `DIR`, served in-process by the fake tenant")
	aliasConfigFlag(fs, "m365-config")
	fs.StringVar(&f.baseline, "baseline", "recommended", "baseline `NAME` or file the plan restores")
	fs.StringVar(&f.mode, "mode", "", "remediation `MODE` for every rule: off, notify, dry-run, approve or auto (default dry-run)")
	fs.StringSliceVar(&f.ruleModes, "rule-mode", nil, "`RULE=MODE` for one rule (repeatable)")
	fs.IntVar(&f.maxChanges, "max-changes", 0, fmt.Sprintf("changes one run may make (default %d)", remediate.DefaultMaxChanges))
	fs.IntVar(&f.maxPlans, "max-plans", 0, fmt.Sprintf("plans one scan may record, most severe first (default %d)", remediate.DefaultMaxPlans))
	fs.DurationVar(&f.maxAge, "max-age", 0, "refuse findings last seen in a scan older than this `DURATION` (default 24h)")
	fs.DurationVar(&f.grace, "grace", 0, "`DURATION` between blocking and deleting (default 168h)")
	fs.StringSliceVar(&f.allowDestructive, "allow-destructive", nil, "`RULE` whose destructive steps may run in auto mode (repeatable)")
	fs.StringSliceVar(&f.exclude.Sites, "exclude-site", nil, "never touch sites matching `GLOB` (repeatable)")
	fs.StringSliceVar(&f.exclude.Users, "exclude-user", nil, "never touch users matching `GLOB` (id, mail or UPN; repeatable)")
	fs.StringSliceVar(&f.exclude.Domains, "exclude-domain", nil, "never touch domains matching `GLOB` (repeatable)")
	fs.StringSliceVar(&f.exclude.Labels, "exclude-label", nil, "never touch content labelled `LABEL` (repeatable)")
}

// liveConfig is --config: the configuration whose tenant the command
// connects to (and whose store it uses unless --store or --state-dir).
func (f *remediateFlags) liveConfig() string {
	return f.store.fs.Lookup("config").Value.String()
}

func (f *remediateFlags) policy() (remediate.Policy, error) {
	check := func(flag, m string) error {
		if slices.Contains(config.RemediationModes, m) {
			return nil
		}
		return usagef("%s: %q, expected one of %s", flag, m, strings.Join(config.RemediationModes, ", "))
	}
	c := config.Remediation{Mode: f.mode, MaxChanges: f.maxChanges, MaxPlans: f.maxPlans, MaxSnapshotAge: config.Duration(f.maxAge), AllowDestructive: f.allowDestructive, Exclude: f.exclude}
	if f.mode != "" {
		if err := check("--mode", f.mode); err != nil {
			return remediate.Policy{}, err
		}
	}
	for _, rm := range f.ruleModes {
		id, m, ok := strings.Cut(rm, "=")
		if !ok || id == "" {
			return remediate.Policy{}, usagef("--rule-mode: %q, expected RULE=MODE", rm)
		}
		if _, known := rules.Lookup(id); !known {
			return remediate.Policy{}, usagef("--rule-mode: unknown rule %q", id)
		}
		if err := check("--rule-mode "+id, m); err != nil {
			return remediate.Policy{}, err
		}
		if c.Rules == nil {
			c.Rules = map[string]string{}
		}
		c.Rules[id] = m
	}
	p := remediate.PolicyFrom(c)
	if f.grace > 0 {
		p.GracePeriod = f.grace
	}
	return p, nil
}

// client connects to the tenant: the fixture served in-process, or the
// live tenant.
func (f *remediateFlags) client(log *slog.Logger) (*m365.Client, error) {
	switch {
	case f.fixture != "" && f.liveConfig() != "":
		return nil, usagef("--fixture and --config cannot be combined; choose one")
	case f.fixture != "":
		if f.fake == nil {
			srv, err := m365test.New(f.fixture, m365test.Options{Logger: log})
			if err != nil {
				return nil, fmt.Errorf("start fixture tenant: %w", err)
			}
			f.fake = srv
		}
		co := f.fake.ClientOptions()
		co.Logger = log
		return m365.New(co)
	case f.liveConfig() != "":
		c, _, err := (&liveSource{config: f.liveConfig(), tenant: f.tenant}).client(log)
		return c, err
	}
	return nil, usagef("no tenant to work on: use --fixture DIR or --config FILE --tenant NAME")
}

func (f *remediateFlags) close() {
	if f.fake != nil {
		f.fake.Close()
		f.fake = nil
	}
}

// clock is the fixture's own time when working offline (a fixture is a
// moment in time, so its scans never look stale), else the wall clock.
func (f *remediateFlags) clock() func() time.Time {
	if f.fake != nil {
		if meta := f.fake.Meta(); meta.Now != nil {
			start, fixed := time.Now(), *meta.Now
			return func() time.Time { return fixed.Add(time.Since(start)) }
		}
	}
	return time.Now
}

// remediateEnv is what a remediate subcommand works with: the open store,
// the tenant connection (when the command changes the tenant) and the
// remediation service over both.
type remediateEnv struct {
	f      *remediateFlags
	log    *slog.Logger
	st     store.Store
	client *m365.Client
	svc    *remediate.Service
	pol    remediate.Policy
	tenant string
	// baseline is what plans restore; loaded only with a tenant connection.
	baseline *baselines.Baseline
	now      func() time.Time
}

// open checks the flags, then connects to the store and, with needTenant,
// loads the baseline and connects to the tenant, which it brings up to date
// with earlier offline runs. Flags are checked before anything is opened,
// so a mistake writes nothing.
func (f *remediateFlags) open(ctx context.Context, log *slog.Logger, needTenant bool) (_ *remediateEnv, err error) {
	if _, err := parseListFormat(f.format); err != nil {
		return nil, err
	}
	pol, err := f.policy()
	if err != nil {
		return nil, err
	}
	s := &remediateEnv{f: f, log: log, now: time.Now, pol: pol}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if needTenant {
		if s.baseline, err = loadBaseline(f.baseline); err != nil {
			return nil, err
		}
		if s.client, err = f.client(log); err != nil {
			return nil, err
		}
		s.now = f.clock()
		if f.fake != nil && f.tenant == "" {
			f.tenant = canonicalTenant(f.fake.Meta().Tenant)
		}
	}
	// Only plan records scans; the other commands act on what it recorded
	// and neither create a store nor accept a tenant it does not hold.
	openStore := f.store.openExisting
	if f.plans {
		openStore = f.store.open
	}
	if s.st, err = openStore(ctx, log); err != nil {
		return nil, err
	}
	s.tenant = f.tenant
	if !f.plans || s.tenant == "" {
		if s.tenant, err = pickTenant(ctx, s.st, f.tenant); err != nil {
			return nil, err
		}
	}
	opts := remediate.Options{Store: s.st, Policy: func(string) remediate.Policy { return pol }, Logger: log, Now: s.now}
	if s.client != nil {
		// Without a tenant connection (approve, reject, history) the
		// service checks approvals against the store alone.
		opts.Target = func(context.Context, string) (remediate.Target, error) { return remediate.M365Target{C: s.client}, nil }
	}
	s.svc, err = remediate.New(opts)
	if err != nil {
		return nil, fmt.Errorf("start remediation: %w", err)
	}
	if needTenant {
		if err = s.replay(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *remediateEnv) close() {
	if s.st != nil {
		s.st.Close()
	}
	s.f.close()
}

// replay brings a fresh fixture tenant to the state earlier offline runs
// left it in, by writing every recorded change again in order: an
// in-process fake tenant forgets its writes when the command exits.
func (s *remediateEnv) replay(ctx context.Context) error {
	if s.f.fake == nil {
		return nil
	}
	rows, err := s.svc.History(ctx, s.tenant, "", 0)
	if err != nil {
		return fmt.Errorf("replay earlier runs: %w", err)
	}
	t := remediate.M365Target{C: s.client}
	n := 0
	for i := range rows {
		r := &rows[i]
		if r.Action == remediate.ActionPlan || !strings.HasPrefix(r.Result, "changed") {
			continue
		}
		var op remediate.Op
		if err := json.Unmarshal(r.Plan, &op); err != nil {
			return fmt.Errorf("replay attempt %d: %w", r.ID, err)
		}
		if err := t.Write(ctx, &op, r.After); err != nil {
			return fmt.Errorf("replay attempt %d on the fixture tenant: %w", r.ID, err)
		}
		n++
	}
	if n > 0 {
		s.log.Debug("fixture tenant brought up to date", "changes", n)
	}
	return nil
}

// scan is the daemon's scan (app.Scan): incremental from the store's
// tokens, results spooled, recorded with the completed sections' tokens.
func (s *remediateEnv) scan(ctx context.Context) (*app.Scanned, error) {
	job := app.ScanJob{Tenant: s.tenant, TenantID: s.client.TenantID(), Client: s.client, Baseline: s.baseline,
		BaselineRef: s.f.baseline, Clock: s.now, Sources: m365.SourceOptions{Now: s.now}, Logger: s.log}
	if s.f.fake != nil {
		job.TenantID = s.f.fake.Meta().TenantID
	}
	scanned, err := app.Scan(ctx, s.st, job)
	if err != nil {
		return nil, err
	}
	warnIncomplete(s.log, scanned.Snapshot)
	return scanned, nil
}

func newRemediateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remediate",
		Short: "Plan, approve, apply, verify and roll back fixes of findings",
		Long: `Remediate puts drift back to the baseline, with guardrails.

plan scans the tenant, records the scan and proposes, for every failed rule that
has a fix, the API operations that restore the baseline with their before and after
values. What happens next depends on each rule's mode: off (no plan), notify and
dry-run (plan only; the default), approve (applied once approved with
'remediate approve', the API or a Slack button) and auto (applied by 'remediate apply';
deletions only with --allow-destructive or an approval). Approving and applying go by
the mode recorded with each plan; planning again after a mode change updates them.

apply never acts on findings from incomplete sections or stale scans, re-reads
every object right before changing it and skips it when it changed since the scan,
stops at --max-changes, never touches excluded objects, and reads every change back.
Every attempt is recorded; history shows them and rollback restores the recorded
before values of a run's reversible changes.

With --fixture DIR everything runs offline against the in-process fake tenant;
the changes of earlier offline runs are replayed onto it first.`,
		Example: `  # Offline: plan fabrikam's fixes, approve one, apply it
  sharedrift remediate plan --fixture testdata/tenants/fabrikam --state-dir /tmp/sd --rule-mode sites.sharing_level=approve
  sharedrift remediate approve 57a2aca6 --fixture testdata/tenants/fabrikam --state-dir /tmp/sd
  sharedrift remediate apply --fixture testdata/tenants/fabrikam --state-dir /tmp/sd --rule-mode sites.sharing_level=approve

  # What was done, and undo a run
  sharedrift remediate history --state-dir /tmp/sd
  sharedrift remediate rollback run-20260302T060001-a1b2c3 --fixture testdata/tenants/fabrikam --state-dir /tmp/sd`,
	}
	cmd.AddCommand(newRemediatePlanCmd(), newRemediateDecideCmd("approve"), newRemediateDecideCmd("reject"),
		newRemediateApplyCmd(), newRemediateHistoryCmd(), newRemediateRollbackCmd())
	return cmd
}

func newRemediatePlanCmd() *cobra.Command {
	f := &remediateFlags{plans: true}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Scan the tenant and record a fix plan for every fixable finding",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, log := cmd.Context(), logger(cmd)
			s, err := f.open(ctx, log, true)
			if err != nil {
				return err
			}
			defer s.close()
			scanned, err := s.scan(ctx)
			if err != nil {
				return err
			}
			defer scanned.Close()
			snap, sc := scanned.Snapshot, scanned.Scan
			sel, err := remediate.Select(scanned.Results.Each, &s.pol)
			if err != nil {
				return err
			}
			if sel.Over > 0 {
				log.Warn("remediation plans capped", "tenant", s.tenant, "max_plans", s.pol.MaxPlans, "not_planned", sel.Over)
			}
			plans, skipped := remediate.Build(snap, s.baseline, sel.Failures)
			stats, err := s.svc.Record(ctx, sc.ID, plans)
			if err != nil {
				return err
			}
			stats.Off += sel.Off // failures of rules that are off reach no plan
			prs, err := s.svc.Plans(ctx, s.tenant, store.RemediationPlanned, store.RemediationApproved, store.RemediationBlocked)
			if err != nil {
				return err
			}
			if f.format == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"tenant": s.tenant, "scanId": sc.ID, "recorded": stats, "plans": prs, "notPlanned": skipped})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "scan %d of %s: %d plans created, %d kept, %d superseded, %d rules off\n\n",
				sc.ID, s.tenant, stats.Created, stats.Kept, stats.Superseded, stats.Off)
			return printPlans(cmd.OutOrStdout(), prs)
		},
	}
	f.add(cmd.Flags(), true)
	return cmd
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

func printPlans(w io.Writer, prs []remediate.PlanRecord) error {
	var rows [][]string
	for _, pr := range prs {
		p := &pr.Plan
		for i, op := range p.Ops {
			fp, rule, state, mode := short(p.Fingerprint), p.RuleID, string(pr.State), string(pr.Mode)
			if i > 0 {
				fp, rule, state, mode = "", "", "", ""
			}
			step := op.Action
			if op.Destructive {
				step += " (destructive)"
			}
			if op.Deferred {
				step += " (after grace)"
				if p.NotBefore != nil {
					step += " due " + p.NotBefore.UTC().Format(time.RFC3339)
				}
			}
			rows = append(rows, []string{fp, rule, mode, state, step, op.ObjectKey, op.Field, string(op.Before), string(op.After)})
		}
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no pending plans")
		return err
	}
	if err := table(w, []string{"FINGERPRINT", "RULE", "MODE", "STATE", "OPERATION", "OBJECT", "FIELD", "BEFORE", "AFTER"}, rows); err != nil {
		return err
	}
	for _, pr := range prs {
		if pr.Plan.Note != "" {
			if _, err := fmt.Fprintf(w, "note %s: %s\n", short(pr.Plan.Fingerprint), pr.Plan.Note); err != nil {
				return err
			}
		}
	}
	// Blocked plans never run; say which rule each would break.
	sep := "\n"
	for _, pr := range prs {
		if pr.Plan.Blocked != "" {
			if _, err := fmt.Fprintf(w, "%s%s %s blocked: %s\n", sep, short(pr.Plan.Fingerprint), pr.Plan.RuleID, pr.Plan.Blocked); err != nil {
				return err
			}
			sep = ""
		}
	}
	return nil
}

func newRemediateDecideCmd(verb string) *cobra.Command {
	f := &remediateFlags{}
	var by string
	cmd := &cobra.Command{
		Use:   verb + " FINGERPRINT...",
		Short: map[string]string{"approve": "Approve the plans of findings (rules in approve or auto mode)", "reject": "Reject the plans of findings; they are not proposed again"}[verb],
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), logger(cmd)
			// With a tenant, an approval is checked against it (and its
			// clock); without one, against the store alone.
			s, err := f.open(ctx, log, f.fixture != "" || f.liveConfig() != "")
			if err != nil {
				return err
			}
			defer s.close()
			for _, fp := range args {
				if verb == "approve" {
					err = s.svc.Approve(ctx, s.tenant, fp, "cli:"+by)
				} else {
					err = s.svc.Reject(ctx, s.tenant, fp, "cli:"+by)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %sd by cli:%s\n", fp, verb, by)
			}
			return nil
		},
	}
	f.add(cmd.Flags(), false)
	cmd.Flags().StringVar(&by, "by", whoami(), "who decides (recorded in the audit)")
	// The mode recorded with each plan decides whether approving is
	// allowed; the tenant, when given, shows whether the plan still fits.
	cmd.Flags().StringVar(&f.fixture, "fixture", "", "check the plans against the fixture tenant `DIR` (offline; its clock dates the scans)")
	aliasConfigFlag(cmd.Flags(), "m365-config")
	f.baseline = "recommended"
	return cmd
}

func newRemediateApplyCmd() *cobra.Command {
	f := &remediateFlags{}
	var fps []string
	var noRescan bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply the plans the policy lets run now, verify each change and re-scan",
		Long: `Apply runs approved plans of rules in approve mode and the plans of rules in auto
mode, in order, through the tenant's APIs, and reports each operation: applied
(changed and verified), unchanged (already as wanted), skipped (changed since the
scan, excluded, or a failed precondition), failed (the run stops) or not_attempted.
A re-scan afterwards records which findings the run resolved (--no-rescan skips it).
Exit status 1 when an operation failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, log := cmd.Context(), logger(cmd)
			s, err := f.open(ctx, log, true)
			if err != nil {
				return err
			}
			defer s.close()
			rep, err := s.svc.Apply(ctx, s.tenant, remediate.ApplyOptions{Fingerprints: fps})
			if err != nil {
				return err
			}
			var resolved int64 = -1
			if !noRescan && rep.Changes > 0 {
				scanned, err := s.scan(ctx)
				if err != nil {
					return err
				}
				resolved = scanned.Scan.FindingsResolved
				scanned.Close()
			}
			if err := printRun(cmd.OutOrStdout(), f.format, rep, resolved); err != nil {
				return err
			}
			return runStatus(rep)
		},
	}
	f.add(cmd.Flags(), true)
	cmd.Flags().StringSliceVar(&fps, "fingerprint", nil, "only the plans of these findings (`FINGERPRINT` or prefix, repeatable)")
	cmd.Flags().BoolVar(&noRescan, "no-rescan", false, "do not re-scan after the run")
	return cmd
}

// runStatus makes the command exit 1, with the table already saying why,
// when an operation of the run failed.
func runStatus(rep *remediate.RunReport) error {
	if rep.Count(remediate.StatusFailed) > 0 {
		return withExitCode(exitError, nil)
	}
	return nil
}

func printRun(w io.Writer, format string, rep *remediate.RunReport, resolved int64) error {
	if format == "json" {
		out := map[string]any{"run": rep}
		if resolved >= 0 {
			out["findingsResolved"] = resolved
		}
		return writeJSON(w, out)
	}
	var rows [][]string
	for _, o := range rep.Ops {
		note := o.Result
		if o.Error != "" {
			note = o.Error
		}
		rows = append(rows, []string{strconv.Itoa(o.Seq), short(o.Fingerprint), o.Action, o.ObjectKey, o.Field, o.Status, string(o.Before), string(o.After), note})
	}
	capNote := ""
	if rep.Kind == "apply" {
		capNote = fmt.Sprintf(" (cap %d)", rep.Cap)
	}
	fmt.Fprintf(w, "%s %s of %s: %d operations, %d changes%s\n", rep.Kind, rep.RunID, rep.Tenant, len(rep.Ops), rep.Changes, capNote)
	if len(rows) > 0 {
		if err := table(w, []string{"SEQ", "FINGERPRINT", "ACTION", "OBJECT", "FIELD", "STATUS", "BEFORE", "AFTER", "RESULT"}, rows); err != nil {
			return err
		}
	}
	if rep.Stopped != "" {
		fmt.Fprintf(w, "stopped: %s\n", rep.Stopped)
	}
	held := map[string]int{}
	for _, h := range rep.Held {
		held[h.Reason]++
	}
	for reason, n := range held {
		fmt.Fprintf(w, "held: %d plans: %s\n", n, reason)
	}
	if resolved >= 0 {
		fmt.Fprintf(w, "re-scan: %d findings resolved\n", resolved)
	}
	return nil
}

func newRemediateHistoryCmd() *cobra.Command {
	f := &remediateFlags{}
	var run string
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List recorded plans and attempts: who approved, before, after, result, error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, log := cmd.Context(), logger(cmd)
			s, err := f.open(ctx, log, false)
			if err != nil {
				return err
			}
			defer s.close()
			rows, err := s.svc.History(ctx, s.tenant, run, limit)
			if err != nil {
				return err
			}
			if f.format == "json" {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			var out [][]string
			for _, r := range rows {
				note := r.Result
				if r.Error != "" {
					note = r.Error
				}
				approved := r.ApprovedBy
				if r.ApprovedAt != nil {
					approved += " " + fmtTime(*r.ApprovedAt)
				}
				verified := ""
				if r.Verified != nil {
					verified = map[bool]string{true: "read back", false: "no"}[*r.Verified]
				}
				out = append(out, []string{strconv.FormatInt(r.ID, 10), r.RunID, strconv.Itoa(r.Seq), short(r.Fingerprint), r.Action, r.ObjectKey,
					string(r.State), approved, string(r.Before), string(r.After), verified, note})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "RUN", "SEQ", "FINGERPRINT", "ACTION", "OBJECT", "STATE", "APPROVED", "BEFORE", "AFTER", "VERIFIED", "RESULT"}, out)
		},
	}
	f.add(cmd.Flags(), false)
	cmd.Flags().StringVar(&run, "run", "", "only this run `ID`")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most `N` rows")
	return cmd
}

func newRemediateRollbackCmd() *cobra.Command {
	f := &remediateFlags{}
	var by string
	cmd := &cobra.Command{
		Use:   "rollback RUN_ID",
		Short: "Restore the recorded before values of a run's reversible changes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, log := cmd.Context(), logger(cmd)
			s, err := f.open(ctx, log, true)
			if err != nil {
				return err
			}
			defer s.close()
			rep, err := s.svc.Rollback(ctx, s.tenant, args[0], "cli:"+by)
			if err != nil {
				return err
			}
			if err := printRun(cmd.OutOrStdout(), f.format, rep, -1); err != nil {
				return err
			}
			return runStatus(rep)
		},
	}
	f.add(cmd.Flags(), true)
	cmd.Flags().StringVar(&by, "by", whoami(), "who rolls back (recorded in the audit)")
	return cmd
}
