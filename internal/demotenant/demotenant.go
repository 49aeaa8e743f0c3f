// Package demotenant holds the demo's fixture tenant inside the binary, so
// that the demo and fixture tenants named "builtin:fabrikam" run from any
// directory and in the container image.
//
// fabrikam/ is a copy of testdata/tenants/fabrikam, where the fixture is
// maintained (go:embed cannot reach outside the package directory); a
// test fails when the two differ, and `make demotenant` copies it again.
package demotenant

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed all:fabrikam
var files embed.FS

// Name is the built-in demo tenant.
const Name = "fabrikam"

// Names lists the built-in fixtures.
func Names() []string { return []string{Name} }

// FS returns the built-in fixture name, rooted at its tenant.json.
func FS(name string) (fs.FS, error) {
	if name != Name {
		names := Names()
		sort.Strings(names)
		return nil, fmt.Errorf("no built-in fixture %q (built in: %s)", name, strings.Join(names, ", "))
	}
	return fs.Sub(files, name)
}
