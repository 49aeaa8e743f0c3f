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

Exit status: 0 when every section can be read (and, with --probe, no assumption
is contradicted), 1 otherwise.`,
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
		v := any(rep)
		if probe != nil {
			v = struct {
				m365.DoctorReport
				Probe *m365.ProbeReport `json:"probe"`
			}{rep, probe}
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printDoctor(out, &rep)
		if probe != nil {
			printProbe(out, probe, o.probeFile)
		}
	}
	if !rep.OK() || (probe != nil && contradicted(probe)) {
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

func printDoctor(w io.Writer, rep *m365.DoctorReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOKEN\tSCOPE\tSTATUS\tROLES")
	for _, t := range rep.Tokens {
		status := "ok"
		if !t.OK {
			status = "error: " + t.Error
		} else if !t.Expires.IsZero() {
			status = "ok, expires " + t.Expires.Format("2006-01-02 15:04Z")
		}
		if t.OK && t.Credential != "" {
			status += ", " + t.Credential
		}
		roles := strings.Join(t.Roles, ", ")
		if len(t.DirectoryRoles) > 0 {
			roles += " [" + strings.Join(t.DirectoryRoles, ", ") + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Audience, t.Scope, status, roles)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tREADABLE\tDETAIL")
	for _, s := range rep.Sections {
		readable := "yes"
		if !s.Readable {
			readable = "no"
		}
		var detail []string
		for _, m := range s.Missing {
			detail = append(detail, "missing "+m)
		}
		for _, m := range s.Warnings {
			detail = append(detail, "warning: "+m)
		}
		if len(detail) == 0 {
			detail = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Section, readable, detail[0])
		for _, d := range detail[1:] {
			fmt.Fprintf(tw, "\t\t%s\n", d)
		}
	}
	tw.Flush()
}
