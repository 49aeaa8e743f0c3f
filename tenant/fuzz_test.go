package tenant

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the strict decoder. It must never
// panic, every error must name the input, and whatever it accepts must
// survive an encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"schema":"sharedrift.snapshot/v2"}`))
	f.Add([]byte(strings.Replace(minimal, `"status":{}`, `"status":{"links":{"state":"partial","error":"429"}},"links":[{"driveId":"d","itemId":"i","permissionId":"p","scope":"anonymous","expires":"2025-01-01T00:00:00+02:00"}]`, 1)))
	var full bytes.Buffer
	if err := Encode(&full, fullSnapshot()); err != nil {
		f.Fatal(err)
	}
	f.Add(full.Bytes())
	paths, _ := filepath.Glob("../testdata/snapshots/*.json")
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			if s != nil {
				t.Fatalf("Decode returned a snapshot along with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error %q does not name the input", err)
			}
			return
		}
		var first bytes.Buffer
		if err := Encode(&first, s); err != nil {
			t.Fatalf("Encode of an accepted snapshot: %v", err)
		}
		back, err := Decode(bytes.NewReader(first.Bytes()), "again.json")
		if err != nil {
			t.Fatalf("re-decoding our own encoding failed: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := Encode(&second, back); err != nil {
			t.Fatalf("second Encode: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("encoding is not stable:\n%s\n---\n%s", first.Bytes(), second.Bytes())
		}
	})
}
