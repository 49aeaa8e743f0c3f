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
	if recorded.Hour() != 6 || recorded.Minute() != 0 {
		t.Fatalf("fixture recorded at %s; the test expects 06:00", recorded)
	}
	shifted, err := NewFS(os.DirFS(dir), "fabrikam", Options{ShiftTo: to})
	if err != nil {
		t.Fatal(err)
	}
	defer shifted.Close()
	if shifted.Meta().Now != nil {
		t.Fatalf("Meta.Now = %v after ShiftTo, want nil (wall clock)", shifted.Meta().Now)
	}
	// Whole days: the recorded 06:00 lands on the day before 12:30.
	d := time.Date(2031, 7, 4, 6, 0, 0, 0, time.UTC).Sub(recorded)
	n := 0
	for key, v := range plain.docs {
		walkPair(t, key, v, shifted.docs[key], d, &n)
	}
	if n < 20 {
		t.Fatalf("compared %d timestamps, want the fixture's dozens", n)
	}
	// Any anchor of the same day serves the same timestamps; one before
	// the recorded time of day moves to the day before.
	for _, tt := range []struct {
		anchor time.Time
		want   time.Time
	}{
		{time.Date(2031, 7, 5, 5, 59, 0, 0, time.UTC), time.Date(2031, 7, 4, 6, 0, 0, 0, time.UTC)},
		{time.Date(2031, 7, 5, 6, 0, 0, 0, time.UTC), time.Date(2031, 7, 5, 6, 0, 0, 0, time.UTC)},
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2019, 12, 31, 6, 0, 0, 0, time.UTC)},
	} {
		if got := recorded.Add(wholeDays(tt.anchor.Sub(recorded))); !got.Equal(tt.want) {
			t.Errorf("anchor %s: recorded moment moved to %s, want %s", tt.anchor, got, tt.want)
		}
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
