package m365

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/tenant"
)

// TokenCheck is what doctor learned about one audience's token. The token
// itself is never kept.
type TokenCheck struct {
	Audience Audience  `json:"audience"`
	Scope    string    `json:"scope"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`
	Roles    []string  `json:"roles"`
	Expires  time.Time `json:"expires,omitzero"`
	// DirectoryRoles are the Entra roles assigned to the application
	// (the token's wids claim), by name when known.
	DirectoryRoles []string `json:"directoryRoles,omitempty"`
	// Credential is how the application proved its identity for this
	// token (the appidacr or azpacr claim): "client secret",
	// "certificate" or "" when the token does not say.
	Credential string `json:"credential,omitempty"`
}

// SectionCheck says whether a section can be read and what is missing, by
// exact permission name.
type SectionCheck struct {
	Section  tenant.Section `json:"section"`
	Readable bool           `json:"readable"`
	Missing  []string       `json:"missing,omitempty"`
	Warnings []string       `json:"warnings,omitempty"`
}

// DoctorReport is the outcome of Doctor.
type DoctorReport struct {
	Tokens   []TokenCheck   `json:"tokens"`
	Sections []SectionCheck `json:"sections"`
}

// OK reports whether every section is readable.
func (r *DoctorReport) OK() bool {
	for _, s := range r.Sections {
		if !s.Readable {
			return false
		}
	}
	return true
}

// Doctor gets a token for each audience, reads the application roles it
// carries and checks them against ReadPermissions.
func Doctor(ctx context.Context, tokens TokenProvider, ep Endpoints) DoctorReport {
	var rep DoctorReport
	byAud := map[Audience]TokenCheck{}
	for _, a := range Audiences {
		tc := TokenCheck{Audience: a, Scope: ep.Scope(a), Roles: []string{}}
		tok, err := tokens.Token(ctx, tc.Scope)
		if err == nil {
			var c claims
			c, err = decodeClaims(tok)
			tc.Roles = c.Roles
			if c.Exp > 0 {
				tc.Expires = time.Unix(c.Exp, 0).UTC()
			}
			tc.Credential = c.credential()
			roles := exchangeRoles
			if a == AudienceTeams {
				roles = teamsRoles
			}
			for _, w := range c.Wids {
				if n, ok := roles[strings.ToLower(w)]; ok {
					tc.DirectoryRoles = append(tc.DirectoryRoles, n)
				}
			}
		}
		if err != nil {
			tc.Error = err.Error()
		} else {
			tc.OK = true
		}
		slices.Sort(tc.Roles)
		byAud[a] = tc
		rep.Tokens = append(rep.Tokens, tc)
	}
	for _, sec := range tenant.AllSections {
		sc := SectionCheck{Section: sec, Readable: true}
		for _, n := range ReadPermissions[sec] {
			tc := byAud[n.Audience]
			if n.Audience == AudienceSharePoint && !n.Optional && tc.OK && tc.Credential == CredentialSecret {
				sc.Readable = false
				sc.Missing = appendOnce(sc.Missing, "a certificate credential: "+SecretTokenFix)
			}
			if !tc.OK {
				if !n.Optional {
					sc.Readable = false
					// The token's error is in Tokens: said once, not per section.
					sc.Missing = appendOnce(sc.Missing, fmt.Sprintf("the %s token (see its error above)", n.Audience))
				}
				continue
			}
			if len(n.AnyOf) == 0 || hasAny(tc.Roles, n.AnyOf) {
				continue
			}
			want := describe(n.Grant)
			if n.Optional {
				sc.Warnings = append(sc.Warnings, want+": "+n.Without)
				continue
			}
			sc.Readable = false
			sc.Missing = append(sc.Missing, want)
		}
		if sec == tenant.SectionExchange {
			if tc := byAud[AudienceExchange]; tc.OK && len(tc.DirectoryRoles) == 0 {
				sc.Warnings = append(sc.Warnings, "no Global Reader or Exchange Administrator role seen in the token: the admin API refuses cmdlets without an Entra role")
			}
		}
		switch tc := byAud[AudienceTeams]; {
		case sec == tenant.SectionTeams && tc.OK && len(tc.DirectoryRoles) == 0:
			sc.Readable = false
			sc.Missing = append(sc.Missing, "an Entra role that may read Teams settings, such as Global Reader or Teams Administrator (none in the Teams token): the Teams admin API takes no API permission")
		}
		switch tc := byAud[AudienceFabric]; {
		case sec == tenant.SectionPowerBI && tc.OK && len(tc.Roles) > 0:
			sc.Readable = false
			sc.Missing = append(sc.Missing, "no Fabric or Power BI application permission: Fabric refuses its admin API to apps that hold one (the token carries "+strings.Join(tc.Roles, ", ")+")")
		case sec == tenant.SectionPowerBI && tc.OK:
			sc.Warnings = append(sc.Warnings, "cannot be checked from a token: the service principal must be in a security group allowed by the Fabric tenant setting \"Service principals can access read-only admin APIs\"")
		}
		rep.Sections = append(rep.Sections, sc)
	}
	return rep
}

// WriteCheck says whether remediation may change a section: what the
// tokens lack of WritePermissions.
type WriteCheck struct {
	Section  tenant.Section `json:"section"`
	Writable bool           `json:"writable"`
	Missing  []string       `json:"missing,omitempty"`
}

// CheckWrite checks the roles of r's tokens against WritePermissions,
// for tenants whose remediation may change things (approve or auto).
func (r *DoctorReport) CheckWrite() []WriteCheck {
	byAud := map[Audience]TokenCheck{}
	for _, t := range r.Tokens {
		byAud[t.Audience] = t
	}
	out := make([]WriteCheck, 0, len(tenant.AllSections))
	for _, sec := range tenant.AllSections {
		wc := WriteCheck{Section: sec, Writable: true}
		for _, g := range WritePermissions[sec] {
			tc := byAud[g.Audience]
			switch {
			case !tc.OK:
				wc.Writable = false
				wc.Missing = appendOnce(wc.Missing, fmt.Sprintf("the %s token (see its error above)", g.Audience))
			case !hasAny(tc.Roles, g.AnyOf):
				wc.Writable = false
				wc.Missing = append(wc.Missing, describe(g))
			}
		}
		out = append(out, wc)
	}
	return out
}

func describe(g Grant) string {
	app := map[Audience]string{AudienceGraph: "Microsoft Graph", AudienceSharePoint: "SharePoint", AudienceExchange: "Office 365 Exchange Online",
		AudienceTeams: "Skype and Teams Tenant Admin API", AudienceFabric: "Microsoft Fabric"}[g.Audience]
	return strings.Join(g.AnyOf, " or ") + " (" + app + ", application)"
}

func hasAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

type claims struct {
	Roles []string `json:"roles"`
	Wids  []string `json:"wids"`
	Exp   int64    `json:"exp"`
	// AppIDACR (v1 tokens) and AzpACR (v2 tokens) say how the client
	// authenticated: "0" public client, "1" client secret, "2" certificate
	// or other client assertion.
	AppIDACR string `json:"appidacr"`
	AzpACR   string `json:"azpacr"`
}

// Credential kinds a token's claims can name.
const (
	CredentialSecret      = "client secret"
	CredentialCertificate = "certificate"
)

func (c claims) credential() string {
	acr := c.AppIDACR
	if acr == "" {
		acr = c.AzpACR
	}
	switch acr {
	case "1":
		return CredentialSecret
	case "2":
		return CredentialCertificate
	}
	return ""
}

// SecretTokenFix says why SharePoint refuses a client-secret token and
// what to do instead.
const SecretTokenFix = `SharePoint refuses app-only tokens obtained with a client secret ("Unsupported app only token"); ` +
	`authenticate with a certificate (credentials.method: certificate), a workload identity or a managed identity`

// ErrSecretToken is returned for a SharePoint request whose token was
// obtained with a client secret: the service would refuse it.
var ErrSecretToken = errors.New(SecretTokenFix)

// decodeClaims reads a JWT's payload without verifying it: doctor only
// reports what the token says about itself.
func decodeClaims(tok string) (claims, error) {
	var c claims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, errors.New("token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, fmt.Errorf("token payload: %w", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("token payload: %w", err)
	}
	if c.Roles == nil {
		c.Roles = []string{}
	}
	return c, nil
}
