// Package app is the sharedrift application: it wires the collector, the
// rules, the store, notifications, remediation and reports into the use
// cases the daemon and the CLI run. Scan (scan.go) is the one scan: it
// collects a tenant through the Microsoft 365 collector, resuming from the
// store's delta tokens, evaluates the baseline's rules and records the
// scan, fenced on the tenant's lease. Pipeline schedules it per configured
// tenant (fixture tenants come from an opener the binary injects); Service
// builds everything the daemon serves; the adapters in store.go give the
// daemon its Coordinator, Reader and metrics source.
package app
