package main

import (
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
  sharedrift changes --tenant fabrikam --section links --kind added
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
			s, name, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			f.Tenant = name
			defer s.Close()
			cs, err := s.Changes(cmd.Context(), f)
			if err != nil {
				return err
			}
			return writeList(cmd.OutOrStdout(), lf, cs, "no changes",
				[]string{"DETECTED (UTC)", "TENANT", "KIND", "SECTION", "OBJECT", "FIELDS"},
				func(c *store.Change) []string {
					obj := c.Name
					if obj == "" {
						obj = c.Key
					}
					fields := make([]string, 0, len(c.Fields))
					for _, fc := range c.Fields {
						fields = append(fields, fc.String())
					}
					return []string{fmtTime(c.DetectedAt), c.Tenant, string(c.Kind), string(c.Section), obj, strings.Join(fields, "; ")}
				})
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
