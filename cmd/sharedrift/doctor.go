package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

type doctorOptions struct {
	live      liveSource
	fixture   string
	format    string
	probe     bool
	probeFile string
	sendTest  bool
}

func newDoctorCmd() *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that sharedrift may read every section of a tenant",
		Long: `Doctor gets a token for each service the collector calls (Microsoft Graph, the
SharePoint admin endpoint and Exchange Online), reads the application roles each
token carries, and prints which sections can be read and which permissions are
missing, by their exact names. It reads no tenant data. docs/azure-setup.md
explains how to grant what is missing.

With --probe it also reads every endpoint the collector uses once (read-only: the
first page or item of each), checks each assumption the collector makes where
Microsoft's documentation is silent (confirmed, contradicted or not seen, with the
evidence), and writes a redacted probe file (--probe-file; every name, id and
other string hashed) to attach to a bug report.

Given the daemon's configuration, doctor also checks the store (reachable, schema
up to date), every notification destination (its start-up check; --send-test
also sends each a sample message) and, when the tenant's remediation mode is
approve or auto, the write permissions remediation needs.

The output is one line per check: the token of each service, each section, each
missing permission, the store, each destination. An error is said once, where it
happens; the lines that depend on it point there.

Exit status: 0 when every check passes (and, with --probe, no assumption is
contradicted), 1 otherwise.`,
		Example: `  sharedrift doctor --config sharedrift.yaml --tenant contoso
  sharedrift doctor --config sharedrift.yaml --tenant contoso --probe --probe-file contoso-probe.json
  sharedrift doctor --fixture testdata/tenants/fabrikam --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDoctor(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.live.config, "config", "", configUsage)
	f.StringVar(&o.live.tenant, "tenant", "", "the tenant `NAME` in --config")
	f.StringVar(&o.fixture, "fixture", "", "check a fixture tenant `DIR` instead (its tenant.json roles)")
	f.StringVar(&o.format, "format", "table", "output format: table or json")
	f.BoolVar(&o.probe, "probe", false, "also read every endpoint once and check the collector's unconfirmed assumptions")
	f.StringVar(&o.probeFile, "probe-file", "sharedrift-probe.json", "with --probe: where to write the redacted probe `FILE`")
	f.BoolVar(&o.sendTest, "send-test", false, "with a daemon --config: send a sample message to every notification destination")
	return cmd
}

func runDoctor(cmd *cobra.Command, o *doctorOptions) error {
	if o.format != "table" && o.format != "json" {
		return usagef("--format: %q, expected table or json", o.format)
	}
	var tokens m365.TokenProvider
	var ep m365.Endpoints
	var client *m365.Client
	switch {
	case o.fixture != "" && o.live.chosen():
		return usagef("--fixture and --config/--tenant cannot be combined; choose one")
	case o.fixture != "":
		srv, err := m365test.New(o.fixture, m365test.Options{})
		if err != nil {
			return fmt.Errorf("start fixture tenant: %w", err)
		}
		defer srv.Close()
		co := srv.ClientOptions()
		tokens, ep = co.Tokens, co.Endpoints
		if o.probe {
			if client, err = m365.New(co); err != nil {
				return err
			}
		}
	case o.live.chosen():
		c, _, err := o.live.client(logger(cmd))
		if err != nil {
			return err
		}
		defer o.live.close()
		tokens, ep, client = o.live.tokens, c.Endpoints(), c
	default:
		return usagef("doctor needs --config FILE --tenant NAME or --fixture DIR")
	}
	rep := m365.Doctor(cmd.Context(), tokens, ep)
	extra := doctorExtras(cmd.Context(), o, &rep, logger(cmd))
	var probe *m365.ProbeReport
	if o.probe {
		pr := m365.Probe(cmd.Context(), client)
		probe = &pr
		if err := writeProbeFile(o.probeFile, pr); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		v := struct {
			m365.DoctorReport
			doctorExtra
			Probe *m365.ProbeReport `json:"probe,omitempty"`
		}{rep, extra, probe}
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printDoctor(out, &rep)
		printExtras(out, &extra)
		if probe != nil {
			printProbe(out, probe, o.probeFile)
		}
	}
	if !rep.OK() || !extra.ok() || (probe != nil && contradicted(probe)) {
		return withExitCode(exitError, nil)
	}
	return nil
}

func contradicted(p *m365.ProbeReport) bool {
	for _, v := range p.Assumptions {
		if v.State == m365.Contradicted {
			return true
		}
	}
	return false
}

// writeProbeFile writes the redacted probe; it holds hashed values only.
func writeProbeFile(path string, p m365.ProbeReport) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("probe file: %w", err)
	}
	if err := m365.WriteProbe(f, p); err != nil {
		f.Close()
		return fmt.Errorf("probe file %s: %w", path, err)
	}
	return f.Close()
}

func printProbe(w io.Writer, p *m365.ProbeReport, file string) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENDPOINT\tSTATUS")
	for _, a := range p.Answers {
		st := fmt.Sprint(a.Status)
		if a.Error != "" {
			st += " " + a.Error
		}
		fmt.Fprintf(tw, "%s\t%s\n", a.Endpoint, st)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ASSUMPTION\tSTATE\tEVIDENCE")
	for _, v := range p.Assumptions {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.ID, v.State, v.Evidence)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nredacted probe written to %s (names, ids and other strings hashed)\n", file)
}

// printDoctor writes one line per token and section, and one per missing
// permission under its section. A token error is written once; sections
// that needed the token point to it.
func printDoctor(w io.Writer, rep *m365.DoctorReport) {
	fmt.Fprintln(w, "Tokens")
	errs := map[string]m365.Audience{}
	for _, t := range rep.Tokens {
		switch {
		case t.OK:
			detail := []string{}
			if t.Credential != "" {
				detail = append(detail, t.Credential)
			}
			if !t.Expires.IsZero() {
				detail = append(detail, "expires "+t.Expires.Format("2006-01-02 15:04Z"))
			}
			detail = append(detail, plural(len(t.Roles), "role"))
			if len(t.DirectoryRoles) > 0 {
				detail = append(detail, strings.Join(t.DirectoryRoles, ", "))
			}
			line(w, "ok", string(t.Audience), strings.Join(detail, ", "))
		case errs[t.Error] != "":
			line(w, "FAIL", string(t.Audience), "the same error as "+string(errs[t.Error]))
		default:
			errs[t.Error] = t.Audience
			line(w, "FAIL", string(t.Audience), oneLine(t.Error))
		}
	}
	fmt.Fprintln(w, "Sections (read)")
	said := map[string]string{} // a need already written, by its first section
	for _, sec := range rep.Sections {
		status := "ok"
		if !sec.Readable {
			status = "FAIL"
		} else if len(sec.Warnings) > 0 {
			status = "warn"
		}
		line(w, status, string(sec.Section), "")
		same := ""
		for _, m := range sec.Missing {
			if first, ok := said[m]; ok {
				if first != same {
					line(w, "", "", "needs the same as "+first)
				}
				same = first
				continue
			}
			said[m] = string(sec.Section)
			line(w, "", "", "needs "+m)
		}
		for _, m := range sec.Warnings {
			line(w, "", "", "warning: "+m)
		}
	}
}

// line writes one check: a status, a name and a detail, in columns.
func line(w io.Writer, status, name, detail string) {
	fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("  %-4s  %-12s  %s", status, name, detail), " "))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// oneLine folds an error onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
