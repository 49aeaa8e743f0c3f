package m365

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unique"

	"github.com/sharedrift/sharedrift/tenant"
)

// The fields read of a user (guest), a directory object and a users
// delta item.
var (
	signInSchema         = newSchema("")
	siLast               = signInSchema.time("lastSignInDateTime")
	siLastNonInteractive = signInSchema.time("lastNonInteractiveSignInDateTime")
	siLastSuccessful     = signInSchema.time("lastSuccessfulSignInDateTime")

	refSchema = newSchema("object")
	rfID      = refSchema.identity("id")
	rfName    = refSchema.str("displayName")
	rfType    = refSchema.str("@odata.type")

	userSchema       = newSchema("user")
	usID             = userSchema.identity("id")
	usDisplayName    = userSchema.str("displayName")
	usMail           = userSchema.str("mail")
	usUPN            = userSchema.str("userPrincipalName")
	usUserType       = userSchema.str("userType")
	usState          = userSchema.str("externalUserState")
	usStateChanged   = userSchema.time("externalUserStateChangeDateTime")
	usCreated        = userSchema.time("createdDateTime")
	usAccountEnabled = userSchema.boolean("accountEnabled")
	usSignIn         = userSchema.object("signInActivity", signInSchema)
	usSponsors       = userSchema.objects("sponsors", refSchema) // with $expand=sponsors

	// A users delta item; a removed user carries "@removed".
	userDeltaSchema = newSchema("user")
	udID            = userDeltaSchema.identity("id")
	udRemoved       = userDeltaSchema.facet("@removed")

	guestSelect = []string{
		"id", "displayName", "mail", "userPrincipalName", "userType", "externalUserState",
		"externalUserStateChangeDateTime", "createdDateTime", "accountEnabled",
	}
)

const (
	epUsers       = "GET /v1.0/users"
	epUsersDelta  = "GET /v1.0/users/delta"
	epGroupsDelta = "GET /v1.0/groups/delta"
	epRefs        = "GET /v1.0/users/{id}/sponsors|memberOf"
)

// signInPageSize is Graph's page limit when signInActivity is selected.
const signInPageSize = 120

const guestFilter = "$filter=userType+eq+'Guest'"

var knownStates = []string{string(tenant.GuestAccepted), string(tenant.GuestPending)}

// ParseGuests reads a page of /users. withSignIn says whether
// signInActivity was asked for: when it was, a guest without it never
// signed in; when not, SignIn stays nil (unknown). Users that cannot be
// read are left out and reported as FieldErrors; users that are not
// guests are skipped.
func ParseGuests(items []json.RawMessage, withSignIn bool) ([]tenant.Guest, error) {
	return parseGuests(epUsers, items, withSignIn, false)
}

// parseGuests is ParseGuests reading, with withSponsors, the sponsors
// $expand put into each user (nil when a user carries none).
func parseGuests(ep string, items []json.RawMessage, withSignIn, withSponsors bool) ([]tenant.Guest, error) {
	out := make([]tenant.Guest, 0, len(items))
	var bad FieldErrors
	var r, sub reader
	for i, raw := range items {
		if !r.item(ep, userSchema, raw, i) {
			bad.add(r.first())
			continue
		}
		// A member is no guest whatever else it carries.
		if t, ok := r.strOK(usUserType); ok && t != "" && !strings.EqualFold(t, "Guest") {
			continue
		}
		g := tenant.Guest{
			ID: r.str(usID), UPN: r.str(usUPN), Mail: r.str(usMail), DisplayName: r.str(usDisplayName),
			State: tenant.GuestState(r.strIn(usState, knownStates)), StateChangedAt: r.time(usStateChanged),
			CreatedAt: r.time(usCreated), AccountEnabled: r.boolp(usAccountEnabled),
		}
		if hasSignIn := r.open(usSignIn, &sub); hasSignIn || withSignIn {
			si := &tenant.SignIn{}
			if hasSignIn {
				si.Last = sub.time(siLast)
				if ni := sub.time(siLastNonInteractive); ni != nil && (si.Last == nil || ni.After(*si.Last)) {
					si.Last = ni
				}
				si.LastSuccessful = sub.time(siLastSuccessful)
			}
			if withSignIn {
				g.SignIn = si
			}
		}
		if l := r.list(usSponsors); l.present() {
			var refs []tenant.Ref
			for l.next(&r, &sub) {
				refs = append(refs, readRef(&sub))
			}
			if withSponsors {
				g.Sponsors = sortRefs(nonNilRefs(refs))
			}
		}
		if r.failed() {
			bad.add(r.first())
			continue
		}
		g.Domain = guestDomain(g.Mail, g.UPN)
		compactGuest(&g)
		out = append(out, g)
	}
	return out, bad.err()
}

// userDelta reads what a users delta item says before it is read as a
// user: its id, and whether the user was removed.
func userDelta(raw []byte, index int) (id string, removed bool, err error) {
	var r reader
	if !r.item(epUsersDelta, userDeltaSchema, raw, index) {
		return "", false, r.err()
	}
	return r.str(udID), r.has(udRemoved), r.err()
}

// guestDomain takes the domain of the guest's mail, or of the home
// address encoded in a B2B UPN ("alice_fabrikam.com#EXT#@contoso…").
func guestDomain(mail, upn string) string {
	if i := strings.LastIndex(mail, "@"); i >= 0 && i < len(mail)-1 {
		return strings.ToLower(mail[i+1:])
	}
	if i := strings.Index(strings.ToUpper(upn), "#EXT#"); i > 0 {
		local := upn[:i]
		if j := strings.LastIndex(local, "_"); j >= 0 && j < len(local)-1 {
			return strings.ToLower(local[j+1:])
		}
	}
	return ""
}

// ParseRefs reads a directoryObject collection (sponsors, memberOf).
// Objects that cannot be read are left out and reported as FieldErrors.
func ParseRefs(items []json.RawMessage) ([]tenant.Ref, error) {
	out := make([]tenant.Ref, 0, len(items))
	var bad FieldErrors
	var r reader
	for i, raw := range items {
		if r.item(epRefs, refSchema, raw, i) {
			ref := readRef(&r)
			if !r.failed() {
				out = append(out, ref)
				continue
			}
		}
		bad.add(r.first())
	}
	return sortRefs(out), bad.err()
}

func readRef(r *reader) tenant.Ref {
	return tenant.Ref{ID: r.str(rfID), DisplayName: r.str(rfName), Type: odataType(r.str(rfType))}
}

func nonNilRefs(rs []tenant.Ref) []tenant.Ref {
	if rs == nil {
		return []tenant.Ref{}
	}
	return rs
}

func sortRefs(rs []tenant.Ref) []tenant.Ref {
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	return compactRefs(rs)
}

// odataType returns the short @odata.type ("#microsoft.graph.user" → "user").
func odataType(t string) string {
	if i := strings.LastIndex(t, "."); i >= 0 {
		return t[i+1:]
	}
	return strings.TrimPrefix(t, "#")
}

// compactGuest shares the strings that repeat across guests (domains,
// states, the groups and sponsors they point to) with every other copy:
// a large tenant's guests are all held while a scan runs.
func compactGuest(g *tenant.Guest) {
	packGuestStrings(g)
	g.Domain = intern(g.Domain)
	g.State = tenant.GuestState(intern(string(g.State)))
	g.Sponsors = compactRefs(g.Sponsors)
	g.MemberOf = compactRefs(g.MemberOf)
}

// compactRefs interns refs' strings and drops spare capacity; nil (not
// collected) stays nil and empty stays empty.
func compactRefs(rs []tenant.Ref) []tenant.Ref {
	for i := range rs {
		r := &rs[i]
		r.ID, r.DisplayName, r.Type = intern(r.ID), intern(r.DisplayName), intern(r.Type)
	}
	return slices.Clip(rs)
}

func intern(s string) string { return unique.Make(s).Value() }

// refLists shares equal lists of refs between the guests of one read:
// guests invited together belong to the same groups and have the same
// sponsors, and a large tenant's guests are all held at once. A shared
// list is never modified in place; a guest's list is only ever replaced.
// The refs' strings come interned (ParseRefs, storedRefs).
type refLists map[string][]tenant.Ref

// share returns the read's copy of a list equal to rs (stored on first
// sight, exactly sized); nil (not collected) stays nil.
func (l refLists) share(rs []tenant.Ref) []tenant.Ref {
	if rs == nil {
		return nil
	}
	var kb [256]byte
	k := kb[:0]
	for _, r := range rs {
		for _, f := range [...]string{r.ID, r.DisplayName, r.Type} {
			k = binary.AppendUvarint(k, uint64(len(f)))
			k = append(k, f...)
		}
	}
	if got, ok := l[string(k)]; ok {
		return got
	}
	own := append(make([]tenant.Ref, 0, len(rs)), rs...)
	l[string(k)] = own
	return own
}

// packGuestStrings puts a guest's own strings (id, UPN, mail, name) into
// one allocation: four small ones each rounded up to a size class cost a
// large tenant's guests a few megabytes more.
func packGuestStrings(g *tenant.Guest) {
	fields := [...]*string{&g.ID, &g.UPN, &g.Mail, &g.DisplayName}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	all := b.String()
	for _, f := range fields {
		l := len(*f)
		*f, all = all[:l], all[l:]
	}
}

// The fields of a guest as the store keeps it (tenant.Guest's JSON),
// read back by incremental scans without encoding/json's reflection: a
// large tenant's stored guests are all decoded at once, and what that
// decoding leaves behind set the scan's peak memory.
var (
	storedSignInSchema = newSchema("")
	ssLast             = storedSignInSchema.time("last")
	ssLastSuccessful   = storedSignInSchema.time("lastSuccessful")

	storedRefSchema = newSchema("object")
	srID            = storedRefSchema.identity("id")
	srName          = storedRefSchema.str("displayName")
	srType          = storedRefSchema.str("type")

	storedGuestSchema = newSchema("guest")
	sgID              = storedGuestSchema.identity("id")
	sgUPN             = storedGuestSchema.str("userPrincipalName")
	sgMail            = storedGuestSchema.str("mail")
	sgDisplayName     = storedGuestSchema.str("displayName")
	sgDomain          = storedGuestSchema.str("domain")
	sgState           = storedGuestSchema.str("state")
	sgStateChanged    = storedGuestSchema.time("stateChangedAt")
	sgCreated         = storedGuestSchema.time("createdAt")
	sgAccountEnabled  = storedGuestSchema.boolean("accountEnabled")
	sgSignIn          = storedGuestSchema.object("signIn", storedSignInSchema)
	sgSponsors        = storedGuestSchema.objects("sponsors", storedRefSchema)
	sgMemberOf        = storedGuestSchema.objects("memberOf", storedRefSchema)
)

const epStoredGuests = "stored guests"

// storedGuestFields is how many fields tenant.Guest has; decodeStoredGuest
// reads each of them (a test keeps the two in step).
const storedGuestFields = 12

// decodeStoredGuest reads a guest document written by the store, its
// repeated strings shared (see compactGuest). A document that is not a
// guest is an error naming the field.
func decodeStoredGuest(doc []byte) (tenant.Guest, error) { return decodeStoredGuestWith(doc, nil) }

// decodeStoredGuestWith decodes a stored guest sharing its lists of refs
// through lists (nil shares none).
func decodeStoredGuestWith(doc []byte, lists refLists) (tenant.Guest, error) {
	var r, sub reader
	if !r.item(epStoredGuests, storedGuestSchema, doc, 0) {
		return tenant.Guest{}, r.err()
	}
	g := tenant.Guest{
		ID: r.str(sgID), UPN: r.str(sgUPN), Mail: r.str(sgMail), DisplayName: r.str(sgDisplayName),
		Domain: intern(r.str(sgDomain)), State: tenant.GuestState(intern(r.str(sgState))),
		StateChangedAt: r.time(sgStateChanged), CreatedAt: r.time(sgCreated), AccountEnabled: r.boolp(sgAccountEnabled),
	}
	if r.open(sgSignIn, &sub) {
		g.SignIn = &tenant.SignIn{Last: sub.time(ssLast), LastSuccessful: sub.time(ssLastSuccessful)}
	}
	g.Sponsors = storedRefs(&r, &sub, sgSponsors, lists)
	g.MemberOf = storedRefs(&r, &sub, sgMemberOf, lists)
	if r.failed() {
		return tenant.Guest{}, r.err()
	}
	packGuestStrings(&g)
	return g, nil
}

// storedRefs reads a stored list of refs into a slice of its exact length:
// nil when null (not collected), empty when [].
func storedRefs(r, sub *reader, f objsField, lists refLists) []tenant.Ref {
	l := r.list(f)
	if !l.present() {
		return nil
	}
	var tmp [8]tenant.Ref
	refs := tmp[:0]
	for l.next(r, sub) {
		refs = append(refs, tenant.Ref{ID: intern(sub.str(srID)), DisplayName: intern(sub.str(srName)), Type: intern(sub.str(srType))})
	}
	if lists != nil {
		return lists.share(refs)
	}
	return append(make([]tenant.Ref, 0, len(refs)), refs...)
}
