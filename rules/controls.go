package rules

// The control catalogue: every CIS and SCuBA control a rule's References
// name, with its title and the benchmark version it is taken from. It is the
// one place titles and versions live; reports and docs read it, and a test
// holds every reference to it.
//
// Sources:
//   - CIS Microsoft 365 Foundations Benchmark v4.0.0 (control numbers and
//     titles as published by the Center for Internet Security; see
//     https://www.cisecurity.org/benchmark/microsoft_365).
//   - CISA SCuBA secure configuration baselines (ScubaGear): the policy ID
//     carries its own version suffix ("v1", "v2"); the statements are those of
//     the SharePoint, Exchange, Entra ID, Teams and Power BI baselines
//     (https://github.com/cisagov/ScubaGear, PowerShell/ScubaGear/baselines/).

// Framework names a control catalogue.
type Framework string

// Frameworks a rule can reference.
const (
	FrameworkCIS   Framework = "cis"
	FrameworkSCuBA Framework = "scuba"
)

// CISVersion is the CIS Microsoft 365 Foundations Benchmark version the CIS
// control numbers and titles are taken from.
const CISVersion = "v4.0.0"

// Control is one published control.
type Control struct {
	Framework Framework `json:"framework"`
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	// Version is the benchmark version (CIS) or the policy version carried
	// in the ID's suffix (SCuBA).
	Version string `json:"version"`
}

// FrameworkName is the published name of a framework.
func FrameworkName(f Framework) string {
	switch f {
	case FrameworkCIS:
		return "CIS Microsoft 365 Foundations Benchmark " + CISVersion
	case FrameworkSCuBA:
		return "CISA SCuBA secure configuration baselines"
	}
	return string(f)
}

var cisControls = map[string]string{
	"1.3.3":   "Ensure 'External sharing' of calendars is not available",
	"5.1.6.1": "Ensure that collaboration invitations are sent to allowed domains only",
	"5.1.6.2": "Ensure that guest user access is restricted",
	"5.1.6.3": "Ensure guest user invitations are limited to the Guest Inviter role",
	"5.3.2":   "Ensure 'Access reviews' for Guest Users are configured",
	"7.2.3":   "Ensure external content sharing is restricted",
	"7.2.4":   "Ensure OneDrive content sharing is restricted",
	"7.2.5":   "Ensure that SharePoint guest users cannot share items they don't own",
	"7.2.6":   "Ensure SharePoint external sharing is managed through domain whitelist/blacklists",
	"7.2.7":   "Ensure link sharing is restricted in SharePoint and OneDrive",
	"7.2.9":   "Ensure guest access to a site or OneDrive will expire automatically",
	"7.2.10":  "Ensure reauthentication with verification code is restricted",
	"7.2.11":  "Ensure the SharePoint default sharing link permission is set",
	"8.2.1":   "Ensure 'external access' is restricted in the Teams admin center",
	"8.2.2":   "Ensure communication with unmanaged Teams users is disabled",
	"8.2.3":   "Ensure external Teams users cannot initiate conversations",
	"8.2.4":   "Ensure communication with Skype users is disabled",
	"8.5.1":   "Ensure anonymous users can't join a meeting",
	"9.1.1":   "Ensure guest user access is restricted",
	"9.1.2":   "Ensure external user invitations are restricted",
	"9.1.4":   "Ensure 'Publish to web' is restricted",
}

var scubaControls = map[string]string{
	"MS.AAD.8.1v1":        "Guest users SHOULD have limited or restricted access to Microsoft Entra ID directory objects",
	"MS.AAD.8.2v1":        "Only users with the Guest Inviter role SHOULD be able to invite guest users",
	"MS.AAD.8.3v1":        "Guest invites SHOULD only be allowed to specific external domains that have been authorized by the agency for legitimate business purposes",
	"MS.EXO.1.1v2":        "Automatic forwarding to external domains SHALL be disabled",
	"MS.EXO.6.1v1":        "Contact folders SHALL NOT be shared with all domains",
	"MS.EXO.6.2v1":        "Calendar details SHALL NOT be shared with all domains",
	"MS.POWERBI.1.1v1":    "The Publish to Web feature SHOULD be disabled unless the agency mission requires the capability",
	"MS.POWERBI.2.1v1":    "Guest user access to the Power BI tenant SHOULD be disabled unless the agency mission requires the capability",
	"MS.POWERBI.3.1v1":    "The Invite external users to your organization feature SHOULD be disabled unless agency mission requires the capability",
	"MS.SHAREPOINT.1.1v1": "External sharing for SharePoint SHALL be limited to Existing guests or Only people in your organization",
	"MS.SHAREPOINT.1.2v1": "External sharing for OneDrive SHALL be limited to Existing guests or Only people in your organization",
	"MS.SHAREPOINT.1.3v1": "External sharing SHALL be restricted to approved external domains and/or users in approved security groups per interagency collaboration needs",
	"MS.SHAREPOINT.2.1v1": "File and folder default sharing scope SHALL be set to Specific people (only the people the user specifies)",
	"MS.SHAREPOINT.2.2v1": "File and folder default sharing permissions SHALL be set to view only",
	"MS.SHAREPOINT.3.1v1": "Expiration days for Anyone links SHALL be set to 30 days or less",
	"MS.SHAREPOINT.3.2v1": "The allowable file and folder permissions for links SHALL be set to view only",
	"MS.SHAREPOINT.3.3v2": "Reauthentication days for people who use a verification code SHALL be set to 30 days or less",
	"MS.TEAMS.2.1v2":      "External access for users SHALL only be enabled on a per-domain basis",
	"MS.TEAMS.2.2v2":      "Unmanaged users SHALL NOT be enabled to initiate contact with internal users",
	"MS.TEAMS.2.3v2":      "Internal users SHOULD NOT be enabled to initiate contact with unmanaged users",
}

// LookupControl returns the catalogue entry of a control; ok is false for an
// ID the catalogue does not hold.
func LookupControl(f Framework, id string) (Control, bool) {
	var title string
	var ok bool
	version := CISVersion
	switch f {
	case FrameworkCIS:
		title, ok = cisControls[id]
	case FrameworkSCuBA:
		title, ok = scubaControls[id]
		version = scubaVersion(id)
	}
	if !ok {
		return Control{}, false
	}
	return Control{Framework: f, ID: id, Title: title, Version: version}, true
}

// scubaVersion is the version suffix of a SCuBA policy ID ("v1" of
// "MS.AAD.8.1v1").
func scubaVersion(id string) string {
	for i := len(id) - 1; i >= 0; i-- {
		if id[i] == 'v' {
			return id[i:]
		}
		if id[i] < '0' || id[i] > '9' {
			break
		}
	}
	return ""
}
