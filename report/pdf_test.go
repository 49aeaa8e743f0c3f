package report

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sharedrift/sharedrift/report/browsertest"
)

// TestPDF prints the fabrikam report with the same headless Chromium the
// CLI runs and keeps the PDF as a test artifact.
func TestPDF(t *testing.T) {
	bin, err := browsertest.FindChromium()
	if err != nil {
		t.Fatal(err) // a missing browser is a broken test setup, not a skip
	}
	var buf bytes.Buffer
	if err := PDF(context.Background(), &buf, fabrikamInput(t), bin); err != nil {
		t.Fatalf("PDF: %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) || buf.Len() < 10_000 {
		t.Fatalf("output is not a plausible PDF: %d bytes starting %q", buf.Len(), buf.Bytes()[:min(8, buf.Len())])
	}
	if err := os.MkdirAll(artifactDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifactDir, "report-fabrikam-cli.pdf"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPDFBadBrowser(t *testing.T) {
	// A binary that exits without printing must not yield a PDF.
	var buf bytes.Buffer
	err := PDF(context.Background(), &buf, sampleInput(), "/bin/true")
	if err == nil || buf.Len() != 0 {
		t.Fatalf("PDF with /bin/true = %v, %d bytes; want an error and no output", err, buf.Len())
	}
}

func TestFindChromiumEnv(t *testing.T) {
	t.Setenv(EnvChromium, filepath.Join(t.TempDir(), "missing"))
	if _, err := FindChromium(); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing %s: err = %v, want not exist", EnvChromium, err)
	}
	t.Setenv(EnvChromium, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := FindChromium(); !errors.Is(err, ErrNoChromium) {
		t.Errorf("empty PATH: err = %v, want ErrNoChromium", err)
	}
}
