package report

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/sharedrift/sharedrift/internal/golden"
)

var goldenDir = filepath.Join("..", "testdata", "golden", "report")

// checkGolden compares got with the golden file name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join(goldenDir, name), got)
}

func TestGoldenFabrikam(t *testing.T) {
	in := fabrikamInput(t)
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"fabrikam.md", func(b *bytes.Buffer) error { return Markdown(b, in) }},
		{"fabrikam.json", func(b *bytes.Buffer) error { return JSON(b, in) }},
	}
	for _, inv := range Inventories {
		tests = append(tests, struct {
			name   string
			render func(*bytes.Buffer) error
		}{"fabrikam-" + string(inv) + ".csv", func(b *bytes.Buffer) error { return CSV(b, inv, in) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.render(&buf); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, buf.Bytes())
		})
	}
}
