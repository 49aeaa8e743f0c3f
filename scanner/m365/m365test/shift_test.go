package m365test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestShiftToMovesEveryTimestamp: a fixture shifted to a moment keeps every
// age it was recorded with and runs on the wall clock from then on.
func TestShiftToMovesEveryTimestamp(t *testing.T) {
	const dir = "../../../testdata/tenants/fabrikam"
	plain, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	recorded := *plain.Meta().Now
	to := time.Date(2031, 7, 4, 12, 30, 0, 0, time.UTC)
	shifted, err := NewFS(os.DirFS(dir), "fabrikam", Options{ShiftTo: to})
	if err != nil {
		t.Fatal(err)
	}
	defer shifted.Close()
	if shifted.Meta().Now != nil {
		t.Fatalf("Meta.Now = %v after ShiftTo, want nil (wall clock)", shifted.Meta().Now)
	}
	d := to.Sub(recorded)
	n := 0
	for key, v := range plain.docs {
		walkPair(t, key, v, shifted.docs[key], d, &n)
	}
	if n < 20 {
		t.Fatalf("compared %d timestamps, want the fixture's dozens", n)
	}
}

func walkPair(t *testing.T, key string, a, b any, d time.Duration, n *int) {
	t.Helper()
	switch x := a.(type) {
	case map[string]any:
		y, _ := b.(map[string]any)
		for k := range x {
			walkPair(t, key+"."+k, x[k], y[k], d, n)
		}
	case []any:
		y, _ := b.([]any)
		if len(y) != len(x) {
			t.Fatalf("%s: %d elements shifted, %d plain", key, len(y), len(x))
		}
		for i := range x {
			walkPair(t, key, x[i], y[i], d, n)
		}
	case string:
		y, _ := b.(string)
		ta, err := time.Parse(time.RFC3339Nano, x)
		if err != nil || !strings.Contains(x, "T") {
			if y != x {
				t.Errorf("%s: %q became %q, want it unchanged", key, x, y)
			}
			return
		}
		*n++
		tb, err := time.Parse(time.RFC3339Nano, y)
		if err != nil || !tb.Equal(ta.Add(d)) {
			t.Errorf("%s: %q shifted to %q, want %s", key, x, y, ta.Add(d).Format(time.RFC3339))
		}
	}
}
