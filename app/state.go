package app

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/sharedrift/sharedrift/config"
	"github.com/sharedrift/sharedrift/drift"
	"github.com/sharedrift/sharedrift/tenant"
)

// resyncKey is the token recording when a section was last read in full.
func resyncKey(sec tenant.Section) string { return string(sec) + "/resync" }

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
}

// stateStore is what a scan's state reads: tokens and the current objects
// of incremental sections.
type stateStore interface {
	DeltaToken(ctx context.Context, tenantName, key string) (string, error)
	CurrentObjects(ctx context.Context, tenantName string, sec tenant.Section, fn func(drift.Object) error) error
}

// NewState returns the state of one scan of a tenant. fullEvery <= 0
// means config.DefaultFullScanEvery; now is the scan's start.
func NewState(st stateStore, tenantName string, fullEvery time.Duration, now time.Time) *State {
	if fullEvery <= 0 {
		fullEvery = config.DefaultFullScanEvery
	}
	return &State{st: st, tenant: tenantName, fullEvery: fullEvery, now: now,
		full: map[tenant.Section]bool{}, tokens: map[tenant.Section]map[string]string{}}
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
	v, err := s.st.DeltaToken(ctx, s.tenant, resyncKey(sec))
	t, perr := time.Parse(time.RFC3339, v)
	due = err != nil || perr != nil || s.now.Sub(t) >= s.fullEvery || t.After(s.now.Add(s.fullEvery))
	s.mu.Lock()
	s.full[sec] = due
	s.mu.Unlock()
	return due
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

// SaveDeltaTokens holds a completed section's new tokens until the scan is
// recorded. After a full read it also records when that read happened.
func (s *State) SaveDeltaTokens(sec tenant.Section, toks map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.tokens[sec]
	if m == nil {
		m = map[string]string{}
		s.tokens[sec] = m
	}
	for k, v := range toks {
		m[k] = v
	}
	if s.full[sec] {
		m[resyncKey(sec)] = s.now.UTC().Format(time.RFC3339)
	}
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
