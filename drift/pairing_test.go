package drift

import (
	"slices"
	"testing"
)

func TestPairing(t *testing.T) {
	h := func(s string) [HashSize]byte { return Hash([]byte(s)) }
	p := NewPairing(4)
	for _, prev := range []struct{ key, doc string }{
		{"same", "a"}, {"changed", "b"}, {"gone", "c"}, {"gone-twice", "d"}, {"gone-twice", "d"},
	} {
		hh := h(prev.doc)
		p.AddPrevious(prev.key, hh[:])
	}
	cur := []struct {
		key, doc string
		want     Pair
	}{
		{"same", "a", PairUnchanged},
		{"changed", "B", PairModified},
		{"new", "e", PairAdded},
		{"new", "f", PairDuplicate},
		{"same", "a", PairDuplicate},
		{"changed", "b", PairDuplicate},
	}
	for _, c := range cur {
		if got := p.Match(c.key, h(c.doc)); got != c.want {
			t.Errorf("Match(%s, %s) = %v, want %v", c.key, c.doc, got, c.want)
		}
	}
	if n := p.Unseen(); n != 2 {
		t.Errorf("Unseen = %d, want 2 (gone, gone-twice once)", n)
	}
	p.ForgetAdded()
	var removed []string
	for _, k := range []string{"same", "changed", "gone", "gone-twice", "gone-twice", "new", "never"} {
		if p.Removed(k) {
			removed = append(removed, k)
		}
	}
	if want := []string{"gone", "gone-twice"}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
}

// TestPairingEmptyPrevious: with no previous state everything is added
// once and nothing is removed.
func TestPairingEmptyPrevious(t *testing.T) {
	p := NewPairing(0)
	if got := p.Match("k", Hash([]byte("x"))); got != PairAdded {
		t.Errorf("first = %v", got)
	}
	if got := p.Match("k", Hash([]byte("y"))); got != PairDuplicate {
		t.Errorf("again = %v", got)
	}
	if p.Unseen() != 0 || p.Removed("k") {
		t.Error("nothing was there to remove")
	}
}
