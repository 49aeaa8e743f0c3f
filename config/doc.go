// Package config loads the daemon's configuration: a YAML file, then
// SHAREDRIFT_... environment variables, then command-line flags, each layer
// overriding the one before.
//
// Loading is strict. An unknown key, a value of the wrong type, a bad cron
// expression, a secret reference that does not resolve, or a tenant without
// a baseline is an error that names the layer, the key and the tenant, and
// every such problem is reported at once rather than one per run.
//
// Secrets are never written in the file itself: they are references to an
// environment variable or a file, resolved at load time into Secret values
// whose String, JSON and log forms are redacted.
package config
