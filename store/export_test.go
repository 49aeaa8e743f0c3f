package store

import (
	"context"
	"database/sql"
	"testing"
	"unsafe"

	"github.com/jmoiron/sqlx"
)

// SetMidScanHook makes RecordScan call fn inside its transaction once the
// object versions are written; the kill test parks the writer there.
func SetMidScanHook(s Store, fn func()) { s.(*sqlStore).hookMidScan = fn }

// CacheSizes returns the page cache size (PRAGMA cache_size) of every
// connection an SQLite store's pool can hand out, holding them all at once.
func CacheSizes(ctx context.Context, s Store) ([]int, error) {
	db := s.(*sqlStore).db
	n := db.Stats().MaxOpenConnections
	var out []int
	var conns []*sql.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
		var v int
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// FindingMeta reads the state of a tenant's findings as recording a whole
// scan does, and returns how many it holds and the bytes their slice
// took.
func FindingMeta(ctx context.Context, s Store, tenantName string) (n, bytes int, err error) {
	ss := s.(*sqlStore)
	err = ss.inTx(ctx, func(tx *sqlx.Tx) error {
		tid, err := ss.tenantID(ctx, tx, tenantName)
		if err != nil {
			return err
		}
		m, err := ss.loadFindingMeta(ctx, tx, tid, &findingScope{})
		if err != nil {
			return err
		}
		n, bytes = len(m.m), cap(m.m)*int(unsafe.Sizeof(findingMeta{}))
		return nil
	})
	return n, bytes, err
}

// SetPairChunk sets how many stored objects a section written in chunks
// pairs at a time, until the test ends.
func SetPairChunk(t testing.TB, n int) {
	old := pairChunk
	pairChunk = n
	t.Cleanup(func() { pairChunk = old })
}
