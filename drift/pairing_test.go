package drift

import (
	"fmt"
	"math/rand/v2"
	"runtime"
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

// TestPairingAddedOrder: added keys are told apart from duplicates whether
// they come in ascending order (kept as a run), out of order after a run
// (moved into the map), or interleaved with previous keys.
func TestPairingAddedOrder(t *testing.T) {
	h := func(s string) [HashSize]byte { return Hash([]byte(s)) }
	p := NewPairing(1)
	prev := h("p")
	p.AddPrevious("m", prev[:])
	for i, c := range []struct {
		key  string
		want Pair
	}{
		{"b", PairAdded},
		{"b", PairDuplicate}, // the last of the run
		{"d", PairAdded},
		{"m", PairUnchanged}, // a previous key between added ones
		{"f", PairAdded},
		{"b", PairDuplicate}, // out of order: an earlier key of the run
		{"a", PairAdded},     // out of order, new
		{"f", PairDuplicate},
		{"z", PairAdded},
		{"a", PairDuplicate},
		{"z", PairDuplicate},
		{"m", PairDuplicate},
	} {
		if got := p.Match(c.key, prev); got != c.want {
			t.Errorf("%d: Match(%s) = %v, want %v", i, c.key, got, c.want)
		}
	}
}

// BenchmarkPairingAdded matches a first scan's objects (no previous
// state), in key order as a spooled section gives them and shuffled; it
// reports the bytes the pairing holds per object once all are matched.
func BenchmarkPairingAdded(b *testing.B) {
	const n = 1 << 20
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("link:%08d", i)
	}
	shuffled := slices.Clone(keys)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	h := Hash([]byte("doc"))
	for _, c := range []struct {
		name string
		keys []string
	}{{"ascending", keys}, {"shuffled", shuffled}} {
		b.Run(c.name, func(b *testing.B) {
			var held uint64
			for b.Loop() {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				p := NewPairing(0)
				for _, k := range c.keys {
					p.Match(k, h)
				}
				runtime.GC()
				runtime.ReadMemStats(&ms)
				held = ms.HeapAlloc - before
				runtime.KeepAlive(p)
			}
			b.ReportMetric(float64(held)/n, "held-B/object")
		})
	}
}
