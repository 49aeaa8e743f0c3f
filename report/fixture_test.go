package report

import "testing"

// fabrikamInput is the report input for the fabrikam fixture.
func fabrikamInput(t *testing.T) *Input {
	t.Helper()
	return sampleInput()
}
