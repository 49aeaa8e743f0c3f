package tenant

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestSnapshotDocCoversEveryField keeps docs/snapshot.md in step with the
// model: every JSON key the encoder can write must be documented.
func TestSnapshotDocCoversEveryField(t *testing.T) {
	doc, err := os.ReadFile("../docs/snapshot.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeOf(Snapshot{}).PkgPath() || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			// Documented as `name`, `parent.name` or `list[].name`.
			re := regexp.MustCompile("[`.]" + regexp.QuoteMeta(name) + "`")
			if !re.Match(doc) {
				t.Errorf("docs/snapshot.md does not document %s%s (%s.%s)", path, name, typ.Name(), f.Name)
			}
			walk(f.Type, path+name+".")
		}
	}
	walk(reflect.TypeOf(Snapshot{}), "")
	if len(seen) < 10 {
		t.Errorf("walked only %d types; the walk is broken", len(seen))
	}
}
