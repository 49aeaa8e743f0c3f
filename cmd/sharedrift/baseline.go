package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/baselines"
	"github.com/sharedrift/sharedrift/rules"
)

func newBaselineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "List, validate and show baselines",
		Long: `A baseline says what a tenant's sharing settings should be. sharedrift ships
` + strings.Join(baselines.Names(), ", ") + `; your own baseline is a YAML file that may
extend one of them (see docs/baselines.md).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newBaselineListCmd(), newBaselineValidateCmd(), newBaselineShowCmd())
	return cmd
}

func newBaselineListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the shipped baselines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, n := range baselines.Names() {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), n); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newBaselineValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a baseline file, including everything it extends",
		Long: `Validate loads a baseline file strictly, resolves its extends: chain and checks
that its exceptions name existing rules. On the first problem it prints the file,
the key path, the value and what was expected, and exits 1.`,
		Example: `  sharedrift baseline validate ./our-baseline.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := baselines.LoadFile(args[0])
			if err != nil {
				return err
			}
			if err := rules.CheckBaseline(b); err != nil {
				return err
			}
			msg := args[0] + ": ok"
			if len(b.Chain) > 1 {
				msg += " (extends " + strings.Join(b.Chain[1:], " < ") + ")"
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
}

func newBaselineShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print a baseline with everything it extends merged in, as YAML",
		Example: `  sharedrift baseline show recommended
  sharedrift baseline show ./our-baseline.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := loadBaseline(args[0])
			if err != nil {
				return err
			}
			out, err := b.YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
}
