package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

type snapshotOptions struct {
	input  *snapshotInput
	out    string
	record string
}

func newSnapshotCmd() *cobra.Command {
	o := &snapshotOptions{}
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Collect a tenant's sharing state and save it as a snapshot",
		Long: `Snapshot collects a tenant's external-sharing state — live with --config and
--tenant, or from a fixture directory with --fixture — and writes the normalized
snapshot JSON (see docs/snapshot.md) to -o FILE or standard output.

--record DIR also saves every raw response the collector read, in the fixture
layout of testdata/tenants/README.md, so a real tenant's answers can be replayed
with --fixture DIR. Paging links are dropped and no request header, token or
secret is written. The recording holds the tenant's names, sites and guests:
review it before sharing it.

Sections that could not be read completely are kept with their status and
logged; the command still succeeds.`,
		Example: `  # Save a live tenant's snapshot
  sharedrift snapshot --config sharedrift.yaml --tenant contoso -o contoso.json

  # Record a live tenant as a replayable fixture
  sharedrift snapshot --config sharedrift.yaml --tenant contoso --record testdata/tenants/contoso-live

  # Normalize a fixture tenant
  sharedrift snapshot --fixture testdata/tenants/fabrikam -o fabrikam.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSnapshot(cmd, o) },
	}
	o.input = addSnapshotFlags(cmd)
	cmd.Flags().StringVarP(&o.out, "output", "o", "", "write the snapshot to `FILE` instead of standard output")
	cmd.Flags().StringVar(&o.record, "record", "", "also save the raw responses as a fixture tenant in `DIR` (must not exist or be empty)")
	return cmd
}

func runSnapshot(cmd *cobra.Command, o *snapshotOptions) error {
	log := logger(cmd)
	var rec *m365test.Recorder
	var meta func() m365test.Meta
	if o.record != "" {
		if err := checkEmptyDir(o.record); err != nil {
			return usagef("--record: %w", err)
		}
		rec = m365test.NewRecorder()
		for _, s := range o.input.sources {
			switch src := s.(type) {
			case *fixtureSource:
				if src.chosen() {
					src.record = rec
					meta = func() m365test.Meta { return src.meta }
				}
			case *liveSource:
				if src.chosen() {
					src.record = rec
					meta = func() m365test.Meta {
						return m365test.Meta{TenantID: src.tc.TenantID, SharePointTenant: src.tc.SharePointTenant}
					}
				}
			}
		}
		if meta == nil {
			return usagef("--record needs --config FILE --tenant NAME or --fixture DIR")
		}
	}
	snap, err := o.input.load(cmd.Context(), log)
	if err != nil {
		return err
	}
	warnIncomplete(log, snap)
	var buf bytes.Buffer
	if err := tenant.Encode(&buf, snap); err != nil {
		return err
	}
	if rec != nil {
		m := meta()
		m.Tenant = snap.Tenant
		at := snap.CollectedAt
		m.Now = &at
		m.Roles, m.DirectoryRoles = nil, nil
		if err := rec.Write(o.record, m); err != nil {
			return err
		}
		log.Info("raw responses recorded", "dir", o.record)
	}
	if o.out == "" {
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(o.out, buf.Bytes())
}

// checkEmptyDir accepts a missing or empty directory, so a recording never
// mixes with older files.
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so a failed
// write never leaves half a snapshot behind.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
