package m365

import (
	"fmt"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// SourceOptions tunes the sources.
type SourceOptions struct {
	// OnDeltaLink receives each drive's final delta link after a full link
	// scan, so that a later scan can ask only for changes.
	OnDeltaLink func(driveID, deltaLink string)
}

// Sources returns one source per section, in canonical section order.
func Sources(c *Client, o SourceOptions) []scanner.Source {
	return []scanner.Source{
		sharePointSource{c}, sitesSource{c}, linksSource{c: c, on: o.OnDeltaLink},
		guestsSource{c}, entraSource{c}, groupsSource{c}, exchangeSource{c},
	}
}

// SourcesFor returns the sources of the named sections only.
func SourcesFor(c *Client, o SourceOptions, sections ...tenant.Section) ([]scanner.Source, error) {
	all := Sources(c, o)
	var out []scanner.Source
	for _, sec := range sections {
		found := false
		for _, s := range all {
			if s.Section() == sec {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown section %q, expected one of %v", sec, tenant.AllSections)
		}
	}
	return out, nil
}
