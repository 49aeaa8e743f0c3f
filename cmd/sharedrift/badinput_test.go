package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandsRejectBadInput runs every command with a bad flag, file or
// tenant: each must exit 1 with one error line naming what was wrong and
// where, print nothing on stdout, and write nothing (no store, no output
// file).
func TestCommandsRejectBadInput(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv(envStoreDSN, "")
	t.Setenv(envStateDir, "")

	files := t.TempDir()
	badYAML := writeFile(t, "bad.yaml", "sharepoint: [\n")
	badJSON := writeFile(t, "bad.json", `{"schema": `)
	config := writeFile(t, "sharedrift.yaml", "tenants:\n  a:\n    fixture: "+filepath.Join("..", "..", "testdata", "tenants", "contoso")+"\n    baseline: recommended\n")
	missing := filepath.Join(files, "missing.json")
	out := filepath.Join(files, "out")
	fixture := filepath.Join("..", "..", "testdata", "tenants", "fabrikam")
	noStore := filepath.Join(state, "sharedrift", "sharedrift.db")

	// A store that holds one tenant, for the unknown-tenant cases.
	recorded := t.TempDir()
	if _, errOut, code := cli(t, "scan", "--snapshot", contoso, "--state-dir", recorded); code != exitOK {
		t.Fatalf("recording a scan: exit %d\n%s", code, errOut)
	}
	notInStore := []string{`--tenant "nobody"`, "no such tenant", "(tenants: contoso)"}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown subcommand", []string{"findings", "shwo"}, []string{`unknown command "shwo"`, "did you mean show"}},
		{"unknown subcommand of baseline", []string{"baseline", "lsit"}, []string{`unknown command "lsit"`, "did you mean list"}},
		{"unknown subcommand of rules", []string{"rules", "show", "x"}, []string{`unknown command "show" for "sharedrift rules"`}},
		{"scan unknown format", []string{"scan", "--snapshot", contoso, "--format", "xml"}, []string{"--format", `"xml"`, "table, json or markdown"}},
		{"scan missing snapshot", []string{"scan", "--snapshot", missing}, []string{"read snapshot", missing}},
		{"scan malformed snapshot", []string{"scan", "--snapshot", badJSON}, []string{badJSON}},
		{"scan malformed baseline", []string{"scan", "--snapshot", contoso, "--baseline", badYAML}, []string{"load baseline", badYAML, "malformed YAML"}},
		{"scan bad duration", []string{"scan", "--snapshot", contoso, "--section-timeout", "5x"}, []string{"--section-timeout", `"5x"`}},
		{"scan unknown store scheme", []string{"scan", "--snapshot", contoso, "--store", "bogus://x"}, []string{"--store", `"bogus://"`}},
		{"scan missing config", []string{"scan", "--config", missing, "--tenant", "a"}, []string{"no such file", missing}},
		{"scan malformed config", []string{"scan", "--config", badYAML, "--tenant", "a"}, []string{badYAML, "invalid YAML"}},
		{"scan unknown tenant", []string{"scan", "--config", config, "--tenant", "nobody"}, []string{config, `tenant "nobody" is not configured`}},
		{"scan missing fixture", []string{"scan", "--fixture", missing}, []string{"fixture", missing}},
		{"report unknown format", []string{"report", "--snapshot", contoso, "--format", "docx", "-o", filepath.Join(out, "r.docx")}, []string{"--format", `"docx"`}},
		{"report malformed previous", []string{"report", "--snapshot", contoso, "--previous", badJSON, "-o", filepath.Join(out, "r.html")}, []string{"--previous", badJSON}},
		{"report malformed baseline", []string{"report", "--snapshot", contoso, "--baseline", badYAML, "-o", filepath.Join(out, "r.html")}, []string{badYAML}},
		{"report without a store", []string{"report", "--tenant", "nobody"}, []string{"no store at", noStore}},
		{"report unknown tenant", []string{"report", "--tenant", "nobody", "--state-dir", recorded}, notInStore},
		{"history bad age", []string{"history", "--since", "3x"}, []string{"--since", `"3x"`}},
		{"history without a store", []string{"history"}, []string{"no store at", noStore, "record a scan first"}},
		{"history missing config", []string{"history", "--config", missing}, []string{"--config", missing, "no such file"}},
		{"history malformed config", []string{"history", "--config", badYAML}, []string{badYAML, "invalid YAML"}},
		{"history missing state dir", []string{"history", "--state-dir", missing}, []string{"no store at", missing, "(from --state-dir)", "no store exists yet"}},
		{"history missing sqlite store", []string{"history", "--store", "sqlite:" + missing}, []string{"no store at", missing, "(from --store)"}},
		{"history misspelt flag", []string{"history", "--tennant", "x"}, []string{"unknown flag: --tennant", "did you mean --tenant?"}},
		{"findings misspelt flag", []string{"findings", "list", "--state-dri", "x"}, []string{"unknown flag: --state-dri", "did you mean --state-dir?"}},
		{"notify status without a store", []string{"notify", "status", "--state-dir", missing}, []string{"no store at", missing}},
		{"db prune without a store", []string{"db", "prune", "--dry-run", "--state-dir", missing}, []string{"no store at", missing}},
		{"history unknown tenant", []string{"history", "--tenant", "nobody", "--state-dir", recorded}, notInStore},
		{"changes unknown kind", []string{"changes", "--kind", "weird"}, []string{"--kind", `"weird"`}},
		{"changes unknown tenant", []string{"changes", "--tenant", "nobody", "--state-dir", recorded}, notInStore},
		{"findings without a store", []string{"findings", "list"}, []string{"no store at", noStore}},
		{"findings unknown tenant", []string{"findings", "list", "--tenant", "nobody", "--state-dir", recorded}, notInStore},
		{"finding of an unknown tenant", []string{"findings", "ack", "ffffffff", "--tenant", "nobody", "--state-dir", recorded}, notInStore},
		{"db status without a store", []string{"db", "status"}, []string{"no store at", noStore}},
		{"db prune bad age", []string{"db", "prune", "--older-than", "3x"}, []string{"--older-than", `"3x"`}},
		{"migrate unknown store scheme", []string{"migrate", "--store", "bogus://x"}, []string{"--store", `"bogus://"`}},
		{"daemon missing config", []string{"daemon", "--config", missing}, []string{"no such file", missing}},
		{"daemon malformed config", []string{"daemon", "--config", badYAML}, []string{badYAML, "invalid YAML"}},
		{"demo bad interval", []string{"demo", "--once", "--interval", "3x"}, []string{"--interval", `"3x"`}},
		{"demo missing fixture", []string{"demo", "--once", "--fixture", missing}, []string{"fixture", missing, "not found"}},
		{"snapshot malformed snapshot", []string{"snapshot", "--snapshot", badJSON, "-o", filepath.Join(out, "s.json")}, []string{badJSON}},
		{"doctor unknown format", []string{"doctor", "--fixture", fixture, "--format", "xml"}, []string{"--format", `"xml"`}},
		{"doctor unknown tenant", []string{"doctor", "--config", config, "--tenant", "nobody"}, []string{config, `tenant "nobody" is not configured`}},
		{"remediate unknown mode", []string{"remediate", "plan", "--fixture", fixture, "--mode", "bogus"}, []string{"--mode", `"bogus"`}},
		{"remediate unknown rule", []string{"remediate", "plan", "--fixture", fixture, "--rule-mode", "nosuch=auto"}, []string{"--rule-mode", `"nosuch"`}},
		{"remediate malformed baseline", []string{"remediate", "plan", "--fixture", fixture, "--baseline", badYAML}, []string{"load baseline", badYAML}},
		{"remediate bad duration", []string{"remediate", "plan", "--fixture", fixture, "--grace", "3x"}, []string{"--grace", `"3x"`}},
		{"remediate history without a store", []string{"remediate", "history"}, []string{"no store at", noStore}},
		{"remediate history unknown tenant", []string{"remediate", "history", "--tenant", "nobody", "--state-dir", recorded}, notInStore},
		{"remediate rollback without a store", []string{"remediate", "rollback", "run-1", "--fixture", fixture}, []string{"no store at", noStore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if stdout != "" {
				t.Errorf("printed on stdout:\n%s", stdout)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if !strings.HasPrefix(l, "Run '") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "sharedrift ") {
				t.Errorf("want one error line starting with the command path, got:\n%s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, stderr)
				}
			}
			for _, dir := range []string{state, out} {
				if entries, _ := os.ReadDir(dir); len(entries) > 0 {
					t.Errorf("wrote %s/%s", dir, entries[0].Name())
				}
			}
			if _, err := os.Stat("bogus:"); err == nil {
				os.RemoveAll("bogus:")
				t.Error("an unknown store scheme was taken for a file path")
			}
		})
	}
}

// TestMissingConfigListsWhatExists: a --config that does not exist is
// named, with the configuration files that do exist beside it, for every
// kind of command that reads one; nothing is created.
func TestMissingConfigListsWhatExists(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "sharedrift.yaml")
	if err := os.WriteFile(real, []byte("tenants:\n  acme:\n    fixture: builtin:fabrikam\n    baseline: recommended\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another YAML file that is no configuration is not offered.
	if err := os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("image: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typo := filepath.Join(dir, "sharedrfit.yaml")
	state := t.TempDir()
	for _, args := range [][]string{
		{"findings", "list", "--config", typo},
		{"daemon", "--config", typo, "--state-dir", state},
		{"notify", "status", "--config", typo},
		{"notify", "test", "--config", typo, "--destination", "x"},
		{"scan", "--config", typo, "--tenant", "acme"},
	} {
		_, stderr, code := cli(t, args...)
		if code != 1 || !strings.Contains(stderr, "--config "+typo+": no such file") || !strings.Contains(stderr, real) || strings.Contains(stderr, "values.yaml") {
			t.Errorf("%v: exit %d\n%s", args[:2], code, stderr)
		}
	}
	if entries, _ := os.ReadDir(state); len(entries) != 0 {
		t.Errorf("a refused command wrote to the state directory: %v", entries)
	}
}
