package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// FormatPDF is the HTML report printed by headless Chromium. It is not in
// Formats: it needs a browser on the machine, so only callers that find one
// (the CLI) offer it.
const FormatPDF Format = "pdf"

// EnvChromium names the environment variable that points at the Chromium
// (or Chrome) binary used to print PDF reports.
const EnvChromium = "SHAREDRIFT_CHROMIUM"

// ErrNoChromium is returned when no Chromium binary can be found.
var ErrNoChromium = errors.New("no Chromium found for --format pdf: install chromium or set " + EnvChromium + " to its binary")

// chromiumNames are the binary names looked up on PATH, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome", "headless_shell"}

// FindChromium returns $SHAREDRIFT_CHROMIUM, else the first Chromium-like
// binary on PATH, else ErrNoChromium.
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvChromium, p, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("%s=%s: not an executable file", EnvChromium, p)
		}
		return p, nil
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// pdfTimeout bounds one print; a report of any size renders in seconds.
const pdfTimeout = 2 * time.Minute

// PDF renders the HTML report and prints it to w with headless Chromium
// (bin): the report's print stylesheet lays out A4 pages, the executive
// page first. The HTML loads nothing from the network, and the browser runs
// with a throwaway profile and its own network features off.
func PDF(ctx context.Context, w io.Writer, in *Input, bin string) error {
	return printPDF(ctx, w, bin, func(w io.Writer) error { return HTML(w, in) })
}

// RollupPDF prints the all-tenants rollup like PDF prints a report.
func RollupPDF(ctx context.Context, w io.Writer, r *Rollup, bin string) error {
	return printPDF(ctx, w, bin, func(w io.Writer) error { return RenderRollup(w, FormatHTML, r) })
}

func printPDF(ctx context.Context, w io.Writer, bin string, html func(io.Writer) error) error {
	dir, err := os.MkdirTemp("", "sharedrift-pdf-")
	if err != nil {
		return fmt.Errorf("pdf report: %w", err)
	}
	defer os.RemoveAll(dir)
	page := filepath.Join(dir, "report.html")
	if err := writeFileAtomic(page, html); err != nil {
		return err
	}
	out := filepath.Join(dir, "report.pdf")
	ctx, cancel := context.WithTimeout(ctx, pdfTimeout)
	defer cancel()
	args := []string{
		"--headless", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-sync",
		"--disable-background-networking", "--disable-component-update", "--disable-default-apps",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf=" + out, "file://" + page,
	}
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root (containers).
		args = append([]string{"--no-sandbox"}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pdf report: %s: %w: %s", bin, err, lastLine(stderr.String()))
	}
	f, err := os.Open(out)
	if err != nil {
		return fmt.Errorf("pdf report: %s printed nothing: %w: %s", bin, err, lastLine(stderr.String()))
	}
	defer f.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "%PDF-" {
		return fmt.Errorf("pdf report: %s wrote something that is not a PDF", bin)
	}
	if _, err := w.Write(head); err != nil {
		return fmt.Errorf("write pdf report: %w", err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("write pdf report: %w", err)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
