// Package baselines defines the baseline format (the desired external-sharing
// state of a tenant), loads it strictly from YAML with koanf, resolves
// extends: chains and ships the built-in packs (recommended, cisa-scuba,
// cis-m365, strict) embedded in the binary.
//
// Every expectation is optional; a rule whose expectation is absent reports
// not_applicable. Levels are "at most" ceilings on ordered scales, booleans
// named allow_* say whether something may be on (false means it must be off).
package baselines
