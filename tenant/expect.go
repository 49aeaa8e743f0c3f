package tenant

import (
	"math"
	"strconv"
	"strings"
)

// Scale names an ordered scale of setting values. Its spelling is stored
// in remediation plans (their caps), so it never changes.
type Scale string

// Scales rules judge settings on and remediation caps them on.
const (
	ScaleSharing    Scale = "sharingLevel"
	ScaleLinkScope  Scale = "linkScope"
	ScaleLinkType   Scale = "linkType"
	ScaleInviteFrom Scale = "inviteFrom"
	// ScaleGuestRole places guestUserRoleId values (role template IDs).
	ScaleGuestRole Scale = "guestRole"
	ScaleFreeBusy  Scale = "freeBusy"
	// ScaleCalendar places sharing-policy calendar actions ("none" lowest).
	ScaleCalendar Scale = "calendarDetail"
	// ScaleDomainMode places restriction modes by narrowness: none <
	// block list < allow list. A higher rank exposes less.
	ScaleDomainMode Scale = "domainMode"
	// ScaleDays places a number of days ("7"); "0" (or any value below 1)
	// means never, the widest.
	ScaleDays Scale = "days"
	// ScaleSwitch places "false" < "true" for settings that allow something
	// when on.
	ScaleSwitch Scale = "switch"
)

// Rank places v on the scale in the scale's own order; ok is false for
// values the scale does not know.
func (sc Scale) Rank(v string) (int, bool) {
	switch sc {
	case ScaleSharing:
		return SharingLevel(v).Rank()
	case ScaleLinkScope:
		return LinkScope(v).Rank()
	case ScaleLinkType:
		return LinkType(v).Rank()
	case ScaleInviteFrom:
		return InviteFrom(v).Rank()
	case ScaleGuestRole:
		return GuestAccessFromRole(strings.ToLower(v)).Rank()
	case ScaleFreeBusy:
		return FreeBusyRank(v)
	case ScaleCalendar:
		return CalendarActions.Rank(CalendarAction(v))
	case ScaleDomainMode:
		return DomainMode(v).Rank()
	case ScaleDays:
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, false
		}
		if n < 1 {
			return math.MaxInt, true
		}
		return n, true
	case ScaleSwitch:
		switch v {
		case "false":
			return 0, true
		case "true":
			return 1, true
		}
	}
	return 0, false
}

// Exposure places v on the scale so that a higher number always exposes
// more: Rank, turned round for restriction modes. ok is false for values
// the scale does not know.
func (sc Scale) Exposure(v string) (int, bool) {
	r, ok := sc.Rank(v)
	if ok && sc == ScaleDomainMode {
		return -r, true
	}
	return r, ok
}

// Wider reports whether after exposes more than before on the scale. A
// value the scale does not know is wider than a known one: nobody can
// vouch for it.
func (sc Scale) Wider(before, after string) bool {
	a, okA := sc.Exposure(after)
	b, okB := sc.Exposure(before)
	switch {
	case !okA:
		return okB || before != after
	case !okB:
		return false
	}
	return a > b
}

// Expectation is the machine-readable form of what a rule required of an
// object and what it found there; Result.Expected is its text for people.
// Remediation plans from it and never from the text.
type Expectation struct {
	// Scale is the scale AtMost, AtLeast and Found are on.
	Scale Scale `json:"scale,omitempty"`
	// AtMost is a ceiling: the setting may expose no more than this.
	AtMost string `json:"atMost,omitempty"`
	// AtLeast is a floor on a restriction scale (ScaleDomainMode): the
	// setting must be at least this narrow.
	AtLeast string `json:"atLeast,omitempty"`
	// Found is the value the rule read, in the snapshot's spelling.
	Found string `json:"found,omitempty"`
	// OneOf lists the acceptable values (domain patterns for the approved
	// domains of an allow list).
	OneOf []string `json:"oneOf,omitempty"`
	// Domain is the domain a per-domain result is about.
	Domain string `json:"domain,omitempty"`
	// KeepOut lists the domains (patterns) that must stay blocked.
	KeepOut []string `json:"keepOut,omitempty"`
	// LetIn lists the entries of an allow list that let a KeepOut domain in.
	LetIn []string `json:"letIn,omitempty"`
	// Fields names the settings of the object that are above the
	// expectation, for a result that judges several switches at once.
	Fields []string `json:"fields,omitempty"`
}
