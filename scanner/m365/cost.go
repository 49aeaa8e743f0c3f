package m365

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Meter names a throttling budget. Graph calls on sites and drives spend
// SharePoint's budget, like CSOM; calls on users, groups and policies spend
// Entra's; the Exchange admin API has its own.
type Meter string

// The meters.
const (
	MeterSharePoint Meter = "sharepoint"
	MeterEntra      Meter = "entra"
	MeterExchange   Meter = "exchange"
	MeterTeams      Meter = "teams"
	MeterFabric     Meter = "fabric"
)

// SharePoint's published resource-unit costs of Graph calls.
const (
	RUSingle     = 1 // one item, or a delta page with a token
	RUMulti      = 2 // a multi-item query, a delta without token, a write
	RUPermission = 5 // any permission operation
	// RUCSOM is what a CSOM call is counted as: SharePoint publishes no
	// fixed cost for CSOM and REST ("usually more"), so a multi-item query.
	RUCSOM = RUMulti
)

// sharePointRoots are the Graph path roots metered by SharePoint.
var sharePointRoots = []string{"/sites", "/drives", "/shares", "/admin/sharepoint"}

// graphPath strips scheme, host and the version from a Graph URL or a
// $batch-relative URL, leaving "/users?$select=…" split into path and query.
func graphPath(rawURL string) (string, url.Values) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL, nil
	}
	p := u.Path
	for _, v := range []string{"/" + V1, "/" + Beta} {
		if rest, ok := strings.CutPrefix(p, v); ok && (rest == "" || rest[0] == '/') {
			p = rest
			break
		}
	}
	return p, u.Query()
}

// GraphMeter tells which budget a Graph request spends.
func GraphMeter(rawURL string) Meter {
	p, _ := graphPath(rawURL)
	for _, r := range sharePointRoots {
		if p == r || strings.HasPrefix(p, r+"/") || strings.HasPrefix(p, r+"?") {
			return MeterSharePoint
		}
	}
	return MeterEntra
}

// sharePointCollections are last path segments that name collections.
var sharePointCollections = map[string]bool{
	"getAllSites": true, "drives": true, "children": true, "items": true, "sites": true, "lists": true, "columns": true,
}

// GraphCost is the resource-unit cost of one Graph request (not a $batch
// envelope: its sub-requests are counted one by one) and the meter it
// spends. SharePoint costs follow SharePoint's published table; Entra
// costs follow Graph's identity and access table (GET on the users
// collection 2, group members 3, transitive members 5, others 1; $select
// -1, $expand +1, $top under 20 -1; at least 1).
func GraphCost(method, rawURL string) (Meter, int64) {
	meter := GraphMeter(rawURL)
	p, q := graphPath(rawURL)
	last := p[strings.LastIndex(p, "/")+1:]
	if meter == MeterSharePoint {
		switch {
		case last == "permissions" || strings.Contains(p, "/permissions/") || strings.Contains(q.Get("$expand"), "permissions"):
			return meter, RUPermission
		case method != http.MethodGet:
			return meter, RUMulti
		case last == "delta":
			if q.Get("token") != "" || q.Get("$deltatoken") != "" {
				return meter, RUSingle
			}
			return meter, RUMulti
		case sharePointCollections[last]:
			return meter, RUMulti
		}
		return meter, RUSingle
	}
	var c int64 = 1
	if method == http.MethodGet {
		switch {
		case p == "/users" || p == "/users/delta":
			c = 2
		case strings.HasSuffix(p, "/transitiveMembers"):
			c = 5
		case strings.HasPrefix(p, "/groups/") && strings.HasSuffix(p, "/members"):
			c = 3
		}
		if q.Get("$select") != "" {
			c--
		}
		if q.Get("$expand") != "" {
			c++
		}
		if t, err := strconv.Atoi(q.Get("$top")); err == nil && t < 20 {
			c--
		}
	}
	return meter, max(c, 1)
}

// requestCost is the meter and cost of one request of the client.
func requestCost(r request) (Meter, int64) {
	switch r.aud {
	case AudienceSharePoint:
		return MeterSharePoint, RUCSOM
	case AudienceExchange:
		return MeterExchange, 1
	case AudienceTeams:
		return MeterTeams, 1
	case AudienceFabric:
		return MeterFabric, 1
	}
	return GraphCost(r.method, r.url)
}
