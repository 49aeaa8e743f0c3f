// Package console is the web console the daemon serves at /: a tenants
// overview, findings with filters and search, one finding with its
// evidence, history, remediation plan and waivers, each tenant's changes
// and scans, and report downloads.
//
// Pages are rendered on the server with html/template; the stylesheet is
// embedded and nothing loads from elsewhere, so every page works without
// JavaScript (the console ships none) under a strict Content-Security-Policy.
//
// People sign in with one of the API's tokens (a server-side session in
// an HttpOnly, SameSite=Strict cookie) or, when configured, through an
// authenticating proxy's trusted header. Every form carries a CSRF token
// checked in constant time. Read scope sees; admin scope acts, and every
// action goes through the same functions as the API (daemon.Acknowledge,
// daemon.Accept, the remediation service) with the signed-in principal
// recorded as who did it.
package console
