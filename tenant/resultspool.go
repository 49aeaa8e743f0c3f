package tenant

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// DefaultResultRun is how many results a ResultSpool holds in memory
// before it writes them, sorted, to its file.
const DefaultResultRun = 16384

// ResultSpool collects a scan's results without holding a large tenant's
// failures in memory (a million Anyone links fail several rules each). It
// keeps up to a run of results and writes each full run, sorted by
// fingerprint, to an unlinked temporary file; Each merges the runs, so
// results come back in fingerprint order, results with equal fingerprints
// in the order they were added. That is the order the store matches them
// against stored findings in.
type ResultSpool struct {
	sp     spool[Result]
	counts Counts
}

// NewResultSpool returns an empty spool whose file, if it needs one, goes
// to dir (the system's temporary directory when empty). runSize <= 0
// means DefaultResultRun.
func NewResultSpool(dir string, runSize int) *ResultSpool {
	if runSize <= 0 {
		runSize = DefaultResultRun
	}
	return &ResultSpool{sp: spool[Result]{what: "result spool", dir: dir, runSize: runSize,
		key: (*Result).Fingerprint, enc: appendResult, dec: decodeResult}}
}

// Add appends a copy of r.
func (rs *ResultSpool) Add(r *Result) error {
	if err := rs.sp.add(r); err != nil {
		return err
	}
	rs.counts.AddResult(r)
	return nil
}

// Len is the number of results added.
func (rs *ResultSpool) Len() int { return rs.sp.n }

// Counts tallies the results added by outcome, per object.
func (rs *ResultSpool) Counts() Counts { return rs.counts }

// Each calls fn with every result and its fingerprint, in fingerprint
// order, and stops at the first error fn returns. The *Result is valid
// only during the call (its strings may be kept). The first Each seals
// the spool.
func (rs *ResultSpool) Each(fn func(fp string, r *Result) error) error { return rs.sp.each(fn) }

// Seal ends adding: when the spool has a file, the results still in
// memory go to it and the memory of its run is freed, so that a scan does
// not hold a run of results while it records. The first Each seals too.
func (rs *ResultSpool) Seal() error {
	rs.sp.seal()
	return rs.sp.err
}

// Close frees the spool's file. A closed spool reads as empty.
func (rs *ResultSpool) Close() error { return rs.sp.close() }

// The result codec: the fields as length-prefixed strings in a fixed
// order (Expect as its JSON, empty when nil), then Count and a RuleWide
// byte. It only lives as long as the spool's file.

func appendResult(b []byte, r *Result) ([]byte, error) {
	var expect []byte
	if r.Expect != nil {
		var err error
		if expect, err = json.Marshal(r.Expect); err != nil {
			return nil, fmt.Errorf("encode expectation: %w", err)
		}
	}
	for _, s := range [...]string{r.RuleID, string(r.Section), string(r.Outcome), string(r.Severity),
		r.ObjectKey, r.ObjectName, r.ObjectURL, r.ObjectLabel, r.Expected, r.Actual, r.Message, r.Exception, string(expect)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if r.Count < 0 {
		return nil, fmt.Errorf("negative count %d", r.Count)
	}
	b = binary.AppendUvarint(b, uint64(r.Count))
	if r.RuleWide {
		return append(b, 1), nil
	}
	return append(b, 0), nil
}

var errShortResult = errors.New("truncated result")

func decodeResult(b []byte, r *Result) error {
	var sec, out, sev, expect string
	for _, p := range [...]*string{&r.RuleID, &sec, &out, &sev, &r.ObjectKey, &r.ObjectName, &r.ObjectURL, &r.ObjectLabel, &r.Expected, &r.Actual, &r.Message, &r.Exception, &expect} {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return errShortResult
		}
		*p = string(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || k+1 != len(b) || n > 1<<40 || b[k] > 1 {
		return errShortResult
	}
	r.Section, r.Outcome, r.Severity, r.Count, r.RuleWide = Section(sec), Outcome(out), Severity(sev), int(n), b[k] == 1
	r.Expect = nil
	if expect != "" {
		r.Expect = new(Expectation)
		if err := json.Unmarshal([]byte(expect), r.Expect); err != nil {
			return fmt.Errorf("decode expectation: %w", err)
		}
	}
	return nil
}
