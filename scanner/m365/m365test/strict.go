package m365test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/sharedrift/sharedrift/scanner/m365/graphschema"
)

// route is what the fake knows of a Graph endpoint: the type its body
// holds and whether it is a collection.
type route struct {
	version, pattern string
	typ              string
	collection       bool
	// maxTop is the largest $top the endpoint takes (0: no $top).
	maxTop int
}

// routes are the Graph endpoints the fake serves. "*" is one path
// segment. Pages of users are at most 999, and 120 when signInActivity is
// selected or filtered on (Microsoft's user list reference).
var routes = []route{
	{"v1.0", "admin/sharepoint/settings", "microsoft.graph.sharepointSettings", false, 0},
	{"beta", "admin/sharepoint/settings", "microsoft.graph.sharepointSettings", false, 0},
	{"v1.0", "sites/getAllSites", "microsoft.graph.site", true, 999},
	{"v1.0", "sites/delta", "microsoft.graph.site", true, 999},
	{"v1.0", "sites/*", "microsoft.graph.site", false, 0},
	{"v1.0", "sites/*/drives", "microsoft.graph.drive", true, 999},
	{"v1.0", "drives/*/root/delta", "microsoft.graph.driveItem", true, 999},
	{"v1.0", "drives/*/items/*", "microsoft.graph.driveItem", false, 0},
	{"v1.0", "drives/*/items/*/permissions", "microsoft.graph.permission", true, 999},
	{"v1.0", "drives/*/items/*/permissions/*", "microsoft.graph.permission", false, 0},
	{"v1.0", "users", "microsoft.graph.user", true, 999},
	{"v1.0", "users/delta", "microsoft.graph.user", true, 999},
	{"v1.0", "users/*", "microsoft.graph.user", false, 0},
	{"v1.0", "users/*/sponsors", "microsoft.graph.directoryObject", true, 999},
	{"v1.0", "users/*/memberOf", "microsoft.graph.directoryObject", true, 999},
	{"v1.0", "policies/authorizationPolicy", "microsoft.graph.authorizationPolicy", false, 0},
	{"v1.0", "policies/crossTenantAccessPolicy/default", "microsoft.graph.crossTenantAccessPolicyConfigurationDefault", false, 0},
	{"v1.0", "policies/crossTenantAccessPolicy/partners", "microsoft.graph.crossTenantAccessPolicyConfigurationPartner", true, 0},
	{"v1.0", "subscribedSkus", "microsoft.graph.subscribedSku", true, 0},
	{"v1.0", "groupSettings", "microsoft.graph.groupSetting", true, 999},
	{"v1.0", "groupSettings/*", "microsoft.graph.groupSetting", false, 0},
	{"v1.0", "groups", "microsoft.graph.group", true, 999},
	{"v1.0", "groups/delta", "microsoft.graph.group", true, 999},
	{"v1.0", "groups/*/settings", "microsoft.graph.groupSetting", true, 999},
	{"v1.0", "groups/*/settings/*", "microsoft.graph.groupSetting", false, 0},
	{"beta", "policies/b2bManagementPolicies", "microsoft.graph.b2bManagementPolicy", true, 999},
	{"beta", "policies/b2bManagementPolicies/*", "microsoft.graph.b2bManagementPolicy", false, 0},
	{"beta", "security/informationProtection/sensitivityLabels", "microsoft.graph.security.sensitivityLabel", true, 999},
	{"v1.0", "subscriptions", "microsoft.graph.subscription", true, 0},
	{"v1.0", "subscriptions/*", "microsoft.graph.subscription", false, 0},
}

// signInTop is the page size limit of users with signInActivity.
const signInTop = 120

// findRoute returns the route of an unescaped path such as
// "/v1.0/users/x/sponsors"; literal segments win over "*".
func findRoute(upath string) (*route, bool) {
	ver, rest, ok := strings.Cut(strings.TrimPrefix(upath, "/"), "/")
	if !ok {
		return nil, false
	}
	segs := strings.Split(rest, "/")
	var best *route
	bestLit := -1
	for i := range routes {
		r := &routes[i]
		if r.version != ver {
			continue
		}
		ps := strings.Split(r.pattern, "/")
		if len(ps) != len(segs) {
			continue
		}
		lit, match := 0, true
		for j, p := range ps {
			switch {
			case p == "*":
			case p == segs[j]:
				lit++
			default:
				match = false
			}
			if !match {
				break
			}
		}
		if match && lit > bestLit {
			best, bestLit = r, lit
		}
	}
	return best, best != nil
}

// systemOptions are the OData system query options Graph knows.
var systemOptions = map[string]bool{
	"$select": true, "$expand": true, "$filter": true, "$orderby": true, "$top": true, "$skip": true,
	"$skiptoken": true, "$deltatoken": true, "$count": true, "$search": true, "$format": true,
}

// checkQuery refuses, as Graph does, a query whose options name what the
// endpoint's type does not have, ask for too large a page, or are an
// advanced query sent without ConsistencyLevel: eventual. nil means the
// query is fine.
func checkQuery(sc *graphschema.Schema, r *route, q url.Values, h http.Header) *reply {
	t, ok := sc.Type(r.version, r.typ)
	if !ok {
		return graphError(http.StatusInternalServerError, "generalException", "fake: type "+r.typ+" missing from the schema")
	}
	for k, v := range q {
		if !strings.HasPrefix(k, "$") {
			continue // custom options (delta's token) pass, as in Graph
		}
		if !systemOptions[strings.ToLower(k)] {
			return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgUnknownOption, k))
		}
		if len(v) > 1 {
			return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgDuplicateOption, k))
		}
	}
	dir := isDirectory(sc, r.version, t)
	if sel := q.Get("$select"); sel != "" {
		if rr := checkSelect(sc, r.version, t, sel, dir); rr != nil {
			return rr
		}
	}
	if exp := q.Get("$expand"); exp != "" {
		if rr := checkExpand(sc, r.version, t, exp, dir); rr != nil {
			return rr
		}
	}
	filter := q.Get("$filter")
	if filter != "" {
		for _, p := range filterPaths(filter) {
			if rr := checkPath(sc, r.version, t, p, dir, msgFilterUnknown); rr != nil {
				return rr
			}
		}
	}
	if ob := q.Get("$orderby"); ob != "" {
		for _, part := range strings.Split(ob, ",") {
			f := strings.Fields(part)
			if len(f) == 0 || len(f) > 2 || (len(f) == 2 && f[1] != "asc" && f[1] != "desc") {
				return graphError(http.StatusBadRequest, "BadRequest", "Invalid orderby clause: '"+part+"'.")
			}
			if rr := checkPath(sc, r.version, t, f[0], dir, msgOrderByUnknown); rr != nil {
				return rr
			}
		}
	}
	if dir && advancedQuery(q) && !strings.EqualFold(h.Get("ConsistencyLevel"), "eventual") {
		return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", msgAdvancedQuery)
	}
	if top := q.Get("$top"); top != "" {
		limit := r.maxTop
		if r.typ == "microsoft.graph.user" && (selects(q.Get("$select"), "signInActivity") || strings.Contains(strings.ToLower(filter), "signinactivity")) {
			limit = signInTop
		}
		n, err := strconv.Atoi(top)
		if limit == 0 {
			return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgUnknownOption, "$top"))
		}
		if err != nil || n < 1 || n > limit {
			return graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(msgPageSize, top, limit))
		}
	}
	return nil
}

// isDirectory reports whether t is an Entra directory object, whose
// unknown names Entra itself refuses (in its own words).
func isDirectory(sc *graphschema.Schema, version string, t *graphschema.Type) bool {
	return sc.IsA(version, t, "microsoft.graph.directoryObject")
}

func selects(sel, name string) bool {
	for _, f := range strings.Split(sel, ",") {
		if strings.EqualFold(strings.TrimSpace(f), name) {
			return true
		}
	}
	return false
}

// unknownName is Graph's refusal of a name t does not have.
func unknownName(t *graphschema.Type, name string, dir bool, odataMsg string) *reply {
	if dir {
		return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf(msgDirectoryUnknown, name))
	}
	return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(odataMsg, name, t.Name))
}

// lookupName finds a name on t. A collection of directoryObject may be
// asked for what every kind of directory object has (displayName), and
// any directory object for an extension property (extension_<app>_<name>).
// Unconfirmed: that the shared names are exactly those every directory
// type in the schema declares.
func lookupName(sc *graphschema.Schema, version string, t *graphschema.Type, name string, dir bool) (typ string, nav, ok bool) {
	if _, typ, nav, ok := t.Lookup(name); ok {
		return typ, nav, true
	}
	if !dir {
		return "", false, false
	}
	if strings.HasPrefix(strings.ToLower(name), "extension_") {
		return "", false, true
	}
	if t.Name == "microsoft.graph.directoryObject" && sharedNames(sc, version, t.Name)[strings.ToLower(name)] {
		return "", false, true
	}
	return "", false, false
}

// shared caches, per version and base type, the lower-cased names every
// entity type deriving from the base declares.
var shared sync.Map

func sharedNames(sc *graphschema.Schema, version, base string) map[string]bool {
	key := version + " " + base
	if v, ok := shared.Load(key); ok {
		return v.(map[string]bool)
	}
	var names map[string]bool
	for _, d := range sc.Derived(version, base) {
		if d.Kind != "entity" {
			continue
		}
		own := map[string]bool{}
		for k := range d.Properties {
			own[strings.ToLower(k)] = true
		}
		if names == nil {
			names = own
			continue
		}
		for k := range names {
			if !own[k] {
				delete(names, k)
			}
		}
	}
	if names == nil {
		names = map[string]bool{}
	}
	shared.Store(key, names)
	return names
}

func checkSelect(sc *graphschema.Schema, version string, t *graphschema.Type, sel string, dir bool) *reply {
	for _, f := range strings.Split(sel, ",") {
		f = strings.TrimSpace(f)
		if f == "" || f == "*" {
			continue
		}
		if _, _, ok := lookupName(sc, version, t, f, dir); !ok {
			return unknownName(t, f, dir, msgSelectUnknown)
		}
	}
	return nil
}

// checkExpand checks "nav" and "nav($select=a,b)" items.
func checkExpand(sc *graphschema.Schema, version string, t *graphschema.Type, exp string, dir bool) *reply {
	for _, item := range splitTop(exp) {
		name, opts, _ := strings.Cut(strings.TrimSpace(item), "(")
		name = strings.TrimSpace(name)
		typ, nav, ok := lookupName(sc, version, t, name, dir)
		if !ok || !nav {
			return unknownName(t, name, false, msgSelectUnknown)
		}
		if opts == "" {
			continue
		}
		target, _ := graphschema.ElemType(typ)
		tt, ok := sc.Type(version, target)
		if !ok {
			continue
		}
		for _, o := range strings.Split(strings.TrimSuffix(strings.TrimSpace(opts), ")"), ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
			if strings.EqualFold(k, "$select") {
				if rr := checkSelect(sc, version, tt, v, isDirectory(sc, version, tt)); rr != nil {
					return rr
				}
			}
		}
	}
	return nil
}

// splitTop splits on commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// checkPath checks a property path "a/b/c": each step a property of the
// type the step before has.
func checkPath(sc *graphschema.Schema, version string, t *graphschema.Type, path string, dir bool, msg string) *reply {
	cur, curDir := t, dir
	for _, step := range strings.Split(path, "/") {
		if cur == nil {
			return nil // a step into a value whose type is not published
		}
		typ, _, ok := lookupName(sc, version, cur, step, curDir)
		if !ok {
			return unknownName(cur, step, curDir, msg)
		}
		elem, _ := graphschema.ElemType(typ)
		next, ok := sc.Type(version, elem)
		if !ok || next.Kind == "enum" {
			return nil
		}
		cur, curDir = next, false
	}
	return nil
}

// filterWords are the $filter operators, literals and functions.
var filterWords = map[string]bool{
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true, "and": true, "or": true, "not": true,
	"in": true, "has": true, "true": true, "false": true, "null": true, "any": true, "all": true,
	"startswith": true, "endswith": true, "contains": true, "tolower": true, "toupper": true,
}

// filterPaths returns the property paths a $filter names: identifiers
// outside string literals that are not operators, functions, literals or
// lambda variables (and the lambda's own path, "c/x" becomes nothing).
func filterPaths(f string) []string {
	var out []string
	lambdaVars := map[string]bool{}
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(f) {
				if f[j] == '\'' {
					if j+1 < len(f) && f[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			i = j + 1
		case c >= '0' && c <= '9':
			// A number, date or date-time literal (2026-12-02T23:30:02Z).
			j := i
			for j < len(f) && (isIdentStart(f[j]) || (f[j] >= '0' && f[j] <= '9') || strings.IndexByte(":.-+", f[j]) >= 0) {
				j++
			}
			i = j
		case isIdentStart(c):
			j := i
			for j < len(f) && (isIdentStart(f[j]) || f[j] == '/' || (f[j] >= '0' && f[j] <= '9') || f[j] == '.') {
				j++
			}
			tok := f[i:j]
			i = j
			// "c:" declares a lambda variable.
			if i < len(f) && f[i] == ':' {
				lambdaVars[tok] = true
				continue
			}
			head, _, _ := strings.Cut(tok, "/")
			if lambdaVars[head] || filterWords[strings.ToLower(tok)] {
				continue
			}
			// "x/any(" filters a collection: the path is what precedes it.
			for _, l := range []string{"/any", "/all"} {
				tok = strings.TrimSuffix(tok, l)
			}
			if strings.Contains(tok, ".") && !strings.Contains(tok, "/") {
				continue // a number such as 1.5 or a qualified name
			}
			out = append(out, tok)
		default:
			i++
		}
	}
	return out
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// advancedQuery reports whether a directory query needs ConsistencyLevel:
// eventual (Microsoft's "advanced query capabilities" page): $count,
// $search, ne, not, endsWith, $orderby together with $filter.
func advancedQuery(q url.Values) bool {
	if q.Has("$count") || q.Has("$search") {
		return true
	}
	f := strings.ToLower(q.Get("$filter"))
	if f == "" {
		return false
	}
	if q.Has("$orderby") {
		return true
	}
	for _, op := range []string{" ne ", "not(", "not ", "endswith("} {
		if strings.Contains(outsideQuotes(f), op) {
			return true
		}
	}
	return false
}

// outsideQuotes blanks string literals so that operators inside them do
// not count.
func outsideQuotes(f string) string {
	b := []byte(f)
	in := false
	for i, c := range b {
		if c == '\'' {
			in = !in
			continue
		}
		if in {
			b[i] = ' '
		}
	}
	return string(b)
}

// checkGraphGet refuses a GET Graph would refuse: a path the fake knows no
// type for, or query options the type cannot answer. nil lets it through.
func (s *Server) checkGraphGet(path, rawQuery string, h http.Header) *reply {
	upath, err := url.PathUnescape(path)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid path")
	}
	r, ok := findRoute(upath)
	if !ok {
		_, last := splitLast(upath)
		return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgNoSegment, last))
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid query string: "+err.Error())
	}
	return checkQuery(s.schema, r, q, h)
}

// checkGraphWrite refuses a PATCH or POST Graph would refuse: a path the
// fake knows no type for, or a body carrying what the type does not
// declare or a value of the wrong type. A POST to a collection creates
// an item of the collection's type.
func (s *Server) checkGraphWrite(path string, body []byte) *reply {
	upath, err := url.PathUnescape(path)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid path")
	}
	r, ok := findRoute(upath)
	if !ok {
		_, last := splitLast(upath)
		return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgNoSegment, last))
	}
	t, ok := s.schema.Type(r.version, r.typ)
	if !ok {
		return graphError(http.StatusInternalServerError, "generalException", "fake: type "+r.typ+" missing from the schema")
	}
	v, err := decodeAny(body)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload: "+err.Error())
	}
	err = bodyChecker{sc: s.schema, version: r.version}.object(t, v, "")
	var unknown *unknownProperty
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unknown):
		return graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf(msgBodyUnknown, unknown.name, unknown.typ))
	default:
		// Unconfirmed: the service's wording for a value of the wrong type.
		return graphError(http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
	}
}
