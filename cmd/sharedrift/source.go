package main

import (
	"context"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sharedrift/sharedrift/tenant"
)

// snapshotSource is one way to obtain a snapshot: a saved file today, a
// fixture directory or a live tenant later. Each source registers its own
// flags; a command that needs a snapshot uses exactly one source, the one
// whose flags were set.
type snapshotSource interface {
	// addFlags registers the source's flags.
	addFlags(fs *pflag.FlagSet)
	// chosen reports whether the user set this source's flags.
	chosen() bool
	// usage names the source's flags for messages, e.g. "--snapshot FILE".
	usage() string
	// load produces the snapshot.
	load(ctx context.Context, log *slog.Logger) (*tenant.Snapshot, error)
}

// snapshotSources lists every snapshot source, in the order help and errors
// name them. A new source is one more line here.
func snapshotSources() []snapshotSource {
	return []snapshotSource{
		&fileSource{},
		&fixtureSource{}, &liveSource{},
	}
}

// snapshotInput is the snapshot-selecting flags of one command.
type snapshotInput struct {
	sources []snapshotSource
	// state, when set, lets sources that collect resume from it.
	state stateFunc
	// progress is the --progress flag of sources that collect.
	progress progressOpt
}

// progressive is a source that collects and can show its progress.
type progressive interface {
	showProgress(p *progressOpt, w func() io.Writer)
}

// resumable is a source that can collect incrementally.
type resumable interface{ resumeFrom(fn stateFunc) }

// addSnapshotFlags registers every source's flags on cmd.
func addSnapshotFlags(cmd *cobra.Command) *snapshotInput {
	in := &snapshotInput{sources: snapshotSources()}
	for _, s := range in.sources {
		s.addFlags(cmd.Flags())
		if p, ok := s.(progressive); ok {
			p.showProgress(&in.progress, cmd.ErrOrStderr)
		}
	}
	addProgressFlag(cmd.Flags(), &in.progress)
	return in
}

// load returns the snapshot from the one source the user chose.
func (in *snapshotInput) load(ctx context.Context, log *slog.Logger) (*tenant.Snapshot, error) {
	var chosen, all []string
	var src snapshotSource
	for _, s := range in.sources {
		all = append(all, s.usage())
		if s.chosen() {
			chosen = append(chosen, s.usage())
			src = s
		}
	}
	switch len(chosen) {
	case 0:
		return nil, usagef("no snapshot given: use %s", strings.Join(all, " or "))
	case 1:
		if r, ok := src.(resumable); ok && in.state != nil {
			r.resumeFrom(in.state)
		}
		return src.load(ctx, log)
	default:
		return nil, usagef("%s cannot be combined; choose one", strings.Join(chosen, " and "))
	}
}

// fileSource reads a saved snapshot JSON file.
type fileSource struct{ path string }

func (f *fileSource) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.path, "snapshot", "", "read the tenant snapshot from this JSON `FILE` (see docs/snapshot.md)")
}

func (f *fileSource) chosen() bool  { return f.path != "" }
func (f *fileSource) usage() string { return "--snapshot FILE" }

func (f *fileSource) load(_ context.Context, log *slog.Logger) (*tenant.Snapshot, error) {
	s, err := tenant.ReadFile(f.path)
	if err != nil {
		return nil, err
	}
	log.Debug("snapshot loaded", "path", f.path, "tenant", s.Tenant, "sites", len(s.Sites), "links", s.LinkCount(), "guests", len(s.Guests))
	return s, nil
}

// warnIncomplete logs each section that was not fully collected, since its
// rules can only report unknown.
func warnIncomplete(log *slog.Logger, s *tenant.Snapshot) {
	for _, sec := range tenant.AllSections {
		st, ok := s.Status[sec]
		switch {
		case !ok:
			log.Warn("section not collected; its rules report unknown", "section", string(sec))
		case st.State != tenant.StateComplete:
			log.Warn("section incomplete; its rules report unknown", "section", string(sec), "state", string(st.State), "error", st.Error)
		}
	}
}
