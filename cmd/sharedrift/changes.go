package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/store"
	"github.com/sharedrift/sharedrift/tenant"
)

func newChangesCmd() *cobra.Command {
	var (
		tenantName, format, since, section, kind string
		scanID                                   int64
		limit                                    int
		sf                                       *storeFlags
	)
	cmd := &cobra.Command{
		Use:   "changes",
		Short: "List what changed between consecutive complete scans",
		Long: `Changes lists objects added, removed or modified between consecutive complete
collections of a section, with the fields that changed. A section that was only
partly collected produces no changes, so missing data never shows up as a removal.`,
		Example: `  sharedrift changes --since 7d
  sharedrift changes --tenant fabrikam.onmicrosoft.com --section links --kind added
  sharedrift changes --scan 42 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			f := store.ChangeFilter{Tenant: tenantName, ScanID: scanID, Section: tenant.Section(section), Kind: drift.Kind(kind), Limit: limit}
			if since != "" {
				if f.Since, err = parseSince(since, time.Now()); err != nil {
					return usagef("--since: %w", err)
				}
			}
			if section != "" && !f.Section.Known() {
				return usagef("--section: %q, expected one of %v", section, tenant.AllSections)
			}
			switch f.Kind {
			case "", drift.Added, drift.Removed, drift.Modified:
			default:
				return usagef("--kind: %q, expected added, removed or modified", kind)
			}
			s, err := sf.openExisting(cmd.Context(), logger(cmd))
			if err != nil {
				return err
			}
			defer s.Close()
			if err := checkTenant(cmd.Context(), s, tenantName); err != nil {
				return err
			}
			cs, err := s.Changes(cmd.Context(), f)
			if err != nil {
				return err
			}
			if lf == "json" {
				if cs == nil {
					cs = []store.Change{}
				}
				return writeJSON(cmd.OutOrStdout(), cs)
			}
			if len(cs) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no changes")
				return nil
			}
			var rows [][]string
			for _, c := range cs {
				obj := c.Name
				if obj == "" {
					obj = c.Key
				}
				var fields []string
				for _, fc := range c.Fields {
					fields = append(fields, fc.String())
				}
				rows = append(rows, []string{fmtTime(c.DetectedAt), c.Tenant, string(c.Kind), string(c.Section), obj, strings.Join(fields, "; ")})
			}
			return table(cmd.OutOrStdout(), []string{"DETECTED (UTC)", "TENANT", "KIND", "SECTION", "OBJECT", "FIELDS"}, rows)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tenantName, "tenant", "", "only this tenant (default: all)")
	fl.StringVar(&since, "since", "7d", "changes detected within `AGE` (7d, 12h) or since a date; empty for all")
	fl.StringVar(&section, "section", "", "only this section")
	fl.StringVar(&kind, "kind", "", "only added, removed or modified")
	fl.Int64Var(&scanID, "scan", 0, "only changes found by scan `ID`")
	fl.IntVar(&limit, "limit", 0, "at most `N` changes (0: no limit)")
	addListFormat(fl, &format)
	sf = addStoreFlags(fl)
	return cmd
}
