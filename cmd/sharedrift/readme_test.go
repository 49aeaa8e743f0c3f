package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// envRunAsCLI makes the test binary act as the sharedrift binary (see
// TestMain), so that a test can run it as a separate process in a
// directory and environment of its choosing.
const envRunAsCLI = "SHAREDRIFT_TEST_RUN_AS_CLI"

// readmeFirstHour returns the commands of README.md's first-hour block:
// the fenced block after the first-hour marker, one command a line.
func readmeFirstHour(t *testing.T) [][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "<!-- first-hour:")
	if !ok {
		t.Fatal("README.md has no first-hour block")
	}
	_, rest, _ = strings.Cut(rest, "```sh\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's first-hour block is not closed")
	}
	var cmds [][]string
	sc := bufio.NewScanner(strings.NewReader(block))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := shellFields(t, line)
		if f[0] != "sharedrift" {
			t.Fatalf("README first-hour line %q does not run sharedrift", line)
		}
		cmds = append(cmds, f[1:])
	}
	return cmds
}

// TestReadmeFirstHour plays README.md's first hour as a new user: the
// binary run from an empty directory outside the repository, in a fresh
// HOME, with no flags but the ones the README gives. Every command must
// succeed and show what the demo did.
func TestReadmeFirstHour(t *testing.T) {
	cmds := readmeFirstHour(t)
	if len(cmds) < 5 || cmds[0][0] != "demo" {
		t.Fatalf("README first hour %v: want the demo first and then the commands that read its state", cmds)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home, work := t.TempDir(), t.TempDir()
	env := []string{envRunAsCLI + "=1", "HOME=" + home, "PATH=" + os.Getenv("PATH"), "TZ=UTC"}
	sh := func(args ...string) (string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Dir, cmd.Env = work, env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("sharedrift %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}

	var fingerprint string
	for _, args := range cmds {
		for i, a := range args {
			if a == "FINGERPRINT" {
				if fingerprint == "" {
					t.Fatalf("%v: no finding listed before it", args)
				}
				args[i] = fingerprint
			}
		}
		out, _ := sh(args...)
		switch key := strings.Join(args[:min(len(args), 2)], " "); {
		case key == "demo --once":
			if !strings.Contains(out, "Scan 1 of fabrikam: complete") || !strings.Contains(out, "links.anyone_on_confidential") {
				t.Fatalf("demo from %s:\n%s", work, out)
			}
		case args[0] == "history":
			// The scan is dated now, not at the fixture's recorded moment.
			today := time.Now().UTC().Format("2006-01-02")
			if !regexp.MustCompile(`(?m)^1\s+fabrikam\s+` + today + ` .*complete`).MatchString(out) {
				t.Errorf("history does not show the demo's scan of today (%s):\n%s", today, out)
			}
		case args[0] == "changes":
			if strings.TrimSpace(out) != "no changes" {
				t.Errorf("changes after one scan:\n%s", out)
			}
		case key == "findings list":
			m := regexp.MustCompile(`(?m)^([0-9a-f]{12})\s+critical\s+open\s+links\.anyone_on_confidential`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("findings list lacks the demo's critical finding:\n%s", out)
			}
			fingerprint = m[1]
		case key == "findings show":
			if !strings.Contains(out, "links.anyone_on_confidential") {
				t.Errorf("findings show:\n%s", out)
			}
		case key == "findings ack":
			if !regexp.MustCompile(`(?m)^acknowledged:\s+\d{4}-\d\d-\d\d `).MatchString(out) {
				t.Errorf("findings ack:\n%s", out)
			}
			if reason := flagValue(args, "--reason"); reason != "" && !strings.Contains(out, reason) {
				t.Errorf("findings ack does not show its reason %q:\n%s", reason, out)
			}
			if flagValue(args, "--for") != "" && !regexp.MustCompile(`(?mi)^snoozed[^\n]*\d{4}-\d\d-\d\d`).MatchString(out) {
				t.Errorf("findings ack --for shows no expiry:\n%s", out)
			}
		case args[0] == "report":
			html, err := os.ReadFile(filepath.Join(work, "review.html"))
			if err != nil || !bytes.Contains(html, []byte("fabrikam")) || !bytes.Contains(html, []byte("Payroll 2026.xlsx")) {
				t.Errorf("report did not write review.html with the demo's findings: %v", err)
			}
		case key == "db prune":
			if !strings.Contains(out, "would prune 0 scans") {
				t.Errorf("a dry run over a store made minutes ago:\n%s", out)
			}
		}
	}
	if fingerprint == "" {
		t.Fatal("the README lists no findings")
	}
	// The acknowledgement is in the store the demo wrote.
	out, _ := sh("findings", "list", "--tenant", "fabrikam.onmicrosoft.com")
	if !regexp.MustCompile(fingerprint + `\s+critical\s+open,acked`).MatchString(out) {
		t.Errorf("findings list after ack, by initial domain:\n%s", out)
	}
	// Nothing was written next to the user: the state is in HOME.
	entries, _ := os.ReadDir(work)
	for _, e := range entries {
		if e.Name() != "review.html" {
			t.Errorf("left %s in the working directory", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(home, ".local", "state", "sharedrift", "sharedrift.db")); err != nil {
		t.Errorf("the default store is not where the README says: %v", err)
	}
}

// shellFields splits a README command line as a shell would for the
// quoting the README uses: words, and double-quoted words with spaces.
func shellFields(t *testing.T, line string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	in, word := false, false
	for _, r := range line {
		switch {
		case r == '"':
			in, word = !in, true
		case r == ' ' && !in:
			if word {
				out = append(out, cur.String())
				cur.Reset()
				word = false
			}
		default:
			cur.WriteRune(r)
			word = true
		}
	}
	if in {
		t.Fatalf("README line %q: unclosed quote", line)
	}
	if word {
		out = append(out, cur.String())
	}
	return out
}

// flagValue is the value of flag in args ("--flag value"), or "".
func flagValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}
