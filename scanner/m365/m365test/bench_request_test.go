package m365test

import (
	"net/http"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
)

// BenchmarkServe measures the fake answering the collector's heaviest
// requests on a generated tenant, in process (no HTTP): a page of 999
// guests with $select, $filter and $expand, a page of 120 sign-ins, a
// drive delta page and a page of 500 CSOM site properties.
func BenchmarkServe(b *testing.B) {
	spec := Spec{Seed: 3, Sites: 600, ItemsPerDrive: 1000, SharedPerDrive: 100, LinksPerShared: 1, Guests: 2000}
	s, err := NewGenerated(spec, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	h := http.Header{"Authorization": {"Bearer t"}}
	cases := []struct{ name, method, uri, body string }{
		{"guests", "GET", "/v1.0/users?$select=id,displayName,mail,userPrincipalName,userType,externalUserState,externalUserStateChangeDateTime,createdDateTime,accountEnabled&$filter=userType+eq+'Guest'&$top=999&$expand=sponsors($select=id,displayName)", ""},
		{"signins", "GET", "/v1.0/users?$select=id,userType,signInActivity&$filter=userType+eq+'Guest'&$top=120", ""},
		{"drive delta", "GET", "/v1.0/drives/b%21gen-00001/root/delta?$select=id,name,parentReference,folder,file,root,shared,deleted&$top=999", ""},
		{"csom sites", "POST", "/_vti_bin/client.svc/ProcessQuery", m365.SitesQueryXML("", false, []string{"Url", "Title", "Template", "GroupId", "LockState", "SharingCapability", "SharingDomainRestrictionMode", "SharingAllowedDomainList", "SharingBlockedDomainList", "SensitivityLabel"})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rr := s.handle(c.method, c.uri, h, []byte(c.body))
			if rr.status != http.StatusOK {
				b.Fatalf("%d %s", rr.status, rr.body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s.handle(c.method, c.uri, h, []byte(c.body))
			}
		})
	}
}

// BenchmarkCheckQuery measures the schema check alone for the collector's
// largest query (the guests page: $select of nine names, $filter,
// $expand with a nested $select, $top).
func BenchmarkCheckQuery(b *testing.B) {
	s := newServer(Options{})
	h := http.Header{}
	path := "/v1.0/users"
	q := "$select=id,displayName,mail,userPrincipalName,userType,externalUserState,externalUserStateChangeDateTime,createdDateTime,accountEnabled&$filter=userType+eq+'Guest'&$top=999&$expand=sponsors($select=id,displayName)"
	if rr := s.checkGraphGet(path, q, h); rr != nil {
		b.Fatalf("%s", rr.body)
	}
	b.ReportAllocs()
	for range b.N {
		s.checkGraphGet(path, q, h)
	}
}
