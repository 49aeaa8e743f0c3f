package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/store"
)

func newHistoryCmd() *cobra.Command {
	var (
		tenantName, format, since string
		limit                     int
		sf                        *storeFlags
	)
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List recorded scans, newest first",
		Long: `History lists the scans recorded in the store: when they ran, whether every section
was collected completely, how many objects were seen and written (0 written means the
tenant did not change), the changes found and what happened to findings.`,
		Example: `  sharedrift history --tenant fabrikam
  sharedrift history --since 30d --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format)
			if err != nil {
				return err
			}
			f := store.ScanFilter{Tenant: tenantName, Limit: limit}
			if since != "" {
				if f.Since, err = parseSince(since, time.Now()); err != nil {
					return usagef("--since: %w", err)
				}
			}
			s, name, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			f.Tenant = name
			defer s.Close()
			scans, err := s.Scans(cmd.Context(), f)
			if err != nil {
				return err
			}
			return writeList(cmd.OutOrStdout(), lf, scans, "no scans recorded",
				[]string{"SCAN", "TENANT", "STARTED (UTC)", "STATUS", "WRITTEN/SEEN", "CHANGES", "NEW", "RESOLVED", "OPEN", "INCOMPLETE"},
				func(sc *store.Scan) []string {
					return []string{fmt.Sprint(sc.ID), sc.Tenant, fmtTime(sc.StartedAt), string(sc.Status),
						fmt.Sprintf("%d/%d", sc.ObjectsWritten, sc.ObjectsSeen), fmt.Sprint(sc.Changes),
						fmt.Sprint(sc.FindingsNew), fmt.Sprint(sc.FindingsResolved), fmt.Sprint(sc.FindingsOpen), incomplete(*sc)}
				})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tenantName, "tenant", "", "only this tenant (default: all)")
	fl.StringVar(&since, "since", "", "only scans started within `AGE` (7d, 12h) or since a date")
	fl.IntVar(&limit, "limit", 50, "at most `N` scans (0: no limit)")
	addListFormat(fl, &format)
	sf = addStoreFlags(fl)
	return cmd
}

// incomplete lists the sections that were not complete, with their state.
func incomplete(sc store.Scan) string {
	var out []string
	for sec, st := range sc.Sections {
		if st.State != "complete" {
			out = append(out, string(sec)+":"+string(st.State))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}
