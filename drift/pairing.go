package drift

import (
	"bytes"
	"slices"
)

// Pair says how a current object relates to the previous state.
type Pair int

// Pairings of a current object.
const (
	// PairAdded: no previous object has its key.
	PairAdded Pair = iota
	// PairModified: the previous object with its key has other content.
	PairModified
	// PairUnchanged: the previous object with its key has the same content.
	PairUnchanged
	// PairDuplicate: its key was already seen in this snapshot; the first
	// object with a key counts, later ones are ignored.
	PairDuplicate
)

// keyHash identifies an object by the first 12 bytes (96 bits) of its
// key's hash: two of a section's million keys share one with a chance of
// about 10^-17, and every byte less is a megabyte less per million
// objects held while a scan is written.
type keyHash [12]byte

func hashKey(key string) keyHash {
	h := Hash([]byte(key))
	return keyHash(h[:12])
}

// pairEntry is one previous object: the hash of its key and the start of
// its content hash. Hashing the key keeps a million objects in 20 MB
// instead of a map of their key strings.
type pairEntry struct {
	key  keyHash
	hash [8]byte
}

// Pairing matches the objects of a section's current snapshot with its
// previous state by key, holding only hashes. It is the one place that
// decides what was added, modified, unchanged, duplicated or removed: Diff
// uses it on two snapshots, the store on a snapshot and its stored state.
//
// Use: AddPrevious for every previous object, then Match for every current
// object, then Removed for every previous key.
type Pairing struct {
	prev   []pairEntry
	seen   bitset // by index of prev
	ready  bool
	unseen int

	// Added keys, for duplicate detection. While they come in ascending
	// order (as a spooled section's do) a duplicate can only be the last
	// one, and their hashes are kept in a slice (12 bytes each, a quarter of
	// a map's cost); the first key out of order moves them into the map.
	lastAdded string
	addedRun  []keyHash
	added     map[keyHash]struct{}
}

// NewPairing returns an empty pairing sized for about hint previous objects.
func NewPairing(hint int) *Pairing {
	return &Pairing{prev: make([]pairEntry, 0, hint+hint/64+16)}
}

// AddPrevious records a previous object by its key and content hash (as
// Hash returns, or its first 8 bytes at least).
func (p *Pairing) AddPrevious(key string, hash []byte) {
	e := pairEntry{key: hashKey(key)}
	copy(e.hash[:], hash)
	p.prev = append(p.prev, e)
	p.ready = false
}

func (p *Pairing) prepare() {
	if p.ready {
		return
	}
	p.prev = slices.Clip(p.prev)
	slices.SortFunc(p.prev, func(a, b pairEntry) int { return bytes.Compare(a.key[:], b.key[:]) })
	// A key stored twice is one previous object.
	p.prev = slices.CompactFunc(p.prev, func(a, b pairEntry) bool { return a.key == b.key })
	p.seen = make(bitset, (len(p.prev)+63)/64)
	p.unseen = len(p.prev)
	p.ready = true
}

func (p *Pairing) find(k keyHash) (int, bool) {
	return slices.BinarySearchFunc(p.prev, k, func(e pairEntry, k keyHash) int { return bytes.Compare(e.key[:], k[:]) })
}

// Match pairs a current object, given its key and content hash, with the
// previous state.
func (p *Pairing) Match(key string, hash [HashSize]byte) Pair {
	p.prepare()
	kh := hashKey(key)
	i, ok := p.find(kh)
	if !ok {
		return p.add(key, kh)
	}
	if p.seen.has(i) {
		return PairDuplicate
	}
	p.seen.set(i)
	p.unseen--
	if [8]byte(hash[:8]) == p.prev[i].hash {
		return PairUnchanged
	}
	return PairModified
}

// Unseen is how many previous objects no current object matched.
func (p *Pairing) Unseen() int {
	p.prepare()
	return p.unseen
}

// Removed reports whether the previous object with this key was matched
// by no current object; it answers true once per key, so a key listed
// twice is removed once.
func (p *Pairing) Removed(key string) bool {
	p.prepare()
	i, ok := p.find(hashKey(key))
	if !ok || p.seen.has(i) {
		return false
	}
	p.seen.set(i)
	return true
}

// add records a key no previous object has: PairAdded the first time,
// PairDuplicate after.
func (p *Pairing) add(key string, kh keyHash) Pair {
	if p.added == nil {
		switch {
		case len(p.addedRun) == 0 || key > p.lastAdded:
			p.addedRun = append(p.addedRun, kh)
			p.lastAdded = key
			return PairAdded
		case key == p.lastAdded:
			return PairDuplicate
		}
		p.added = make(map[keyHash]struct{}, len(p.addedRun)+1)
		for _, h := range p.addedRun {
			p.added[h] = struct{}{}
		}
		p.addedRun, p.lastAdded = nil, ""
	}
	if _, dup := p.added[kh]; dup {
		return PairDuplicate
	}
	p.added[kh] = struct{}{}
	return PairAdded
}

// ForgetAdded drops the keys of added objects, which only duplicate
// detection needs, once the current objects are all matched.
func (p *Pairing) ForgetAdded() { p.added, p.addedRun, p.lastAdded = nil, nil, "" }

// bitset is a set of small non-negative integers, a bit each.
type bitset []uint64

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
