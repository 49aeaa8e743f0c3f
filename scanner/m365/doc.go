// Package m365 reads a Microsoft 365 tenant's external-sharing state. One
// Client speaks to the three services involved — Microsoft Graph (v1.0 and
// beta), the SharePoint admin CSOM endpoint (ProcessQuery) and the Exchange
// Online admin API (InvokeCommand) — with one token per audience, paging,
// JSON batching, throttling and retries. Sources turns the client into one
// scanner.Source per snapshot section.
//
// Response shapes that Microsoft does not document, or documents
// inconsistently, are kept together in shapes.go so that a recording from a
// real tenant can correct them in one place.
package m365
