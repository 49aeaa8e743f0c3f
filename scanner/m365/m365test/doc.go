// Package m365test is a fake Microsoft 365 tenant: an HTTP server that
// answers the Graph, SharePoint admin CSOM and Exchange admin API calls the
// collector makes, from a fixture directory of raw response bodies (see
// testdata/tenants/README.md). It is strict where the services are strict
// (bearer token, X-AnchorMailbox, CSOM XML, cmdlet names), pages
// collections, answers $batch and drive delta with tokens, accepts the
// writes remediation uses and keeps their effect in memory, and injects
// faults per endpoint.
//
//	srv, err := m365test.New("testdata/tenants/fabrikam", m365test.Options{})
//	defer srv.Close()
//	client, err := srv.Client()
//	snap := scanner.Scan(ctx, m365.Sources(client, m365.SourceOptions{}), scanner.Options{Tenant: "fabrikam"})
package m365test
