// Package layering states which package may import which, and checks a
// module's imports against it. The test of this package runs the check on
// sharedrift itself, so a change that breaks the layering fails the build.
package layering

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Module is the import path of sharedrift.
const Module = "github.com/sharedrift/sharedrift"

// Rule forbids packages matching From (and not Exempt) to import anything
// matching Deny, unless the import matches Except. Patterns are import
// paths; "x/..." matches x and everything below it; "./x" is x inside
// Module.
type Rule struct {
	Name   string
	From   []string
	Exempt []string
	Deny   []string
	Except []string
	Why    string
}

// Rules is sharedrift's layering (docs/architecture.md explains it).
var Rules = []Rule{
	{
		Name:   "pure model",
		From:   []string{"./tenant", "./rules", "./drift", "./baselines"},
		Deny:   []string{"net/...", "database/...", "os/exec", "syscall", "./..."},
		Except: []string{"./tenant", "./baselines", "./internal/readcap"},
		Why:    "the model, the rules, drift and baselines are pure: no network, database or process, and no sharedrift package but the model",
	},
	{
		Name:   "configuration",
		From:   []string{"./config/..."},
		Deny:   []string{"./..."},
		Except: []string{"./config/...", "./internal/...", "./tenant"},
		Why:    "configuration is read by everything and depends on nothing but the model",
	},
	{
		Name: "domain",
		From: []string{"./tenant", "./rules", "./drift", "./baselines", "./notify", "./remediate", "./output"},
		Deny: []string{"./notify/slack/...", "./notify/email", "./notify/teams", "./notify/webhook", "./notify/destinations",
			"./notify/notifystore", "./daemon/...", "./cmd/..."},
		Why: "domain packages do not reach chat services or the daemon; the application wires them",
	},
	{
		Name: "store",
		From: []string{"./store/..."},
		Deny: []string{"./scanner/...", "./notify/...", "./daemon/...", "./remediate", "./report/...", "./rules", "./baselines", "./config/...", "./cmd/..."},
		Why:  "the store keeps the model's objects and knows nothing of collection, rules, notification or the daemon",
	},
	{
		Name:   "fake tenant",
		From:   []string{"./..."},
		Exempt: []string{"./cmd/...", "./bench", "./scanner/m365/m365test/..."},
		Deny:   []string{"./scanner/m365/m365test/..."},
		Why:    "the fake Microsoft 365 tenant serves tests, fixtures and the demo; the binary injects it, the product's core never links it",
	},
	{
		Name:   "test doubles",
		From:   []string{"./..."},
		Exempt: []string{"./notify/slack/slackfake", "./report/browsertest"},
		Deny:   []string{"./notify/slack/slackfake", "./report/browsertest"},
		Why:    "test doubles are for tests only",
	},
}

// Violation is one forbidden import.
type Violation struct {
	Rule, From, Import, Why string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s (%s: %s)", v.From, v.Import, v.Rule, v.Why)
}

func expand(p string) string {
	if p == "./..." {
		return Module + "/..."
	}
	if rest, ok := strings.CutPrefix(p, "./"); ok {
		return Module + "/" + rest
	}
	return p
}

func match(pattern, path string) bool {
	pattern = expand(pattern)
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// Check returns every import of imports (package → its imports) that a
// rule forbids, sorted by package.
func Check(rules []Rule, imports map[string][]string) []Violation {
	pkgs := make([]string, 0, len(imports))
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	var out []Violation
	for _, p := range pkgs {
		for _, r := range rules {
			if !matchAny(r.From, p) || matchAny(r.Exempt, p) {
				continue
			}
			for _, imp := range imports[p] {
				if matchAny(r.Deny, imp) && !matchAny(r.Except, imp) && imp != p {
					out = append(out, Violation{Rule: r.Name, From: p, Import: imp, Why: r.Why})
				}
			}
		}
	}
	return out
}

// Imports reads the imports of the non-test Go files of every package
// below root (the module's directory), keyed by import path. testdata,
// hidden and underscore directories are skipped, as the go tool does.
func Imports(root string) (map[string][]string, error) {
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := Module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		for _, is := range f.Imports {
			imp, err := strconv.Unquote(is.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", path, is.Path.Value, err)
			}
			if !slices.Contains(out[pkg], imp) {
				out[pkg] = append(out[pkg], imp)
			}
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		return nil
	})
	return out, err
}
