// Package store persists what sharedrift learns about tenants: scans with
// their per-section status and API statistics, object versions by content
// hash, changes between consecutive complete snapshots (computed by package
// drift), rule results, the findings lifecycle, a notification outbox, a
// remediation audit, delta tokens and scheduling leases.
//
// One implementation of Store runs on PostgreSQL (sqlx and lib/pq, bulk
// loads through COPY) and on embedded SQLite (modernc.org/sqlite, multi-row
// inserts, WAL); the differences are confined to a small dialect, and the
// conformance suite in storetest runs against both.
//
// Guarantees:
//   - RecordScan is one transaction: a crash or kill mid-write leaves the
//     previous state intact.
//   - An incomplete section writes no object versions, emits no changes and
//     resolves no findings.
//   - An unchanged object writes no row, and neither does a finding seen
//     failing again unchanged: its last_seen follows its section's mark.
//   - Migrations are embedded, applied on Open under a cross-process lock,
//     and a schema newer than the binary is refused.
package store
