package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
	"github.com/sharedrift/sharedrift/tenant"
)

// Keys of the guests section's tokens.
const (
	tokenGuestsDelta   = "guests/delta"   // users delta link
	tokenGuestsSignIns = "guests/signins" // time from which sign-ins are to be read again
	tokenGuestsFull    = "guests/full"    // time of the last full read
	tokenGuestsGroups  = "guests/groups"  // groups delta link (membership changes)
	tokenGuestsCount   = "guests/count"   // guests the last read kept: room reserved for the next
	signInsUnavailable = "unavailable"
)

// signInLag is how far back an incremental sign-in read reaches before the
// previous one: sign-in activity is recorded with some delay.
const signInLag = time.Hour

var refSelect = []string{"id", "displayName"}

// guestsSource reads guests: the list (sponsors expanded) at the largest
// page size, sign-in activity in its own pass at its page limit of 120,
// memberships in $batch. With a State, between full reads, it reads only
// users delta and the guests who signed in since the last read.
type guestsSource struct {
	c *Client
	o SourceOptions
}

func (guestsSource) Section() tenant.Section { return tenant.SectionGuests }

// TenantSized: every guest is held while the section is read
// (scanner.TenantSized).
func (guestsSource) TenantSized() bool { return true }

func (src guestsSource) refresh() time.Duration {
	if src.o.GuestRefresh > 0 {
		return src.o.GuestRefresh
	}
	return 24 * time.Hour
}

func (src guestsSource) Collect(ctx context.Context, snap *tenant.Snapshot) error {
	if st := src.o.State; st != nil {
		delta, _ := st.DeltaToken(ctx, tokenGuestsDelta)
		signIns, _ := st.DeltaToken(ctx, tokenGuestsSignIns)
		full, _ := st.DeltaToken(ctx, tokenGuestsFull)
		groups, _ := st.DeltaToken(ctx, tokenGuestsGroups)
		// Without a groups delta link membership changes cannot be seen:
		// read everything.
		if t, err := time.Parse(time.RFC3339, full); err == nil && delta != "" && signIns != "" && groups != "" && fresh(src.o.started().Sub(t), src.refresh()) {
			err := src.incremental(ctx, snap, delta, signIns, full, groups)
			if !IsStatus(err, http.StatusGone, http.StatusBadRequest) {
				return err
			}
			// An expired or refused delta link: read everything.
			snap.Guests = nil
		}
	}
	return src.full(ctx, snap)
}

// fresh reports whether a full read age ago is recent enough to read only
// changes. A read stamped more than a refresh in the future (a clock that
// jumped back, a stamp from another clock) is not trusted: read in full.
func fresh(age, refresh time.Duration) bool { return age < refresh && age > -refresh }

// groupsDeltaPath asks groups delta for membership changes only.
const groupsDeltaPath = "/groups/delta?$select=members"

func guestDeltaPath() string {
	return "/users/delta" + selectQuery(append(append([]string{}, guestSelect...), "userType"))
}

func (src guestsSource) full(ctx context.Context, snap *tenant.Snapshot) error {
	c := src.c
	start, at := src.o.now(), src.o.started()
	deltaLink, groupsLink := "", ""
	if src.o.State != nil {
		// The token comes first: changes made while listing are then read
		// again next time, never lost.
		l, err := c.GraphPages(ctx, V1, guestDeltaPath()+"&$deltatoken=latest", nil, func([]json.RawMessage) error { return nil })
		if err == nil {
			deltaLink = l
		}
		// Memberships change without the user changing: groups delta
		// reports them. Without its link the next scan reads in full.
		if l, err := c.GraphPages(ctx, V1, groupsDeltaPath+"&$deltatoken=latest", nil, func([]json.RawMessage) error { return nil }); err == nil {
			groupsLink = l
		} else {
			deltaLink = ""
		}
	}
	// Users that cannot be read are left out and make the section partial.
	var bad FieldErrors
	signIns, err := src.signIns(ctx, "")
	err = noteItems(&bad, err)
	haveSignIns := err == nil
	if IsStatus(err, http.StatusForbidden) {
		// Sign-in activity needs Entra ID P1 and AuditLog.Read.All; without
		// them the guests are still read and sign-ins stay unknown.
		err = nil
	}
	if err != nil {
		return fmt.Errorf("collect guests: sign-in activity: %w", err)
	}
	room := 0
	if src.o.State != nil {
		room = guestRoom(ctx, src.o.State)
	}
	guests, expanded, err := src.listGuests(ctx, room)
	if err := noteItems(&bad, err); err != nil {
		return fmt.Errorf("collect guests: %w", err)
	}
	for i := range guests {
		if haveSignIns {
			guests[i].SignIn = signIns[guests[i].ID]
			if guests[i].SignIn == nil {
				guests[i].SignIn = &tenant.SignIn{}
			}
		}
	}
	sort.Slice(guests, func(i, j int) bool { return guests[i].ID < guests[j].ID })
	lists := refLists{}
	for i := range guests {
		guests[i].Sponsors = lists.share(guests[i].Sponsors)
	}
	all := make([]int, len(guests))
	for i := range all {
		all[i] = i
	}
	errs := src.readRefs(ctx, guests, all, !expanded, lists)
	snap.Guests = guests
	if err := partialGuests(&bad, errs); err != nil {
		return err
	}
	if src.o.State != nil && deltaLink != "" {
		since := signInsUnavailable
		if haveSignIns {
			since = start.Add(-signInLag).UTC().Format(time.RFC3339)
		}
		src.o.State.SaveDeltaTokens(tenant.SectionGuests, map[string]string{
			tokenGuestsDelta: deltaLink, tokenGuestsSignIns: since, tokenGuestsFull: at.UTC().Format(time.RFC3339),
			tokenGuestsGroups: groupsLink, tokenGuestsCount: itoa(len(guests)),
		})
	}
	return nil
}

// partialGuests is the section's error when some users, sponsors or
// memberships could not be read.
func partialGuests(bad *FieldErrors, refErrs []error) error {
	var errs []error
	if err := bad.err(); err != nil {
		errs = append(errs, fmt.Errorf("collect guests: %w", err))
	}
	if len(refErrs) > 0 {
		errs = append(errs, fmt.Errorf("collect guests: sponsors and memberships: %d failures: %w", len(refErrs), errors.Join(refErrs...)))
	}
	if len(errs) == 0 {
		return nil
	}
	return scanner.Partial(errors.Join(errs...))
}

// listGuests pages through guests with their sponsors expanded, with room
// reserved for that many; expanded is false when the service refused the
// expansion. Users that cannot be
// read are left out and returned as FieldErrors with the others.
func (src guestsSource) listGuests(ctx context.Context, room int) (guests []tenant.Guest, expanded bool, err error) {
	c := src.c
	guests = make([]tenant.Guest, 0, room)
	var bad FieldErrors
	page := func(expand bool) error {
		guests = guests[:0]
		bad = FieldErrors{}
		extra := []string{guestFilter, "$top=" + itoa(c.o.PageSize)}
		if expand {
			extra = append(extra, "$expand=sponsors($select=id,displayName)")
		}
		_, err := c.GraphPages(ctx, V1, "/users"+selectQuery(guestSelect, extra...), nil, func(items []json.RawMessage) error {
			gs, err := parseGuests(epUsers, items, false, expand)
			guests = append(guests, gs...)
			return noteItems(&bad, err)
		})
		return err
	}
	err = page(true)
	expanded = err == nil
	if IsStatus(err, http.StatusBadRequest) {
		err = page(false)
	}
	if err != nil {
		return guests, false, err
	}
	return guests, expanded, bad.err()
}

// signIns reads sign-in activity at its page limit: of every guest, or,
// with since, of every user who signed in from then on (Graph cannot
// combine a sign-in filter with a userType filter; non-guests are
// dropped by the caller). Users that cannot be read are left out and
// returned as FieldErrors with the others.
func (src guestsSource) signIns(ctx context.Context, since string) (map[string]*tenant.SignIn, error) {
	filter := guestFilter
	if since != "" {
		filter = "$filter=" + url.QueryEscape("signInActivity/lastSignInDateTime ge "+since)
	}
	out := map[string]*tenant.SignIn{}
	var bad FieldErrors
	q := selectQuery([]string{"id", "userType", "signInActivity"}, filter, "$top="+itoa(min(src.c.o.PageSize, signInPageSize)))
	_, err := src.c.GraphPages(ctx, V1, "/users"+q, nil, func(items []json.RawMessage) error {
		gs, err := ParseGuests(items, true)
		for _, g := range gs {
			out[g.ID] = g.SignIn
		}
		return noteItems(&bad, err)
	})
	if err != nil {
		return out, err
	}
	return out, bad.err()
}

// refsChunk is how many sub-requests readRefs sends before it parses their
// answers: a tenant's guests' memberships are read chunk by chunk, so that
// the raw answers of only one chunk are held at a time. A multiple of
// maxBatch keeps the $batch envelopes full.
const refsChunk = 50 * maxBatch

// readRefs fills memberships (and sponsors when not expanded) with $batch,
// memberships first, for the guests at the indices which, in the guests'
// order.
func (src guestsSource) readRefs(ctx context.Context, guests []tenant.Guest, which []int, sponsors bool, lists refLists) []error {
	kinds := []string{"m:"}
	if sponsors {
		kinds = append(kinds, "s:")
	}
	var errs []error
	reqs := make([]BatchRequest, 0, min(len(which), refsChunk))
	for _, kind := range kinds {
		path := "/memberOf"
		if kind == "s:" {
			path = "/sponsors"
		}
		for start := 0; start < len(which); start += refsChunk {
			chunk := which[start:min(start+refsChunk, len(which))]
			reqs = reqs[:0]
			for _, i := range chunk {
				reqs = append(reqs, BatchRequest{ID: kind + guests[i].ID, URL: "/users/" + escapePath(guests[i].ID) + path + selectQuery(refSelect)})
			}
			res := src.c.BatchCollections(ctx, V1, reqs)
			for k, r := range reqs {
				g := &guests[chunk[k]]
				dst := &g.MemberOf
				if kind == "s:" {
					dst = &g.Sponsors
				}
				br := res[r.ID]
				if br.Err != nil {
					errs = append(errs, br.Err)
					continue
				}
				refs, err := ParseRefs(br.Items)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				*dst = lists.share(refs)
			}
		}
	}
	return errs
}

// incremental merges users delta and recent sign-ins onto the stored
// guests.
func (src guestsSource) incremental(ctx context.Context, snap *tenant.Snapshot, deltaLink, signInsSince, full, groupsLink string) error {
	c := src.c
	start := src.o.now()
	if !sameOrigin(c.graphURL(V1, "/"), deltaLink) {
		return &APIError{Endpoint: "GET /v1.0/users/delta", Status: http.StatusGone, Message: "stored delta link points to another host"}
	}
	// The guests live in one slice sized from the last read's count: the
	// stored ones sorted by ID and found by binary search, the new ones
	// after them through a small index; removed ones are dropped at the
	// end. (A map over every guest, and a slice grown by appending, each
	// cost a large tenant's scan megabytes at its peak.)
	guests := make([]tenant.Guest, 0, guestRoom(ctx, src.o.State))
	lists := refLists{}
	err := src.o.State.Previous(ctx, tenant.SectionGuests, func(doc []byte) error {
		g, err := decodeStoredGuestWith(doc, lists)
		if err != nil {
			return fmt.Errorf("stored guest: %w", err)
		}
		guests = append(guests, g)
		return nil
	})
	if err != nil {
		return fmt.Errorf("collect guests: stored guests: %w", err)
	}
	// The store lists objects by key, but its collation need not be
	// bytewise; a guest stored twice keeps its last document.
	if !slices.IsSortedFunc(guests, cmpGuestID) {
		slices.SortStableFunc(guests, cmpGuestID)
	}
	guests = dedupLastByID(guests)
	stored := len(guests)
	added := map[string]int{}
	removed := map[int]bool{}
	find := func(id string) (int, bool) {
		if i, ok := added[id]; ok {
			return i, true
		}
		i, ok := slices.BinarySearchFunc(guests[:stored], id, func(g tenant.Guest, id string) int { return strings.Compare(g.ID, id) })
		return i, ok && !removed[i]
	}
	remove := func(id string) {
		if i, ok := find(id); ok {
			removed[i] = true
			delete(added, id)
		}
	}
	haveSignIns := signInsSince != signInsUnavailable
	changed := map[string]bool{}
	// A delta item that cannot be read leaves its user's change unknown:
	// the section is partial and this delta link is not kept.
	var bad FieldErrors
	newLink, err := c.graphPagesURL(ctx, deltaLink, nil, func(items []json.RawMessage) error {
		for i, raw := range items {
			id, isRemoved, err := userDelta(raw, i)
			if err != nil {
				if err := noteItems(&bad, err); err != nil {
					return err
				}
				continue
			}
			if isRemoved {
				remove(id)
				continue
			}
			gs, err := parseGuests(epUsersDelta, []json.RawMessage{raw}, false, false)
			if err != nil {
				if err := noteItems(&bad, err); err != nil {
					return err
				}
				continue
			}
			if len(gs) == 0 {
				remove(id) // no longer a guest
				continue
			}
			g := gs[0]
			if i, ok := find(id); ok {
				g.SignIn = guests[i].SignIn
				guests[i] = g
			} else {
				if haveSignIns {
					g.SignIn = &tenant.SignIn{}
				}
				added[id] = len(guests)
				guests = append(guests, g)
			}
			changed[id] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Guests whose memberships changed: members added to or removed from
	// a group, and the members of a deleted group.
	members, goneGroups, newGroupsLink, err := src.membershipChanges(ctx, groupsLink, &bad)
	if err != nil {
		return err
	}
	if haveSignIns {
		recent, err := src.signIns(ctx, signInsSince)
		if err := noteItems(&bad, err); err != nil {
			return fmt.Errorf("collect guests: recent sign-ins: %w", err)
		}
		for id, si := range recent {
			if i, ok := find(id); ok {
				guests[i].SignIn = si
			}
		}
	}
	// Drop the removed, then put the new ones in order.
	kept := guests[:0]
	for i := range guests {
		if !removed[i] {
			kept = append(kept, guests[i])
		}
	}
	clear(guests[len(kept):])
	guests = kept
	if len(added) > 0 {
		slices.SortFunc(guests, cmpGuestID)
	}
	var which, memberships []int
	for i, g := range guests {
		switch {
		case changed[g.ID]:
			which = append(which, i)
		case members[g.ID] || memberOfAny(g.MemberOf, goneGroups):
			memberships = append(memberships, i)
		}
	}
	errs := src.readRefs(ctx, guests, which, true, lists)
	errs = append(errs, src.readRefs(ctx, guests, memberships, false, lists)...)
	snap.Guests = guests
	if err := partialGuests(&bad, errs); err != nil {
		return err
	}
	since := signInsUnavailable
	if haveSignIns {
		since = start.Add(-signInLag).UTC().Format(time.RFC3339)
	}
	src.o.State.SaveDeltaTokens(tenant.SectionGuests, map[string]string{tokenGuestsDelta: newLink, tokenGuestsSignIns: since, tokenGuestsFull: full,
		tokenGuestsGroups: newGroupsLink, tokenGuestsCount: itoa(len(guests))})
	return nil
}

func cmpGuestID(a, b tenant.Guest) int { return strings.Compare(a.ID, b.ID) }

// dedupLastByID keeps the last of guests sharing an ID (sorted stably).
func dedupLastByID(gs []tenant.Guest) []tenant.Guest {
	out := gs[:0]
	for i := range gs {
		if i+1 < len(gs) && gs[i+1].ID == gs[i].ID {
			continue
		}
		out = append(out, gs[i])
	}
	clear(gs[len(out):])
	return out
}

// maxGuestRoom bounds the room a stored count may reserve: the count is a
// hint, and a wrong one must not cost more than a large tenant's guests.
const maxGuestRoom = 2_000_000

// guestRoom is the room to reserve for the guests of an incremental read:
// the last read's count and a sixteenth more for new guests, so that the
// slice is not regrown (and briefly held twice) while a large tenant's
// guests are read. Without a count the slice grows as it goes.
func guestRoom(ctx context.Context, st State) int {
	v, _ := st.DeltaToken(ctx, tokenGuestsCount)
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	n = min(n, maxGuestRoom)
	return n + n/16 + 64
}

func memberOfAny(refs []tenant.Ref, ids map[string]bool) bool {
	for _, r := range refs {
		if ids[r.ID] {
			return true
		}
	}
	return false
}

// membershipChanges follows groups delta from link: the ids of members
// added or removed, the ids of groups deleted, and the next link. A group
// entry that cannot be read is noted in bad (the section is then partial
// and the link not kept).
func (src guestsSource) membershipChanges(ctx context.Context, link string, bad *FieldErrors) (members, gone map[string]bool, next string, err error) {
	if !sameOrigin(src.c.graphURL(V1, "/"), link) {
		return nil, nil, "", &APIError{Endpoint: epGroupsDelta, Status: http.StatusGone, Message: "stored delta link points to another host"}
	}
	members, gone = map[string]bool{}, map[string]bool{}
	next, err = src.c.graphPagesURL(ctx, link, nil, func(items []json.RawMessage) error {
		for i, raw := range items {
			var g struct {
				ID      string          `json:"id"`
				Removed json.RawMessage `json:"@removed"`
				Members *[]struct {
					ID string `json:"id"`
				} `json:"members@delta"`
			}
			if err := json.Unmarshal(raw, &g); err != nil || g.ID == "" {
				bad.add(&FieldError{Endpoint: epGroupsDelta, Item: "group", Index: i, Field: "id", Want: "a group with an id", Got: clip(string(raw))})
				continue
			}
			if len(g.Removed) > 0 {
				gone[g.ID] = true
			}
			if g.Members == nil {
				continue
			}
			for j, m := range *g.Members {
				if m.ID == "" {
					bad.add(&FieldError{Endpoint: epGroupsDelta, Item: "group", ID: g.ID, Index: i, Field: fmt.Sprintf("members@delta[%d].id", j), Want: "string", Got: "missing"})
					continue
				}
				members[m.ID] = true
			}
		}
		return nil
	})
	return members, gone, next, err
}
