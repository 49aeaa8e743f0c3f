package tenant

import (
	"encoding/json"
	"errors"
)

// DefaultLinkRun is how many links a LinkSpool holds in memory before it
// writes them, sorted, to its file. A tenant with fewer links never touches
// the disk.
const DefaultLinkRun = 16384

// ErrSpoolSealed is returned by a spool's Add after the spool was read.
var ErrSpoolSealed = errors.New("spool already read")

// LinkSpool collects sharing links without holding a large tenant's links
// in memory: it keeps up to a run of links, and writes each full run,
// sorted by key, to an unlinked temporary file. Reading merges the runs, so
// links come back in key order however they were added. Add is for one
// writer; once read, the spool is sealed and can be read again, also
// concurrently.
type LinkSpool struct{ sp spool[Link] }

// NewLinkSpool returns an empty spool whose file, if it needs one, goes
// to dir (the system's temporary directory when empty). runSize <= 0
// means DefaultLinkRun.
func NewLinkSpool(dir string, runSize int) *LinkSpool {
	if runSize <= 0 {
		runSize = DefaultLinkRun
	}
	return &LinkSpool{sp: spool[Link]{what: "link spool", dir: dir, runSize: runSize,
		key: (*Link).Key,
		enc: func(b []byte, l *Link) ([]byte, error) {
			m, err := json.Marshal(l)
			return append(b, m...), err
		},
		dec: func(b []byte, l *Link) error { return json.Unmarshal(b, l) },
	}}
}

// Add appends a copy of l.
func (sp *LinkSpool) Add(l *Link) error { return sp.sp.add(l) }

// Len is the number of links added.
func (sp *LinkSpool) Len() int { return sp.sp.n }

// Spilled reports whether the spool wrote links to its file.
func (sp *LinkSpool) Spilled() bool { return sp.sp.f != nil }

// Each calls fn for every link in key order and stops at the first error
// fn returns. The *Link is valid only during the call. The first Each
// seals the spool.
func (sp *LinkSpool) Each(fn func(*Link) error) error {
	return sp.sp.each(func(_ string, l *Link) error { return fn(l) })
}

// InMemory returns the links when the spool never wrote to its file.
func (sp *LinkSpool) InMemory() ([]Link, bool) { return sp.sp.inMemory() }

// Close frees the spool's file. A closed spool reads as empty.
func (sp *LinkSpool) Close() error { return sp.sp.close() }

// EachLink calls fn for every link of the snapshot: Links first, then
// those of an attached spool (see SetLinks). The *Link must not be kept
// after fn returns.
func (s *Snapshot) EachLink(fn func(*Link) error) error {
	if len(s.omit) > 0 {
		inner := fn
		fn = func(l *Link) error {
			if s.omit[l.Key()] {
				return nil
			}
			return inner(l)
		}
	}
	for i := range s.Links {
		if err := fn(&s.Links[i]); err != nil {
			return err
		}
	}
	if s.spool != nil {
		return s.spool.Each(fn)
	}
	return nil
}

// WithLinks returns a shallow copy of s whose links are exactly links.
func (s *Snapshot) WithLinks(links []Link) *Snapshot {
	c := *s
	c.Links, c.spool, c.omit = links, nil, nil
	return &c
}

// WithoutLinks returns a shallow copy of s whose EachLink leaves out the
// links with the given keys (on top of those s leaves out): a view of the
// snapshot after the links were deleted, without copying a large tenant's
// links. The copy shares s's link spool; closing either closes it.
func (s *Snapshot) WithoutLinks(keys ...string) *Snapshot {
	c := *s
	c.omit = make(map[string]bool, len(s.omit)+len(keys))
	for k := range s.omit {
		c.omit[k] = true
	}
	for _, k := range keys {
		c.omit[k] = true
	}
	return &c
}

// LinksInKeyOrder reports whether EachLink visits the links in ascending
// key order (bytewise), as a spooled section's merged runs come: true when
// all of them are in the spool.
func (s *Snapshot) LinksInKeyOrder() bool { return len(s.Links) == 0 && s.spool != nil }

// LinkCount is the number of links EachLink visits, counting those a
// WithoutLinks view leaves out (it is not used on such views).
func (s *Snapshot) LinkCount() int {
	n := len(s.Links)
	if s.spool != nil {
		n += s.spool.Len()
	}
	return n
}

// SetLinks makes sp the snapshot's links: a spool that stayed in memory
// becomes Links, a larger one stays attached and is read by EachLink.
func (s *Snapshot) SetLinks(sp *LinkSpool) {
	if s.spool != nil && s.spool != sp {
		s.spool.Close()
	}
	s.spool = nil
	if links, ok := sp.InMemory(); ok {
		s.Links = links
		return
	}
	s.Links = nil
	s.spool = sp
}

// TakeLinks moves the links of src (slice and spool) to s.
func (s *Snapshot) TakeLinks(src *Snapshot) {
	if s.spool != nil && s.spool != src.spool {
		s.spool.Close()
	}
	s.Links, s.spool = src.Links, src.spool
	src.Links, src.spool = nil, nil
}

// Close frees an attached link spool; the snapshot then has no spooled
// links. Closing a snapshot without one does nothing.
func (s *Snapshot) Close() error {
	if s.spool == nil {
		return nil
	}
	err := s.spool.Close()
	s.spool = nil
	return err
}
