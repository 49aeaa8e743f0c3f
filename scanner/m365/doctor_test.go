package m365_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
	"github.com/sharedrift/sharedrift/tenant"
)

type failingTokens struct{}

func (failingTokens) Token(context.Context, string) (string, error) {
	return "", errors.New("AADSTS7000215: invalid client secret")
}

func TestDoctor(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	full := srv.Meta().Roles
	t.Run("fixture roles read everything", func(t *testing.T) {
		rep := m365.Doctor(context.Background(), srv.Tokens(full), srv.Endpoints())
		if !rep.OK() {
			t.Errorf("report %+v", rep)
		}
		for _, s := range rep.Sections {
			// Power BI's warning says what no token shows (the Fabric
			// tenant setting that lets the service principal in).
			if len(s.Missing) > 0 || (s.Section != tenant.SectionExchange && s.Section != tenant.SectionPowerBI && len(s.Warnings) > 0) {
				t.Errorf("%s: %+v", s.Section, s)
			}
		}
	})
	t.Run("missing roles are named", func(t *testing.T) {
		roles := map[m365.Audience][]string{
			m365.AudienceGraph:      {"Sites.Read.All", "User.Read.All", "Policy.Read.All"},
			m365.AudienceSharePoint: {},
			m365.AudienceExchange:   {"Exchange.ManageAsApp"},
		}
		rep := m365.Doctor(context.Background(), srv.Tokens(roles), srv.Endpoints())
		want := map[tenant.Section][]string{
			tenant.SectionSharePoint: {"SharePointTenantSettings.Read.All or SharePointTenantSettings.ReadWrite.All (Microsoft Graph, application)", "Sites.FullControl.All (SharePoint, application)"},
			tenant.SectionSites:      {"Sites.FullControl.All (SharePoint, application)"},
			tenant.SectionLinks:      nil,
			tenant.SectionGuests:     nil,
			tenant.SectionEntra:      {"Policy.Read.B2BManagementPolicy or Policy.ReadWrite.B2BManagementPolicy (Microsoft Graph, application)"},
			tenant.SectionGroups:     {"Directory.Read.All or Directory.ReadWrite.All (Microsoft Graph, application)"},
			tenant.SectionExchange:   nil,
		}
		for _, s := range rep.Sections {
			if !slices.Equal(s.Missing, want[s.Section]) || s.Readable != (want[s.Section] == nil) {
				t.Errorf("%s: readable %v missing %q, want %q", s.Section, s.Readable, s.Missing, want[s.Section])
			}
			if s.Section == tenant.SectionGuests && !strings.Contains(strings.Join(s.Warnings, ";"), "AuditLog.Read.All") {
				t.Errorf("guests warnings %q lack AuditLog.Read.All", s.Warnings)
			}
		}
		if rep.Tokens[0].Audience != m365.AudienceGraph || len(rep.Tokens[0].Roles) != 3 || rep.Tokens[0].Expires.IsZero() {
			t.Errorf("graph token check %+v", rep.Tokens[0])
		}
	})
	t.Run("no token", func(t *testing.T) {
		rep := m365.Doctor(context.Background(), failingTokens{}, srv.Endpoints())
		// The error is the token's, said once; sections point to it.
		if rep.OK() || rep.Tokens[0].OK || !strings.Contains(rep.Tokens[0].Error, "AADSTS7000215") ||
			rep.Sections[0].Missing[0] != "the graph token (see its error above)" {
			t.Errorf("report %+v", rep)
		}
	})
}

// acrTokens re-signs (unsigned, as the fake does) every token with an
// appidacr claim: "1" for a client secret, "2" for a certificate.
type acrTokens struct {
	inner m365.TokenProvider
	acr   string
}

func (a acrTokens) Token(ctx context.Context, scope string) (string, error) {
	tok, err := a.inner.Token(ctx, scope)
	if err != nil {
		return "", err
	}
	parts := strings.Split(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", err
	}
	c["appidacr"] = a.acr
	b, _ := json.Marshal(c)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + ".", nil
}

// TestDoctorSecretCredential: with every role granted, a token obtained
// with a client secret leaves the sections that read SharePoint unusable,
// naming the fix; a certificate token reads everything.
func TestDoctorSecretCredential(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	full := srv.Tokens(srv.Meta().Roles)
	rep := m365.Doctor(context.Background(), acrTokens{full, "1"}, srv.Endpoints())
	if rep.OK() {
		t.Fatal("a client-secret tenant reported fully readable")
	}
	for _, tc := range rep.Tokens {
		if tc.Credential != m365.CredentialSecret {
			t.Errorf("%s token credential %q", tc.Audience, tc.Credential)
		}
	}
	for _, s := range rep.Sections {
		usesSharePoint := s.Section == tenant.SectionSharePoint || s.Section == tenant.SectionSites
		if s.Readable == usesSharePoint {
			t.Errorf("%s: readable %v with a client secret", s.Section, s.Readable)
		}
		if usesSharePoint && !strings.Contains(strings.Join(s.Missing, ";"), "credentials.method: certificate") {
			t.Errorf("%s: missing %q does not name the fix", s.Section, s.Missing)
		}
	}
	if rep := m365.Doctor(context.Background(), acrTokens{full, "2"}, srv.Endpoints()); !rep.OK() || rep.Tokens[1].Credential != m365.CredentialCertificate {
		t.Errorf("certificate tenant: %+v", rep)
	}
}

// TestSecretTokenNotSentToSharePoint: a CSOM request with a client-secret
// token is refused before it is sent, naming the fix; Graph still answers.
func TestSecretTokenNotSentToSharePoint(t *testing.T) {
	srv, _ := fake(t, m365test.Options{})
	o := srv.ClientOptions()
	o.Tokens = acrTokens{srv.Tokens(srv.Meta().Roles), "1"}
	c, err := m365.New(o)
	if err != nil {
		t.Fatal(err)
	}
	csomCalls := func() (n int) {
		for k, v := range srv.Calls() {
			if strings.HasPrefix(k, "CSOM") {
				n += v
			}
		}
		return n
	}
	_, err = c.ProcessQuery(context.Background(), m365.TenantQueryXML([]string{"SharingCapability"}))
	if !errors.Is(err, m365.ErrSecretToken) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err %v", err)
	}
	var v any
	if err := c.GraphGet(context.Background(), m365.V1, "/groupSettings", &v); err != nil {
		t.Errorf("graph with a secret token: %v", err)
	}
	if n := csomCalls(); n != 0 {
		t.Errorf("%d CSOM requests sent", n)
	}
}
