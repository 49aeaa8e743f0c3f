package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/notify"
	"github.com/sharedrift/sharedrift/notify/destinations"
	"github.com/sharedrift/sharedrift/store"
)

func newNotifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Check notification destinations and the delivery outbox",
		Long: `Notifications go through an outbox in the store: the daemon enqueues one message per
destination for every new, escalated, reopened or resolved finding (and reminders and
digests), then delivers them with retries. "notify test" sends a sample message now;
"notify status" shows what is pending, sent and dead-lettered per destination.`,
	}
	cmd.AddCommand(newNotifyTestCmd(), newNotifyStatusCmd())
	return cmd
}

// notifyConfig loads the configuration file named by --config, else by
// $SHAREDRIFT_CONFIG.
func notifyConfig(path string) (*config.Config, error) {
	if path == "" {
		path = os.Getenv(envConfig)
	}
	if path == "" {
		return nil, usagef("--config: missing; the destinations are in the configuration file (or set $%s)", envConfig)
	}
	if err := checkConfigExists(path); err != nil {
		return nil, err
	}
	return config.Load(config.Options{File: path, Env: os.Environ()})
}

func newNotifyTestCmd() *cobra.Command {
	var cfgPath, dest string
	cmd := &cobra.Command{
		Use:     "test --destination NAME",
		Short:   "Send a sample notification to one destination",
		Example: `  sharedrift notify test --config sharedrift.yaml --destination ops-slack`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dest == "" {
				return usagef("--destination: missing; name one of the configured destinations")
			}
			cfg, err := notifyConfig(cfgPath)
			if err != nil {
				return err
			}
			d, ok := cfg.Notify.Lookup(dest)
			if !ok {
				var names []string
				for _, d := range cfg.Notify.Destinations {
					names = append(names, d.Name)
				}
				return usagef("--destination: %q is not configured (configured: %v)", dest, names)
			}
			n, err := destinations.One(d, destinations.Options{Logger: logger(cmd)})
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err := destinations.Check(ctx, map[string]notify.Notifier{dest: n}); err != nil {
				return err
			}
			if _, err := n.Notify(ctx, destinations.Sample(dest, time.Now())); err != nil {
				return fmt.Errorf("destination %q: %w", dest, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent a test notification to %s (%s)\n", dest, d.Type)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", configUsage)
	cmd.Flags().StringVar(&dest, "destination", "", "destination name from notify.destinations")
	return cmd
}

// notifyStatus is what `notify status` prints.
type notifyStatus struct {
	Destinations []store.OutboxCount   `json:"destinations"`
	DeadLetters  []store.OutboxMessage `json:"deadLetters"`
}

func newNotifyStatusCmd() *cobra.Command {
	var format, tenantName string
	var dead int
	var sf *storeFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show pending, sent and dead-lettered notifications per destination",
		Example: `  sharedrift notify status --config sharedrift.yaml
  sharedrift notify status --state-dir /var/lib/sharedrift --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usagef("--format: %q, expected table or json", format)
			}
			st, name, err := sf.openTenant(cmd.Context(), logger(cmd), tenantName)
			if err != nil {
				return err
			}
			defer st.Close()
			var out notifyStatus
			if out.Destinations, err = st.OutboxStats(cmd.Context(), name); err != nil {
				return err
			}
			if dead > 0 {
				all, err := st.OutboxMessages(cmd.Context(), store.OutboxFilter{State: store.OutboxDead, Tenant: name})
				if err != nil {
					return err
				}
				if len(all) > dead {
					all = all[len(all)-dead:]
				}
				for i := range all {
					all[i].Payload = nil
				}
				out.DeadLetters = all
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return printNotifyStatus(cmd.OutOrStdout(), &out)
		},
	}
	sf = addStoreFlags(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.Flags().IntVar(&dead, "dead", 10, "list this many of the latest dead letters")
	cmd.Flags().StringVar(&tenantName, "tenant", "", "only notifications about this tenant (default: all)")
	return cmd
}

func printNotifyStatus(w io.Writer, s *notifyStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DESTINATION\tSTATE\tCOUNT\tOLDEST")
	if len(s.Destinations) == 0 {
		fmt.Fprintln(tw, "(outbox empty)\t\t\t")
	}
	for _, c := range s.Destinations {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", c.Destination, c.State, c.Count, c.Oldest.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.DeadLetters) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nDead letters (latest first):")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDESTINATION\tKIND\tCREATED\tATTEMPTS\tREASON")
	for i := len(s.DeadLetters) - 1; i >= 0; i-- {
		m := s.DeadLetters[i]
		reason := m.LastError
		if len(reason) > 120 {
			reason = reason[:119] + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", m.ID, m.Destination, m.Kind, m.CreatedAt.UTC().Format(time.RFC3339), m.Attempts, reason)
	}
	return tw.Flush()
}
