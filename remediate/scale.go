package remediate

import (
	"strings"

	"github.com/sharedrift/sharedrift/tenant"
)

// Ordered scales of the values AtMost caps.
const (
	scaleSharing    = "sharingLevel"
	scaleLinkScope  = "linkScope"
	scaleLinkType   = "linkType"
	scaleInviteFrom = "inviteFrom"
	scaleGuestRole  = "guestRole"
	scaleFreeBusy   = "freeBusy"
)

// rank places v on a scale; ok is false for values the scale does not know.
func rank(scale, v string) (int, bool) {
	switch scale {
	case scaleSharing:
		return tenant.SharingLevel(v).Rank()
	case scaleLinkScope:
		return tenant.LinkScope(v).Rank()
	case scaleLinkType:
		return tenant.LinkType(v).Rank()
	case scaleInviteFrom:
		return tenant.InviteFrom(v).Rank()
	case scaleGuestRole:
		return tenant.GuestAccessFromRole(strings.ToLower(v)).Rank()
	case scaleFreeBusy:
		return tenant.FreeBusyRank(v)
	}
	return 0, false
}
