package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/rules"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Inspect the built-in rules",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newRulesListCmd())
	return cmd
}

func newRulesListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every built-in rule with its severity and references",
		Long: `List prints every built-in rule: ID, section, default severity, title, and the
CIS and CISA SCuBA controls it implements. The JSON format adds the rationale,
the remediation and Microsoft documentation links.`,
		Example: `  sharedrift rules list
  sharedrift rules list --format json | jq '.[] | select(.references.scuba)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			metas := make([]rules.Meta, 0, len(rules.Builtin()))
			for _, r := range rules.Builtin() {
				metas = append(metas, r.Meta())
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			switch format {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(metas); err != nil {
					return fmt.Errorf("encode rules: %w", err)
				}
			case "table":
				tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSECTION\tSEVERITY\tTITLE\tCIS\tSCUBA")
				for _, m := range metas {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Section, m.Severity, m.Title,
						orDash(strings.Join(m.References.CIS, ", ")), orDash(strings.Join(m.References.SCuBA, ", ")))
				}
				if err := tw.Flush(); err != nil {
					return fmt.Errorf("write rules: %w", err)
				}
			default:
				return usagef("--format: %q, expected table or json", format)
			}
			if err := w.Flush(); err != nil {
				return fmt.Errorf("write rules: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
