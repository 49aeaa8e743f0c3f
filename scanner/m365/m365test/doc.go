// Package m365test is a fake Microsoft 365 tenant: an HTTP server that
// answers the Graph, SharePoint admin CSOM and Exchange admin API calls the
// collector makes, from a fixture directory of raw response bodies (see
// testdata/tenants/README.md). It is as strict as the services: Graph
// query options ($select, $expand, $filter, $orderby, $top, unknown or
// repeated options, advanced directory queries without ConsistencyLevel)
// and write bodies are checked against Microsoft's published schema
// (package graphschema) and refused in Graph's words (wording.go); only
// what $select names comes back; fixture bodies the service could not
// send are refused at load, naming the file and the property; CSOM
// queries return only the requested properties in the service's
// formatting, writes need the object's identity and the declared type;
// SharePoint refuses app-only tokens got with a client secret (tokens say
// how they were got, see TokenWith and the token endpoint). It pages
// collections, answers $batch and drive delta with tokens, keeps the
// effect of writes in memory, and injects faults per endpoint; Observe
// sees every request and its answer.
//
//	srv, err := m365test.New("testdata/tenants/fabrikam", m365test.Options{})
//	defer srv.Close()
//	client, err := srv.Client()
//	snap := scanner.Scan(ctx, m365.Sources(client, m365.SourceOptions{}), scanner.Options{Tenant: "fabrikam"})
package m365test
