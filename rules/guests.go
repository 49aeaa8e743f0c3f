package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

const (
	docGuestReview  = "https://learn.microsoft.com/en-us/entra/identity/users/clean-up-stale-guest-accounts"
	docGuestSponsor = "https://learn.microsoft.com/en-us/entra/external-id/b2b-sponsors"
	docB2BDomains   = "https://learn.microsoft.com/en-us/entra/external-id/allow-deny-list"
)

func guestName(g *tenant.Guest) string {
	if g.Mail != "" {
		return g.Mail
	}
	if g.UPN != "" {
		return g.UPN
	}
	return g.DisplayName
}

// guestDomain is the guest's home domain: the collected Domain, else the
// part of Mail after "@".
func guestDomain(g *tenant.Guest) string {
	if g.Domain != "" {
		return g.Domain
	}
	if i := strings.LastIndexByte(g.Mail, '@'); i >= 0 {
		return g.Mail[i+1:]
	}
	return ""
}

// eachGuest runs the common preamble and calls fn for every guest in key
// order.
func eachGuest(r *builtin, e *env, emit func(tenant.Result), expected string, fn func(g *tenant.Guest, key string)) {
	if why := e.incomplete(tenant.SectionGuests); why != "" {
		emit(r.result(tenant.Unknown, keyGuests, "guests", expected, "", why))
		return
	}
	e.buildGuests()
	if len(e.guestOrder) == 0 {
		emit(r.result(tenant.Pass, keyGuests, "guests", expected, "no guests", ""))
		return
	}
	for _, i := range e.guestOrder {
		fn(&e.s.Guests[i], e.guestKeys[i])
	}
}

// blockSource is one list that can block a domain.
type blockSource struct {
	name      string
	mustBlock []string // baseline globs: always known
	known     bool     // the actual list was collected completely
	mode      tenant.DomainMode
	allowed   []string
	blocked   []string
}

// blockedBy says which list blocks domain d; unsure is true when a list that
// might block it was not collected.
func blockedBy(srcs []blockSource, d string) (by string, unsure bool) {
	for _, s := range srcs {
		if p := firstGlob(s.mustBlock, d); p != "" {
			return s.name + " baseline must_block " + p, false
		}
	}
	for _, s := range srcs {
		if !s.known {
			unsure = true
			continue
		}
		switch s.mode {
		case tenant.DomainModeBlockList:
			if matchesAny(s.blocked, d) {
				return s.name + " block list", false
			}
		case tenant.DomainModeAllowList:
			if !matchesAny(s.allowed, d) {
				return "not on the " + s.name + " allow list", false
			}
		}
	}
	return "", unsure
}

func (e *env) blockSources() []blockSource {
	var out []blockSource
	sp := blockSource{name: "SharePoint"}
	if dr := e.b.SharePoint.DomainRestriction; dr != nil {
		sp.mustBlock = dr.MustBlock
	}
	if e.s.Complete(tenant.SectionSharePoint) && e.s.SharePoint != nil && e.s.SharePoint.DomainRestrictionMode != "" {
		s := e.s.SharePoint
		sp.known, sp.mode, sp.allowed, sp.blocked = true, s.DomainRestrictionMode, s.AllowedDomains, s.BlockedDomains
	}
	out = append(out, sp)
	en := blockSource{name: "Entra invitation"}
	if dr := e.b.Entra.InvitationDomains; dr != nil {
		en.mustBlock = dr.MustBlock
	}
	if e.s.Complete(tenant.SectionEntra) && e.s.Entra != nil && e.s.Entra.Invitations != nil {
		inv := e.s.Entra.Invitations
		en.known, en.mode, en.allowed, en.blocked = true, inv.Mode, inv.Allowed, inv.Blocked
	}
	return append(out, en)
}

func evalGuestBlocked(r *builtin, e *env, emit func(tenant.Result)) {
	allow := e.b.Guests.AllowFromBlockedDomains
	if allow == nil || *allow {
		emit(notApplicable(r, keyGuests, "guests", silent))
		return
	}
	const expected = "domain not blocked"
	srcs := e.blockSources()
	type verdict struct {
		by, actual, msg string
		unsure          bool
	}
	cache := map[string]verdict{}
	eachGuest(r, e, emit, expected, func(g *tenant.Guest, key string) {
		d := guestDomain(g)
		if d == "" {
			emit(r.result(tenant.Unknown, key, guestName(g), expected, "", "guest domain missing"))
			return
		}
		v, ok := cache[d]
		if !ok {
			v.by, v.unsure = blockedBy(srcs, d)
			if v.by != "" {
				v.actual = "blocked domain " + d
				v.msg = fmt.Sprintf("guest from %s still exists although the domain is blocked (%s)", d, v.by)
			}
			cache[d] = v
		}
		switch {
		case v.by != "":
			emit(r.result(tenant.Fail, key, guestName(g), expected, v.actual, v.msg))
		case v.unsure:
			emit(r.result(tenant.Unknown, key, guestName(g), expected, d, "a domain list was not collected completely"))
		default:
			emit(r.result(tenant.Pass, key, guestName(g), expected, d, ""))
		}
	})
}

// lastActive is a guest's most recent successful sign-in, else any sign-in.
func lastActive(s *tenant.SignIn) *time.Time {
	if s.LastSuccessful != nil && (s.Last == nil || s.LastSuccessful.After(*s.Last)) {
		return s.LastSuccessful
	}
	return s.Last
}

func evalGuestStale(r *builtin, e *env, emit func(tenant.Result)) {
	n := e.b.Guests.StaleAfterDays
	if n == nil {
		emit(notApplicable(r, keyGuests, "guests", silent))
		return
	}
	limit := time.Duration(*n) * 24 * time.Hour
	expected := fmt.Sprintf("signed in within %d days", *n)
	emitted := false
	eachGuest(r, e, emit, expected, func(g *tenant.Guest, key string) {
		// Pending invitations are the pending rule's business; disabled
		// accounts cannot sign in, so their staleness is harmless.
		if g.State == tenant.GuestPending || (g.AccountEnabled != nil && !*g.AccountEnabled) {
			return
		}
		emitted = true
		if g.SignIn == nil {
			emit(r.result(tenant.Unknown, key, guestName(g), expected, "", "sign-in activity not collected"))
			return
		}
		last := lastActive(g.SignIn)
		if last == nil {
			if g.CreatedAt == nil {
				emit(r.result(tenant.Unknown, key, guestName(g), expected, "never signed in", "creation date missing"))
				return
			}
			if e.now.Sub(*g.CreatedAt) > limit {
				emit(r.result(tenant.Fail, key, guestName(g), expected, "never signed in", e.dated("never signed in since creation on ", *g.CreatedAt)))
				return
			}
			emit(r.result(tenant.Pass, key, guestName(g), expected, "never signed in", "guest is newer than the stale threshold"))
			return
		}
		actual := e.dated("last sign-in ", *last)
		if e.now.Sub(*last) > limit {
			emit(r.result(tenant.Fail, key, guestName(g), expected, actual, e.count("no sign-in for %d days", days(e.now.Sub(*last)))))
			return
		}
		emit(r.result(tenant.Pass, key, guestName(g), expected, actual, ""))
	})
	if !emitted && e.guestsBuilt && len(e.guestOrder) > 0 {
		emit(r.result(tenant.Pass, keyGuests, "guests", expected, "no active guests", ""))
	}
}

func evalGuestPending(r *builtin, e *env, emit func(tenant.Result)) {
	n := e.b.Guests.PendingMaxDays
	if n == nil {
		emit(notApplicable(r, keyGuests, "guests", silent))
		return
	}
	limit := time.Duration(*n) * 24 * time.Hour
	expected := fmt.Sprintf("accepted within %d days", *n)
	emitted := false
	eachGuest(r, e, emit, expected, func(g *tenant.Guest, key string) {
		switch g.State {
		case tenant.GuestAccepted:
			return
		case tenant.GuestPending:
		default:
			emitted = true
			emit(r.result(tenant.Unknown, key, guestName(g), expected, string(g.State), "invitation state missing or not recognised"))
			return
		}
		emitted = true
		since := g.StateChangedAt
		if since == nil {
			since = g.CreatedAt
		}
		if since == nil {
			emit(r.result(tenant.Unknown, key, guestName(g), expected, "pending", "invitation date missing"))
			return
		}
		actual := e.dated("pending since ", *since)
		if e.now.Sub(*since) > limit {
			emit(r.result(tenant.Fail, key, guestName(g), expected, actual, e.count("invitation not accepted for %d days", days(e.now.Sub(*since)))))
			return
		}
		emit(r.result(tenant.Pass, key, guestName(g), expected, actual, ""))
	})
	if !emitted && e.guestsBuilt && len(e.guestOrder) > 0 {
		emit(r.result(tenant.Pass, keyGuests, "guests", expected, "no pending invitations", ""))
	}
}

func evalGuestSponsor(r *builtin, e *env, emit func(tenant.Result)) {
	req := e.b.Guests.SponsorRequired
	if req == nil || !*req {
		emit(notApplicable(r, keyGuests, "guests", silent))
		return
	}
	const expected = "at least one sponsor"
	eachGuest(r, e, emit, expected, func(g *tenant.Guest, key string) {
		switch {
		case g.Sponsors == nil:
			emit(r.result(tenant.Unknown, key, guestName(g), expected, "", "sponsors not collected"))
		case len(g.Sponsors) == 0:
			emit(r.result(tenant.Fail, key, guestName(g), expected, "no sponsor", "guest has no sponsor"))
		default:
			emit(r.result(tenant.Pass, key, guestName(g), expected, "sponsored", ""))
		}
	})
}

// evalGuestOrphaned flags guests nobody answers for and nothing grants
// access through: no sponsor and no group membership. Direct shares on
// files and sites are not part of the check.
func evalGuestOrphaned(r *builtin, e *env, emit func(tenant.Result)) {
	allow := e.b.Guests.AllowOrphaned
	if allow == nil || *allow {
		emit(notApplicable(r, keyGuests, "guests", silent))
		return
	}
	const expected = "a sponsor or a group membership"
	eachGuest(r, e, emit, expected, func(g *tenant.Guest, key string) {
		switch {
		case len(g.Sponsors) > 0 || len(g.MemberOf) > 0:
			emit(r.result(tenant.Pass, key, guestName(g), expected, "owned", ""))
		case g.Sponsors == nil || g.MemberOf == nil:
			emit(r.result(tenant.Unknown, key, guestName(g), expected, "", "sponsors or group memberships not collected"))
		default:
			emit(r.result(tenant.Fail, key, guestName(g), expected, "no sponsor, no groups", "orphaned guest: no sponsor and no group membership"))
		}
	})
}
