package m365_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sharedrift/sharedrift/scanner/m365"
	"github.com/sharedrift/sharedrift/scanner/m365/m365test"
)

func verdicts(rep m365.ProbeReport) map[string]m365.Verdict {
	out := map[string]m365.Verdict{}
	for _, v := range rep.Assumptions {
		out[v.ID] = v
	}
	return out
}

// TestProbe: a probe of the fixture tenant reads every endpoint once,
// judges every assumption, and writes nothing readable of the tenant;
// answers that disagree with an assumption contradict it, with evidence.
func TestProbe(t *testing.T) {
	t.Run("fixture", func(t *testing.T) {
		srv, c := fake(t, m365test.Options{})
		rep := m365.Probe(context.Background(), c)
		if len(rep.Assumptions) != len(m365.Assumptions) {
			t.Fatalf("%d verdicts for %d assumptions", len(rep.Assumptions), len(m365.Assumptions))
		}
		want := map[string]string{"settings-bare": m365.Confirmed, "csom-domain-list-spaces": m365.Confirmed,
			"csom-next-start-index": m365.NotSeen, "b2b-definition-keys": m365.Confirmed, "link-permission-fields": m365.Confirmed,
			"teams-config-object": m365.Confirmed, "fabric-settings-value": m365.Confirmed}
		for id, v := range verdicts(rep) {
			if v.State != want[id] || v.Evidence == "" {
				t.Errorf("%s: %s (%s), want %s", id, v.State, v.Evidence, want[id])
			}
		}
		for _, a := range rep.Answers {
			if a.Status != 200 || a.Error != "" {
				t.Errorf("%s: %d %s", a.Endpoint, a.Status, a.Error)
			}
		}
		for k, n := range srv.Calls() {
			if !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "CSOM ") && !strings.HasPrefix(k, "EXO Get-") && k != "POST /v1.0/$batch" {
				t.Errorf("the probe sent %s x%d: not a read", k, n)
			}
		}
		var buf bytes.Buffer
		if err := m365.WriteProbe(&buf, rep); err != nil {
			t.Fatal(err)
		}
		// Names, ids, domains and URLs of the tenant are all hashed.
		for _, secret := range []string{"fabrikam", "gmail.com", "contractor-hub", "Payroll", "b!Qx1-fin", "2b7e4d1a-8c3f-4e6a-b5d2-9f0a1c3e5b72", "meganb"} {
			if strings.Contains(strings.ToLower(buf.String()), strings.ToLower(secret)) {
				t.Errorf("probe file holds %q", secret)
			}
		}
		if !strings.Contains(buf.String(), `"sharingCapability": "string"`) || !strings.Contains(buf.String(), `"sha256:`) {
			t.Errorf("probe file lacks property types or hashed values:\n%.2000s", buf.String())
		}
	})

	// Each rewrite makes the service answer as an assumption says it
	// never does.
	contradictions := []struct {
		id, pattern string
		rewrite     func([]byte) []byte
		evidence    string
	}{
		{"settings-bare", "GET /v1.0/admin/sharepoint/settings", func(b []byte) []byte {
			return append(append([]byte(`{"value":`), b...), '}')
		}, "wrapped in value"},
		{"csom-domain-list-spaces", "CSOM Tenant", func(b []byte) []byte {
			return bytes.Replace(b, []byte("gmail.com contractor-hub.net"), []byte("gmail.com,contractor-hub.net"), 1)
		}, "commas"},
		{"csom-next-start-index", "CSOM GetSitePropertiesFromSharePoint", func(b []byte) []byte {
			return regexp.MustCompile(`"NextStartIndexFromSharePoint":\s*null`).ReplaceAll(b, []byte(`"NextStartIndexFromSharePoint":12`))
		}, "is number"},
		{"b2b-definition-keys", "GET /beta/policies/b2bManagementPolicies", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`\"B2BManagementPolicy\"`), []byte(`\"OtherPolicy\"`), 1)
		}, "no B2BManagementPolicy"},
		{"link-permission-fields", "GET /v1.0/drives/*/items/*/permissions", func(b []byte) []byte {
			return regexp.MustCompile(`"hasPassword":\s*false,`).ReplaceAll(b, []byte(`"hasPassword":false,"inheritedFrom":{"id":"01PARENT"},`))
		}, "inheritedFrom present"},
	}
	for _, tt := range contradictions {
		t.Run("contradicted "+tt.id, func(t *testing.T) {
			srv, c := fake(t, m365test.Options{})
			srv.Faults.Add(tt.pattern, m365test.Fault{Rewrite: func(_ string, b []byte) []byte { return tt.rewrite(b) }})
			v := verdicts(m365.Probe(context.Background(), c))[tt.id]
			if srv.Faults.Fired(tt.pattern) == 0 {
				t.Fatalf("%s never asked", tt.pattern)
			}
			if v.State != m365.Contradicted || !strings.Contains(v.Evidence, tt.evidence) {
				t.Errorf("%+v, want contradicted with %q", v, tt.evidence)
			}
		})
	}
}
