package app

import (
	"context"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/tenant"
)

// resyncKey is the token recording when a section was last read in full.
func resyncKey(sec tenant.Section) string { return string(sec) + "/resync" }

// rollingKey is the token recording when a section read in rolling turns
// (the links section) last completed; rolling lists those sections.
func rollingKey(sec tenant.Section) string { return string(sec) + "/rolling" }

var rolling = map[tenant.Section]bool{tenant.SectionLinks: true}

// DeepEvery is how many periods (FullEvery) apart a unit's rolling full
// reads are deep: Anyone links' permissions and the site's users read
// again even when the sharing-link groups confirm the stored links. Twelve
// days bounds how long a change the delta missed (an Anyone link's
// settings, a direct grant) can go unseen; a deep drive costs about 80 RU
// more than one that is not at 10 RU a SharePoint REST read, and twelve
// rather than ten keeps a day of 1% change within 5% of the daily cap at
// that cost with room to spare (docs/scale.md).
const DeepEvery = 12

// State is one scan's incremental-collection state (m365.State) backed by
// the store: delta tokens from store.DeltaToken, the previous objects of a
// section from store.CurrentObjects. Tokens the sources hand back are held
// until the scan is recorded: Tokens returns those of the sections that
// completed, for store.ScanInput.DeltaTokens, so that a section that
// failed keeps its old tokens and objects together.
//
// Every FullEvery, each section is read in full once: its tokens are
// withheld from the sources, which then read everything, so that drift
// between the incremental view and the tenant cannot last. Token keys
// start with their section's name and a slash ("links/drive/…").
type State struct {
	st        stateStore
	tenant    string
	fullEvery time.Duration
	now       time.Time

	mu     sync.Mutex
	full   map[tenant.Section]bool
	tokens map[tenant.Section]map[string]string
	// prev is when a rolling section last completed (zero: never, or not
	// read yet).
	prev map[tenant.Section]time.Time
}

// A change scan's links section is scoped to the drives it read only
// when its state can read part of the stored links.
var _ interface {
	m365.State
	m365.RollingState
	m365.ScopedState
	m365.PartReadState
} = (*State)(nil)

// stateStore is what a scan's state reads: tokens and the current objects
// of incremental sections.
type stateStore interface {
	DeltaToken(ctx context.Context, tenantName, key string) (string, error)
	CurrentObjects(ctx context.Context, tenantName string, sec tenant.Section, fn func(drift.Object) error) error
	CurrentObjectsIn(ctx context.Context, tenantName string, sec tenant.Section, prefixes []string, fn func(drift.Object) error) error
}

// NewState returns the state of one scan of a tenant. fullEvery <= 0
// means config.DefaultFullScanEvery; now is the scan's start.
func NewState(st stateStore, tenantName string, fullEvery time.Duration, now time.Time) *State {
	if fullEvery <= 0 {
		fullEvery = config.DefaultFullScanEvery
	}
	return &State{st: st, tenant: tenantName, fullEvery: fullEvery, now: now,
		full: map[tenant.Section]bool{}, tokens: map[tenant.Section]map[string]string{}, prev: map[tenant.Section]time.Time{}}
}

// fullRead reports whether sec is due for a full read: never read in full
// (no record), or last read in full FullEvery ago or more. An unreadable
// record also means a full read, the safe side.
func (s *State) fullRead(ctx context.Context, sec tenant.Section) bool {
	s.mu.Lock()
	due, known := s.full[sec]
	s.mu.Unlock()
	if known {
		return due
	}
	key := resyncKey(sec)
	if rolling[sec] {
		key = rollingKey(sec)
	}
	v, err := s.st.DeltaToken(ctx, s.tenant, key)
	t, perr := time.Parse(time.RFC3339, v)
	if rolling[sec] {
		// Read in turns: the whole section only when its last completion
		// is unknown or unreadable or in the future; else each unit when
		// its turn comes (Turn).
		due = err != nil || perr != nil || t.After(s.now)
	} else {
		due = err != nil || perr != nil || s.now.Sub(t) >= s.fullEvery || t.After(s.now.Add(s.fullEvery))
	}
	s.mu.Lock()
	s.full[sec] = due
	if !due && rolling[sec] {
		s.prev[sec] = t
	}
	s.mu.Unlock()
	return due
}

// Turn says whether a unit of the links section (a token key: a drive,
// the site inventory) is due for a full read in this scan. Each unit has
// a fixed offset in the period, from a hash of its key: its turns come at
// offset + k*FullEvery. A unit is due when a turn of it falls after the
// section's last completed collection and at or before this scan: the
// windows of completed collections follow one another, so every unit is
// read in full at the first completed scan at or after each of its turns,
// at most FullEvery plus one scan interval apart, while each scan reads
// the units whose turns fell since the last (about interval/FullEvery of
// them). A scan that does not complete leaves the window open: its units
// are due again at the next. Every DeepEvery-th turn of a unit is deep.
func (s *State) Turn(ctx context.Context, unit string) m365.Turn {
	sec := sectionOf(unit)
	if !rolling[sec] || s.fullRead(ctx, sec) {
		return m365.Turn{Full: s.fullRead(ctx, sec), Deep: true}
	}
	s.mu.Lock()
	prev := s.prev[sec]
	s.mu.Unlock()
	return turn(unit, prev, s.now, s.fullEvery)
}

// turn is Turn's arithmetic, on nanoseconds since the Unix epoch.
func turn(unit string, prev, now time.Time, every time.Duration) m365.Turn {
	f := max(int64(every), 1)
	h := fnv.New64a()
	h.Write([]byte(unit))
	sum := h.Sum64()
	off := int64(sum % uint64(f))
	deepOff := int64((sum / uint64(f)) % DeepEvery)
	kNow := floorDiv(now.UnixNano()-off, f)
	kPrev := floorDiv(prev.UnixNano()-off, f)
	if kNow <= kPrev {
		return m365.Turn{}
	}
	t := m365.Turn{Full: true, Deep: kNow-kPrev >= DeepEvery}
	for k := kPrev + 1; k <= kNow && !t.Deep; k++ {
		t.Deep = (k+deepOff)%DeepEvery == 0
	}
	return t
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func sectionOf(key string) tenant.Section {
	sec, _, _ := strings.Cut(key, "/")
	return tenant.Section(sec)
}

// DeltaToken returns the stored token, or "" when the key's section is
// due for a full read.
func (s *State) DeltaToken(ctx context.Context, key string) (string, error) {
	if s.fullRead(ctx, sectionOf(key)) {
		return "", nil
	}
	return s.st.DeltaToken(ctx, s.tenant, key)
}

// Previous streams the section's objects as of its last complete
// collection.
func (s *State) Previous(ctx context.Context, sec tenant.Section, fn func([]byte) error) error {
	return s.st.CurrentObjects(ctx, s.tenant, sec, func(o drift.Object) error { return fn(o.Doc) })
}

// PreviousIn streams the section's stored objects whose keys start with
// one of prefixes (m365.ScopedState).
func (s *State) PreviousIn(ctx context.Context, sec tenant.Section, prefixes []string, fn func([]byte) error) error {
	return s.st.CurrentObjectsIn(ctx, s.tenant, sec, prefixes, func(o drift.Object) error { return fn(o.Doc) })
}

// SaveDeltaTokens holds a completed section's new tokens until the scan is
// recorded. After a full read it also records when that read happened.
func (s *State) SaveDeltaTokens(sec tenant.Section, toks map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.hold(sec, toks)
	if rolling[sec] {
		m[rollingKey(sec)] = s.now.UTC().Format(time.RFC3339Nano)
	} else if s.full[sec] {
		m[resyncKey(sec)] = s.now.UTC().Format(time.RFC3339)
	}
}

// SavePartTokens is SaveDeltaTokens for a read of some units of a section
// (the drives change notifications named): their tokens are kept, but the
// read does not count as a completed collection of the section, so the
// rolling re-read's window stays where the last whole read left it and
// the next whole read still takes every turn that fell since.
func (s *State) SavePartTokens(sec tenant.Section, toks map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold(sec, toks)
}

// hold adds toks to the section's held tokens and returns them; s.mu is
// held by the caller.
func (s *State) hold(sec tenant.Section, toks map[string]string) map[string]string {
	m := s.tokens[sec]
	if m == nil {
		m = map[string]string{}
		s.tokens[sec] = m
	}
	for k, v := range toks {
		m[k] = v
	}
	return m
}

// Tokens returns the tokens to store with the scan: those of the sections
// the snapshot holds as complete, none of the others.
func (s *State) Tokens(snap *tenant.Snapshot) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for sec, toks := range s.tokens {
		if !snap.Complete(sec) {
			continue
		}
		for k, v := range toks {
			out[k] = v
		}
	}
	return out
}
