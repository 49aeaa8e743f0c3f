package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMigrateCmd() *cobra.Command {
	var sf *storeFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending store schema migrations",
		Long: `Migrate brings the store's schema up to this binary's version. Every command that
opens the store does the same on start; run it explicitly before rolling out a new
version to many replicas. It is safe to run from several processes at once. A schema
newer than this binary is refused: upgrade sharedrift instead.`,
		Example: `  sharedrift migrate --store "postgres://sharedrift@db/sharedrift?sslmode=verify-full"
  sharedrift migrate --state-dir /var/lib/sharedrift`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := sf.open(cmd.Context(), logger(cmd))
			if err != nil {
				return err
			}
			defer s.Close()
			cur, _, err := s.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: schema at version %d, up to date\n", s.Target(), cur)
			return nil
		},
	}
	sf = addStoreFlags(cmd.Flags())
	return cmd
}
