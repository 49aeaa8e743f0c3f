// Package notify decides what to tell people about findings and delivers it.
//
// The flow is one-way: the store's findings lifecycle reports transitions
// (new, still open, reopened, resolved, severity changed); a Planner turns
// them into outbox items, each with an idempotency key, routed per
// destination; the Worker drains the store's outbox through Notifier
// implementations (notify/slack, notify/teams, notify/webhook, notify/email)
// with retries, backoff and dead letters. Because the key of every message is
// derived from the finding and the scan that changed it, planning the same
// scan twice, or seeing the same drift in ten scans, yields one message.
package notify
