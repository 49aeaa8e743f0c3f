package demotenant

import (
	"bytes"
	"io/fs"
	"os"
	"testing"
)

// TestCopyMatchesTestdata fails when the embedded copy and the maintained
// fixture in testdata/tenants/fabrikam differ; `make demotenant` syncs them.
func TestCopyMatchesTestdata(t *testing.T) {
	want := readAll(t, os.DirFS("../../testdata/tenants/fabrikam"))
	emb, err := FS(Name)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, emb)
	if len(want) == 0 {
		t.Fatal("testdata/tenants/fabrikam holds no files")
	}
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: missing from the embedded copy; run make demotenant", p)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s: embedded copy differs from testdata; run make demotenant", p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: embedded but not in testdata/tenants/fabrikam; run make demotenant", p)
		}
	}
}

func TestUnknownName(t *testing.T) {
	if _, err := FS("contoso"); err == nil {
		t.Fatal("FS(contoso) succeeded; want an error naming the built-in fixtures")
	}
}

func readAll(t *testing.T, fsys fs.FS) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
