package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRenderAllFormats(t *testing.T) {
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, f, sampleInput()); err != nil {
				t.Fatalf("Render: %v", err)
			}
			if buf.Len() == 0 {
				t.Fatal("empty output")
			}
			if dir := os.Getenv("SHAREDRIFT_REPORT_DUMP"); dir != "" {
				os.WriteFile(filepath.Join(dir, "sample."+string(f)), buf.Bytes(), 0o644)
			}
		})
	}
}
