// Package daemon runs sharedrift as a long-lived service: it schedules scans
// of many tenants with robfig/cron, coordinates replicas through leases so a
// due scan runs exactly once, and serves health, metrics and a JSON API.
//
// The daemon does not know how a scan is done. It calls a ScanFunc (collect,
// evaluate, record) and a Coordinator (slots and leases, normally backed by
// the store), so the scheduler, leasing and HTTP layers are tested on their
// own and the command wires the real stages.
//
// Scheduling model: every replica schedules every tenant. When a tenant's
// slot comes due, each replica records the slot (idempotently) and tries to
// take the tenant's lease; the holder runs the newest pending slot and marks
// older ones skipped, so a tenant is never scanned twice at once and backlog
// never piles up. A sweeper on every replica picks up pending slots whose
// tenant has no live lease, which is how a dead replica's work is taken over.
// Slots are schedule instants (epoch-aligned for @every), identical on every
// replica; jitter only delays when a replica acts on a slot.
package daemon
