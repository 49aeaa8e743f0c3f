package store

import (
	"testing"

	"github.com/sharedrift/sharedrift/tenant"
)

// TestDigestStableWithoutLabel pins the digest of a result without a
// sensitivity label to the value written before labels were stored (FNV-1a
// over severity, name, URL, actual, message), so an upgrade does not
// rewrite every finding; a label changes it, so a labelled finding is
// rewritten once and gets its label.
func TestDigestStableWithoutLabel(t *testing.T) {
	r := tenant.Result{Severity: tenant.SeverityHigh, ObjectName: "/Payroll/Payroll 2026.xlsx",
		ObjectURL: "https://fabrikam.sharepoint.com/:x:/s/Finance/E1", Actual: "anonymous", Message: "m"}
	if got, want := digest(&r), int64(-6529297701890530535); got != want {
		t.Errorf("digest without label = %d, want %d (the digest before labels)", got, want)
	}
	before := digest(&r)
	r.ObjectLabel = "Confidential"
	if digest(&r) == before {
		t.Error("a label does not change the digest")
	}
	// Fields stay apart: the label is not read as part of the message.
	r2 := r
	r2.Message, r2.ObjectLabel = "mConfidential", ""
	if digest(&r) == digest(&r2) {
		t.Error("label and message run together in the digest")
	}
}
