package tenant_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

// spoolResults makes n results in an order unrelated to their
// fingerprints, plus a second result with the fingerprint of the first.
func spoolResults(n int) []tenant.Result {
	out := make([]tenant.Result, 0, n+1)
	for i := 0; i < n; i++ {
		r := tenant.Result{RuleID: fmt.Sprintf("links.rule%d", i%3), Section: tenant.SectionLinks, Outcome: tenant.Fail,
			Severity: tenant.SeverityHigh, ObjectKey: fmt.Sprintf("d|i%05d|p", i), ObjectName: "naïve/ünïcode\x00name", ObjectURL: fmt.Sprintf("https://fabrikam.sharepoint.com/:w:/s/x/E%05d", i),
			Expected: "no anyone links", Actual: "anonymous", Message: fmt.Sprintf("message %d", i)}
		switch i % 4 {
		case 1:
			r.Outcome, r.Exception = tenant.Pass, "EX-1"
		case 2:
			r.Outcome, r.Count = tenant.Pass, i
		case 3:
			r.Outcome, r.Actual = tenant.Unknown, ""
		}
		if i%5 == 0 { // remediation plans from the expectation: it must survive the spool
			r.Expect = &tenant.Expectation{Scale: tenant.ScaleDomainMode, AtLeast: "blockList", Found: "allowList",
				KeepOut: []string{"mailinator.com", "*.tk"}, LetIn: []string{"mailinator.com"}, Domain: "ä.example"}
		}
		out = append(out, r)
	}
	if n > 0 {
		dup := out[0]
		dup.Message = "second"
		out = append(out, dup)
	}
	return out
}

func TestResultSpool(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n, run int
	}{
		{"in memory", 40, 0},
		{"one run on disk", 40, 41},
		{"many runs", 1000, 37},
		{"empty", 0, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := spoolResults(tc.n)
			sp := tenant.NewResultSpool(dir, tc.run)
			defer sp.Close()
			var want tenant.Counts
			for i := range in {
				if err := sp.Add(&in[i]); err != nil {
					t.Fatal(err)
				}
				want.AddResult(&in[i])
			}
			if sp.Len() != len(in) || sp.Counts() != want {
				t.Fatalf("Len %d Counts %+v, want %d %+v", sp.Len(), sp.Counts(), len(in), want)
			}
			// The file is unlinked at once: nothing is left in dir.
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("spool left %d files in its directory", len(ents))
			}
			for pass := 0; pass < 2; pass++ { // read twice: a sealed spool reads again
				var got []tenant.Result
				prev := ""
				err := sp.Each(func(fp string, r *tenant.Result) error {
					if fp != r.Fingerprint() {
						t.Fatalf("fingerprint %s given for a result whose fingerprint is %s", fp, r.Fingerprint())
					}
					if fp < prev {
						t.Fatalf("fingerprint %s after %s", fp, prev)
					}
					prev = fp
					got = append(got, *r)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(in) {
					t.Fatalf("read %d results, added %d", len(got), len(in))
				}
				byFP := map[string][]tenant.Result{}
				for _, r := range in {
					byFP[r.Fingerprint()] = append(byFP[r.Fingerprint()], r)
				}
				for i := 0; i < len(got); {
					fp := got[i].Fingerprint()
					exp := byFP[fp]
					if !reflect.DeepEqual(got[i:i+len(exp)], exp) {
						t.Fatalf("results of %s: got %+v, want %+v (same fields, insertion order)", fp, got[i:i+len(exp)], exp)
					}
					i += len(exp)
				}
			}
			if err := sp.Add(&tenant.Result{RuleID: "x"}); !errors.Is(err, tenant.ErrSpoolSealed) {
				t.Errorf("Add after reading: %v, want ErrSpoolSealed", err)
			}
			if err := sp.Close(); err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := sp.Each(func(string, *tenant.Result) error { n++; return nil }); err != nil || n != 0 {
				t.Errorf("closed spool read %d results, %v", n, err)
			}
		})
	}
}

// A failing reader stops the read with its error.
func TestResultSpoolStops(t *testing.T) {
	sp := tenant.NewResultSpool(t.TempDir(), 5)
	defer sp.Close()
	in := spoolResults(20)
	for i := range in {
		if err := sp.Add(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := sp.Each(func(string, *tenant.Result) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Each returned %v after %d results, want stop after 3", err, n)
	}
}
