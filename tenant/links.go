package tenant

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
)

// DefaultLinkRun is how many links a LinkSpool holds in memory before it
// writes them, sorted, to its file. A tenant with fewer links never touches
// the disk.
const DefaultLinkRun = 16384

// ErrSpoolSealed is returned by LinkSpool.Add after the spool was read.
var ErrSpoolSealed = errors.New("link spool already read")

// LinkSpool collects sharing links without holding a large tenant's links
// in memory: it keeps up to a run of links, and writes each full run,
// sorted by key, as JSON lines to an unlinked temporary file. Reading
// merges the runs, so links come back in key order however they were
// added. Add is for one writer; once read, the spool is sealed and can be
// read again, also concurrently.
type LinkSpool struct {
	dir     string
	runSize int

	mem  []Link // the links not written yet; sorted once sealed
	f    *os.File
	w    *bufio.Writer
	off  int64
	runs []spoolRun
	n    int

	sealed bool
	err    error
	stop   runtime.Cleanup
}

type spoolRun struct{ off, size int64 }

// NewLinkSpool returns an empty spool whose file, if it needs one, goes
// to dir (the system's temporary directory when empty). runSize <= 0
// means DefaultLinkRun.
func NewLinkSpool(dir string, runSize int) *LinkSpool {
	if runSize <= 0 {
		runSize = DefaultLinkRun
	}
	return &LinkSpool{dir: dir, runSize: runSize}
}

// Add appends a copy of l.
func (sp *LinkSpool) Add(l *Link) error {
	if sp.err != nil {
		return sp.err
	}
	if sp.sealed {
		return ErrSpoolSealed
	}
	sp.mem = append(sp.mem, *l)
	sp.n++
	if len(sp.mem) >= sp.runSize {
		sp.err = sp.flush()
	}
	return sp.err
}

// Len is the number of links added.
func (sp *LinkSpool) Len() int { return sp.n }

// Spilled reports whether the spool wrote links to its file.
func (sp *LinkSpool) Spilled() bool { return sp.f != nil }

func sortByKey(links []Link) {
	keys := make([]string, len(links))
	idx := make([]int32, len(links))
	for i := range links {
		keys[i], idx[i] = links[i].Key(), int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
	sorted := make([]Link, len(links))
	for i, j := range idx {
		sorted[i] = links[j]
	}
	copy(links, sorted)
}

// flush writes the links in memory as one sorted run.
func (sp *LinkSpool) flush() error {
	if len(sp.mem) == 0 {
		return nil
	}
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "sharedrift-links-*")
		if err != nil {
			return fmt.Errorf("link spool: %w", err)
		}
		// Unlinked at once: the space is freed when the file is closed,
		// even if the process dies without closing it.
		if os.Remove(f.Name()) != nil {
			// Some systems cannot remove an open file; Close removes it.
			sp.dir = f.Name()
		} else {
			sp.dir = ""
		}
		sp.f, sp.w = f, bufio.NewWriterSize(f, 256<<10)
		sp.stop = runtime.AddCleanup(sp, func(f *os.File) { f.Close() }, f)
	}
	sortByKey(sp.mem)
	start := sp.off
	cw := countWriter{w: sp.w}
	enc := json.NewEncoder(&cw)
	for i := range sp.mem {
		if err := enc.Encode(&sp.mem[i]); err != nil {
			return fmt.Errorf("link spool: write %s: %w", sp.mem[i].Key(), err)
		}
	}
	sp.off += cw.n
	sp.runs = append(sp.runs, spoolRun{off: start, size: cw.n})
	clear(sp.mem)
	sp.mem = sp.mem[:0]
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// seal ends writing: the rest goes to the file when there is one.
func (sp *LinkSpool) seal() {
	if sp.sealed {
		return
	}
	sp.sealed = true
	if sp.err != nil {
		return
	}
	if sp.f == nil {
		sortByKey(sp.mem)
		return
	}
	if sp.err = sp.flush(); sp.err != nil {
		return
	}
	sp.mem = nil
	if err := sp.w.Flush(); err != nil {
		sp.err = fmt.Errorf("link spool: %w", err)
	}
}

// Each calls fn for every link in key order and stops at the first error
// fn returns. The *Link is valid only during the call. The first Each
// seals the spool.
func (sp *LinkSpool) Each(fn func(*Link) error) error {
	sp.seal()
	if sp.err != nil {
		return sp.err
	}
	if sp.f == nil {
		for i := range sp.mem {
			if err := fn(&sp.mem[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return sp.merge(fn)
}

// InMemory returns the links when the spool never wrote to its file.
func (sp *LinkSpool) InMemory() ([]Link, bool) {
	sp.seal()
	if sp.f != nil || sp.err != nil {
		return nil, false
	}
	return sp.mem, true
}

// Close frees the spool's file. A closed spool reads as empty.
func (sp *LinkSpool) Close() error {
	sp.mem, sp.runs, sp.n, sp.sealed = nil, nil, 0, true
	if sp.f == nil {
		return nil
	}
	sp.stop.Stop()
	err := sp.f.Close()
	if sp.dir != "" {
		os.Remove(sp.dir)
	}
	sp.f = nil
	return err
}

// runReader reads one sorted run.
type runReader struct {
	r    *bufio.Reader
	cur  Link
	key  string
	seq  int
	line []byte
}

func (rr *runReader) next() (bool, error) {
	line, err := rr.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		rr.line = append(rr.line[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = rr.r.ReadSlice('\n')
			rr.line = append(rr.line, line...)
		}
		line = rr.line
	}
	if err == io.EOF && len(bytes.TrimSpace(line)) == 0 {
		return false, nil
	}
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("link spool: read: %w", err)
	}
	rr.cur = Link{}
	if err := json.Unmarshal(line, &rr.cur); err != nil {
		return false, fmt.Errorf("link spool: decode: %w", err)
	}
	rr.key = rr.cur.Key()
	return true, nil
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq // equal keys keep the order they were added in
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge reads the runs in key order.
func (sp *LinkSpool) merge(fn func(*Link) error) error {
	h := make(runHeap, 0, len(sp.runs))
	for i, r := range sp.runs {
		rr := &runReader{r: bufio.NewReaderSize(io.NewSectionReader(sp.f, r.off, r.size), 32<<10), seq: i}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, rr)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		rr := h[0]
		if err := fn(&rr.cur); err != nil {
			return err
		}
		ok, err := rr.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}

// EachLink calls fn for every link of the snapshot: Links first, then
// those of an attached spool (see SetLinks). The *Link must not be kept
// after fn returns.
func (s *Snapshot) EachLink(fn func(*Link) error) error {
	for i := range s.Links {
		if err := fn(&s.Links[i]); err != nil {
			return err
		}
	}
	if s.spool != nil {
		return s.spool.Each(fn)
	}
	return nil
}

// LinkCount is the number of links EachLink visits.
func (s *Snapshot) LinkCount() int {
	n := len(s.Links)
	if s.spool != nil {
		n += s.spool.Len()
	}
	return n
}

// SetLinks makes sp the snapshot's links: a spool that stayed in memory
// becomes Links, a larger one stays attached and is read by EachLink.
func (s *Snapshot) SetLinks(sp *LinkSpool) {
	if s.spool != nil && s.spool != sp {
		s.spool.Close()
	}
	s.spool = nil
	if links, ok := sp.InMemory(); ok {
		s.Links = links
		return
	}
	s.Links = nil
	s.spool = sp
}

// TakeLinks moves the links of src (slice and spool) to s.
func (s *Snapshot) TakeLinks(src *Snapshot) {
	if s.spool != nil && s.spool != src.spool {
		s.spool.Close()
	}
	s.Links, s.spool = src.Links, src.spool
	src.Links, src.spool = nil, nil
}

// Close frees an attached link spool; the snapshot then has no spooled
// links. Closing a snapshot without one does nothing.
func (s *Snapshot) Close() error {
	if s.spool == nil {
		return nil
	}
	err := s.spool.Close()
	s.spool = nil
	return err
}
