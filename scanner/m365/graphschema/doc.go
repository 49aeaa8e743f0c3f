// Package graphschema is the part of Microsoft's published Graph schema
// that sharedrift touches: the entity types the collector reads and
// remediation writes (v1.0 and beta), every complex and enum type their
// properties reach, and each type's properties and navigation properties
// with the base types' folded in.
//
// schema.json is generated, never edited. It comes from the public
// repository github.com/microsoftgraph/msgraph-metadata (MIT licence),
// commit f54f11b60956ea7b185ca0447b2b80805836ec7b of 2026-08-20: the v1.0
// CSDL (v1.0-Prod.csdl) and the beta entity, complex and enum type lists.
// The beta lists carry names only: a beta type's base type and property
// types are taken from v1.0 where the type exists there, and from gen's
// betaBase table otherwise; a beta-only property's type is "".
//
// To regenerate, point GRAPH_SCHEMA_DIR at a directory holding those
// files (named as in gen's doc) and run go generate; change the commit and
// date below when the files change.
package graphschema

//go:generate go run ./gen -src ${GRAPH_SCHEMA_DIR} -commit f54f11b60956ea7b185ca0447b2b80805836ec7b -date 2026-08-20 -out schema.json
