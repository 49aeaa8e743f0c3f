package m365

import (
	"context"
	"fmt"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// SourceOptions tunes the sources.
type SourceOptions struct {
	// OnDeltaLink receives each drive's final delta link after a full link
	// scan, so that a later scan can ask only for changes.
	OnDeltaLink func(driveID, deltaLink string)
	// State, when set, makes collection incremental: sources resume from
	// the delta tokens it holds and merge the changes onto the objects of
	// the last complete collection, so that each section is still complete.
	State State
	// Concurrency bounds the drives read at once (default 8); the pacer
	// bounds the requests in flight on top of it.
	Concurrency int
	// GuestRefresh is how often guests are read in full (sign-in activity
	// of everyone, memberships); between full reads only changes are read.
	// Default 24 hours.
	GuestRefresh time.Duration
	// SitePropertiesEvery is how often, with a State, the sites' CSOM
	// properties (sharing level, domain lists, label) are read for every
	// site; no change feed reports them. Between those reads only sites
	// the sites delta reports as added or changed are read. 0 means every
	// scan.
	SitePropertiesEvery time.Duration
	// SitePropertiesPages, with a State, bounds the pages of site
	// properties an incremental scan reads when they are due: each such
	// scan reads the next this many pages, from where the previous one
	// stopped, wrapping around after the last, so that a sharing change on
	// an existing site is seen within ceil(pages/SitePropertiesPages) such
	// scans. Sites outside the window keep their stored properties; sites
	// the sites delta reports are still read. 0 means every page. A full
	// read (no state, resync) reads every page regardless.
	SitePropertiesPages int
	// Now is the collector's clock (default time.Now): the service's time,
	// as in the sign-in activity filters.
	Now func() time.Time
	// Started is when the scan is said to start (default Now()). The
	// schedules kept between scans (the guests' full refresh, the site
	// properties' window) are measured from it, as the rolling re-read's
	// turns are, so they follow the scans and not the service's clock.
	Started time.Time
	// TempDir is where a large tenant's links are spooled (default: the
	// system's temporary directory); LinkRun is how many links are held in
	// memory before they are (default tenant.DefaultLinkRun).
	TempDir string
	LinkRun int
	// StoredAnyoneBatch is how many drives' stored Anyone links a rolling
	// full read holds at once when more drives than that are verified
	// (default 256); see storedLinks.
	StoredAnyoneBatch int
	// OnlyDrives, with a State holding a drive inventory, reads only these
	// drives (from their delta links) and keeps every other drive's stored
	// links and tokens as they are; the inventory is not refreshed. Change
	// notifications use it to read just the drives they named. Without a
	// stored inventory it is ignored. With a ScopedState, and when every
	// drive named is in the inventory and read from its delta link, the
	// section holds only these drives' links and is scoped to them;
	// otherwise it holds every stored link, as a whole read would. The
	// sites section then reads only the sites of these drives, scoped to
	// them, when the stored inventory names every one (otherwise all).
	OnlyDrives []string
	// Discovery is how a full read of a site finds its links:
	// DiscoveryGroups or DiscoveryItems ("" means items).
	Discovery string
	// PeopleLinkDetail makes group discovery read who links for specific
	// people were given to, for rules that judge recipients: from their
	// groups' members, else from the items' permissions.
	PeopleLinkDetail bool
}

// State is what incremental collection keeps between scans. Tokens handed
// to SaveDeltaTokens must be stored together with the section's objects
// (store.ScanInput.DeltaTokens), so that tokens and objects always match.
type State interface {
	// DeltaToken returns the stored token for key, "" when none.
	DeltaToken(ctx context.Context, key string) (string, error)
	// Previous streams the JSON documents of a section's objects as of its
	// last complete collection.
	Previous(ctx context.Context, sec tenant.Section, fn func(doc []byte) error) error
	// SaveDeltaTokens receives the new tokens of a section that completed.
	SaveDeltaTokens(sec tenant.Section, tokens map[string]string)
}

// ScopedState is a State that can also stream part of a section's stored
// objects: those whose keys start with one of prefixes. A links section
// read for some drives (OnlyDrives) then merges their changes onto those
// drives' stored links alone, and its snapshot says so
// (tenant.SectionStatus.Scope), instead of carrying every stored link.
type ScopedState interface {
	PreviousIn(ctx context.Context, sec tenant.Section, prefixes []string, fn func(doc []byte) error) error
}

// PartReadState is a State told when a section's tokens come from a read
// of some of its units only (OnlyDrives): such a read is not a completed
// collection of the section, so the rolling full re-read's window must not
// move past turns it did not take.
type PartReadState interface {
	SavePartTokens(sec tenant.Section, tokens map[string]string)
}

// RollingState is a State that spreads the links section's full re-read
// over the period: each drive, and the site inventory, has its turn once
// a period instead of all of them at once.
type RollingState interface {
	// Turn says whether the unit (a token key) is due for a full read in
	// this scan, and whether that read is deep: every Anyone link's
	// permission read again. A full read that is not deep keeps the
	// stored detail of Anyone links its sharing-link groups confirm.
	Turn(ctx context.Context, unit string) Turn
}

// Turn is a unit's turn in a rolling full re-read.
type Turn struct {
	Full, Deep bool
}

func (o SourceOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// started is the scan's start for schedules (Started, else now()).
func (o SourceOptions) started() time.Time {
	if !o.Started.IsZero() {
		return o.Started
	}
	return o.now()
}

// Sources returns one source per section, in canonical section order.
func Sources(c *Client, o SourceOptions) []scanner.Source {
	return []scanner.Source{
		sharePointSource{c}, sitesSource{c: c, o: o}, linksSource{c: c, o: o},
		guestsSource{c: c, o: o}, entraSource{c}, groupsSource{c}, exchangeSource{c},
		teamsSource{c}, powerBISource{c},
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
