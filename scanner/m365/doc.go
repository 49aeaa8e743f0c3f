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
//
// Parsing is strict (fields.go): every field a parser reads is declared
// with its JSON type, and an object is read only through that declaration.
// Absent or null means unknown; a field of another type, an unreadable
// value or an item without its identity is a FieldError naming the
// endpoint, the item and the field, and makes the section partial.
package m365
