package m365test

import (
	"fmt"
	"net/http"
)

// The services' words: how Graph, SharePoint and Entra refuse what they
// refuse, in one place. Where the wording has not been seen in a
// recorded answer or a public report quoting one, the entry says
// "Unconfirmed" so that it is corrected here.

// Graph's answers to requests it refuses. The fake answers what the
// service answers; where the wording has not been seen in a recorded
// answer, the entry says "Unconfirmed" so that it is corrected here.
const (
	// "Parsing OData Select and Expand failed: Could not find a property
	// named 'x' on type 'microsoft.graph.mobileApp'." with code BadRequest,
	// as quoted in Graph issues (e.g. microsoftgraph/microsoft-graph-docs#9988).
	msgSelectUnknown = "Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'."
	// "Invalid filter clause: Could not find a property named 'x' on type
	// 'microsoft.graph.chat'." with code BadRequest.
	msgFilterUnknown = "Invalid filter clause: Could not find a property named '%s' on type '%s'."
	// Unconfirmed: the $orderby wording follows $filter's.
	msgOrderByUnknown = "Invalid orderby clause: Could not find a property named '%s' on type '%s'."
	// Entra's directory answers an unknown name on its objects (which are
	// open types) with code Request_UnsupportedQuery and this message.
	msgDirectoryUnknown = "Property '%s' does not exist as a declared property or extension property."
	// An advanced query without ConsistencyLevel: eventual is answered 400
	// Request_UnsupportedQuery "Unsupported Query." (microsoftgraph/
	// microsoft-graph-docs#13735).
	msgAdvancedQuery = "Unsupported Query."
	// Unconfirmed: the wording for a system query option Graph does not know.
	msgUnknownOption = "The query parameter '%s' is not supported."
	// OData's answer to an option given twice.
	msgDuplicateOption = "Query option '%s' was specified more than once, but it must be specified at most once."
	// OData's refusal of a request body property the type does not
	// declare (code BadRequest); Unconfirmed: the wording Entra uses for
	// its own (open) types.
	msgBodyUnknown = "The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type."
	// Graph's answer to a path no endpoint has (status 400).
	msgNoSegment = "Resource not found for the segment '%s'."
	// Unconfirmed beyond the 1-999 wording: Entra's page size refusal.
	msgPageSize = "Invalid page size specified: '%s'. Must be between 1 and %d inclusive."
)

// CSOM error types.
const (
	// Errors of a request the service cannot carry out. Unconfirmed: the
	// wording of each; the recorded error answers carry other messages.
	csomInvalidQuery = "Microsoft.SharePoint.Client.InvalidClientQueryException"
	csomServerError  = "Microsoft.SharePoint.Client.ServerException"
	// Unconfirmed: the service's words when SetProperty names its object
	// other than by identity, or sends a type other than the declared one.
	csomNeedsIdentity = "SetProperty %s: the object must be named by its identity (an Identity object path carrying the _ObjectIdentity_ of an earlier answer)"
	csomWrongType     = "SetProperty %s: the property is of type %s, the parameter of type %s"
)

// noSuchProperty is the service's refusal of a property name its type
// does not have.
type noSuchProperty string

func (e noSuchProperty) Error() string {
	return fmt.Sprintf("Field or property %q does not exist.", string(e))
}

// unsupportedAppOnly is SharePoint's answer to an app-only token got with
// a client secret: 401 with x-ms-diagnostics and the JSON body
// {"error_description":"Unsupported app only token."}. SharePoint takes
// app-only tokens only from certificate credentials. Unconfirmed: the
// diagnostics number and reason; the body text is as reported by
// administrators meeting it.
func unsupportedAppOnly() *reply {
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set("x-ms-diagnostics", `3001000;reason="There has been an error authenticating the request.";category="invalid_client"`)
	h.Set("WWW-Authenticate", `Bearer realm="", client_id="00000003-0000-0ff1-ce00-000000000000"`)
	return &reply{status: http.StatusUnauthorized, header: h, body: []byte(`{"error_description":"Unsupported app only token."}`)}
}

// The Teams admin API's and Fabric's refusals. Unconfirmed: every wording
// and status below except Fabric's ErrorResponse body shape (requestId,
// errorCode, message), which Microsoft documents.
const (
	msgTeamsQuery  = "The query %q is not supported on a configuration."
	msgFabricQuery = "The query parameter '%s' is not supported."
	// A Teams token without a directory role that may read the settings.
	msgTeamsNoRole = "The caller does not have a role that allows reading this configuration."
)

// teamsError is the fake's error body of the Teams admin API (Unconfirmed:
// Graph's shape is assumed).
func teamsError(status int, code, msg string) *reply { return graphError(status, code, msg) }

// teamsNotLicensed answers a Teams read in a tenant without Teams.
// Unconfirmed: the service's status and words.
func teamsNotLicensed() *reply {
	return teamsError(http.StatusForbidden, "Forbidden", "The tenant is not licensed for Microsoft Teams.")
}

// fabricNotLicensed answers a Fabric admin read in a tenant without Power
// BI. Unconfirmed: the service's status and words.
func fabricNotLicensed() *reply {
	return fabricError(http.StatusForbidden, "PowerBINotLicensed", "The tenant has no Power BI license.")
}
