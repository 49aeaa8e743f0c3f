package remediate

import "github.com/sharedrift/sharedrift/tenant"

// Ordered scales of the values AtMost caps (tenant.Scale spellings, which
// stored plans keep).
const (
	scaleSharing    = string(tenant.ScaleSharing)
	scaleLinkScope  = string(tenant.ScaleLinkScope)
	scaleLinkType   = string(tenant.ScaleLinkType)
	scaleInviteFrom = string(tenant.ScaleInviteFrom)
	scaleGuestRole  = string(tenant.ScaleGuestRole)
	scaleFreeBusy   = string(tenant.ScaleFreeBusy)
)

// rank places v on a scale; ok is false for values the scale does not know.
func rank(scale, v string) (int, bool) { return tenant.Scale(scale).Rank(v) }
