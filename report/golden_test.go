package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/report")

var goldenDir = filepath.Join("..", "testdata", "golden", "report")

// checkGolden compares got with the golden file name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %s\nwant: %s\n(run go test ./report -run Golden -update after checking the change)", name, i+1, g, w)
			}
		}
	}
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
