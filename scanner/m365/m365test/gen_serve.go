package m365test

import (
	"cmp"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// graph serves the generated tenant's Graph endpoints; nil means "not
// generated here" (the fixture routes then answer, e.g. with 404).
func (g *Generated) graph(s *Server, method, path, rawQuery string, h http.Header, _ []byte) *reply {
	if method != http.MethodGet {
		return nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid query string: "+err.Error())
	}
	upath, err := url.PathUnescape(path)
	if err != nil {
		return graphError(http.StatusBadRequest, "BadRequest", "invalid path")
	}
	if upath == "/beta/security/informationProtection/sensitivityLabels" {
		page := []any{}
		for _, l := range sensitivityLabels() {
			page = append(page, project(l, q.Get("$select")))
		}
		return jsonReply(http.StatusOK, map[string]any{
			"@odata.context": "https://graph.microsoft.com/beta/$metadata#security/informationProtection/sensitivityLabels", "value": page})
	}
	p, ok := strings.CutPrefix(upath, "/v1.0")
	if !ok {
		return nil
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	size := s.opts.PageSize
	if top := q.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > 999 {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+top+"'. Must be between 1 and 999 inclusive.")
		}
		size = min(size, n)
	}
	base := s.srv.URL + path
	g.mu.RLock()
	defer g.mu.RUnlock()
	switch {
	case p == "/sites/getAllSites":
		return g.sitesPage(base, q, size, "")
	case p == "/sites/delta":
		return g.sitesDelta(base, q, size)
	case len(seg) == 2 && seg[0] == "sites":
		d, ok := g.siteIndex(seg[1])
		if !ok {
			return graphError(http.StatusNotFound, "itemNotFound", "Requested site could not be found")
		}
		m := g.site(d)
		m["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#sites/$entity"
		return jsonReply(http.StatusOK, project(m, q.Get("$select")))
	case len(seg) == 3 && seg[0] == "sites" && seg[2] == "drives":
		d, ok := g.siteIndex(seg[1])
		if !ok {
			return graphError(http.StatusNotFound, "itemNotFound", "Requested site could not be found")
		}
		return jsonReply(http.StatusOK, map[string]any{"value": []any{map[string]any{
			"id": driveID(d), "name": "Documents", "driveType": "documentLibrary", "webUrl": g.siteURL(d) + "/Shared Documents"}}})
	case len(seg) >= 2 && seg[0] == "drives":
		d, ok := g.driveIndex(seg[1])
		if !ok {
			return graphError(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
		}
		switch {
		case len(seg) == 4 && seg[2] == "root" && seg[3] == "delta":
			return g.driveDelta(base, d, q, h, size)
		case len(seg) == 4 && seg[2] == "items", len(seg) == 5 && seg[2] == "items" && seg[4] == "permissions":
			j, ok := g.itemIndex(d, seg[3])
			it := g.item(d, j)
			if !ok || !it.exists {
				return graphError(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
			}
			if len(seg) == 5 {
				return jsonReply(http.StatusOK, map[string]any{"value": g.permissions(d, j, it)})
			}
			m := g.deltaItem(d, j, it, false)
			delete(m, "shared")
			if j > 0 {
				pp := "/drives/" + driveID(d) + "/root:"
				if par := g.parent(j); par > 0 {
					pp += "/" + g.itemName(par)
				}
				m["parentReference"].(map[string]any)["path"] = pp
			}
			return jsonReply(http.StatusOK, m)
		}
		return graphError(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	case p == "/users":
		return g.usersPage(base, q, size)
	case p == "/users/delta":
		return g.usersDelta(base, q, size)
	case p == "/groups/delta":
		return g.groupsDelta(base, q)
	case len(seg) == 3 && seg[0] == "users" && (seg[2] == "memberOf" || seg[2] == "sponsors"):
		i, ok := g.guestIndex(seg[1])
		if !ok || !g.guestExists(i) {
			return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+seg[1]+"' does not exist or one of its queried reference-property objects are not present.")
		}
		if seg[2] == "sponsors" {
			return jsonReply(http.StatusOK, map[string]any{"value": g.sponsors(i)})
		}
		return jsonReply(http.StatusOK, map[string]any{"value": g.memberOf(i)})
	}
	return nil
}

func nextLink(base string, q url.Values, key, value string) string {
	nq := cloneValues(q)
	nq.Set(key, value)
	return base + "?" + nq.Encode()
}

func (g *Generated) site(d int) map[string]any {
	return map[string]any{"id": g.siteFullID(d), "webUrl": g.siteURL(d), "displayName": "Site " + strconv.Itoa(d),
		"name": "s" + strconv.Itoa(d), "sharepointIds": map[string]any{"siteId": g.siteGUID(d)},
		"siteCollection": map[string]any{"hostname": g.host}, "root": map[string]any{}}
}

// sitesPage pages getAllSites (and the enumeration of a sites delta).
func (g *Generated) sitesPage(base string, q url.Values, size int, deltaLink string) *reply {
	start := 0
	if t := q.Get("$skiptoken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > g.spec.Sites {
			return graphError(http.StatusBadRequest, "BadRequest", "Invalid $skiptoken")
		}
		start = n
	}
	end := min(start+size, g.spec.Sites)
	page := make([]any, 0, end-start)
	for d := start; d < end; d++ {
		page = append(page, g.site(d))
	}
	out := map[string]any{"value": page}
	if end < g.spec.Sites {
		out["@odata.nextLink"] = nextLink(base, q, "$skiptoken", strconv.Itoa(end))
	} else if deltaLink != "" {
		out["@odata.deltaLink"] = deltaLink
	}
	return jsonReply(http.StatusOK, out)
}

// sitesDelta: the generated sites never change, so a token returns an
// empty page; no token enumerates them.
func (g *Generated) sitesDelta(base string, q url.Values, size int) *reply {
	link := base + "?token=s" + strconv.Itoa(g.epoch)
	switch tok := q.Get("token"); {
	case tok == "":
		return g.sitesPage(base, q, size, link)
	case tok == "latest" || strings.HasPrefix(tok, "s"):
		if n, err := strconv.Atoi(strings.TrimPrefix(tok, "s")); tok != "latest" && (err != nil || n > g.epoch) {
			return gone(base)
		}
		return jsonReply(http.StatusOK, map[string]any{"value": []any{}, "@odata.deltaLink": link})
	}
	return gone(base)
}

func gone(base string) *reply {
	rr := graphError(http.StatusGone, "resyncRequired", "Resync required. Replace any local items with the server's version (including deletes) if you're sure that the service was up to date with your local changes when you last sync'd.")
	rr.header.Set("Location", base)
	return rr
}

// driveDelta serves a drive's delta. Tokens: "f<offset>" continues a full
// enumeration, "e<epoch>" returns what changed after that change set,
// "e<epoch>.<offset>" continues it. Every page link carries a token.
func (g *Generated) driveDelta(base string, d int, q url.Values, h http.Header, size int) *reply {
	prefer := strings.ToLower(strings.Join(h.Values("Prefer"), ","))
	showChanges := strings.Contains(prefer, "deltashowsharingchanges") && strings.Contains(prefer, "deltashowremovedasdeleted") &&
		strings.Contains(prefer, "deltatraversepermissiongaps")
	tok := q.Get("token")
	deltaLink := base + "?token=e" + strconv.Itoa(g.epoch)
	out := map[string]any{}
	var page []any
	switch {
	case tok == "latest":
		out["@odata.deltaLink"] = deltaLink
	case tok == "" || strings.HasPrefix(tok, "f"):
		start := 0
		if tok != "" {
			n, err := strconv.Atoi(tok[1:])
			if err != nil || n < 0 || n > g.itemEnd(d) {
				return gone(base)
			}
			start = n
		}
		j, end := start, g.itemEnd(d)
		for ; j < end && len(page) < size; j++ {
			if it := g.item(d, j); it.exists {
				page = append(page, g.deltaItem(d, j, it, false))
			}
		}
		if j < end {
			out["@odata.nextLink"] = base + "?token=f" + strconv.Itoa(j)
		} else {
			out["@odata.deltaLink"] = deltaLink
		}
	case strings.HasPrefix(tok, "e"):
		since, off, _ := strings.Cut(tok[1:], ".")
		k, err := strconv.Atoi(since)
		if err != nil || k > g.epoch || k < g.floor[d] {
			return gone(base)
		}
		start, _ := strconv.Atoi(off)
		changed := make([]int, 0, len(g.items[d]))
		for j, o := range g.items[d] {
			if o.epoch > k {
				changed = append(changed, j)
			}
		}
		sort.Ints(changed)
		end := min(start+size, len(changed))
		for _, j := range changed[min(start, end):end] {
			page = append(page, g.deltaItem(d, j, g.item(d, j), showChanges))
		}
		if end < len(changed) {
			out["@odata.nextLink"] = base + "?token=e" + since + "." + strconv.Itoa(end)
		} else {
			out["@odata.deltaLink"] = deltaLink
		}
	default:
		return gone(base)
	}
	if page == nil {
		page = []any{}
	}
	out["value"] = page
	return jsonReply(http.StatusOK, out)
}

// usersPage pages guests: $filter userType eq 'Guest', or a sign-in
// filter "signInActivity/lastSignInDateTime ge <time>" (which, as in
// Graph, cannot be combined with other properties).
func (g *Generated) usersPage(base string, q url.Values, size int) *reply {
	sel := q.Get("$select")
	withSignIn := strings.Contains(sel, "signInActivity")
	if withSignIn {
		size = min(size, 120)
	}
	withSponsors := strings.HasPrefix(q.Get("$expand"), "sponsors")
	filter := q.Get("$filter")
	var since time.Time
	if v, ok := strings.CutPrefix(filter, "signInActivity/lastSignInDateTime ge "); ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid filter clause")
		}
		since = t
	} else if filter != "" && filter != "userType eq 'Guest'" {
		return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported filter: "+filter)
	}
	start := 0
	if t := q.Get("$skiptoken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken")
		}
		start = n
	}
	total := g.spec.Guests + g.added
	page := make([]any, 0, min(size, total))
	i := start
	for ; i < total && len(page) < size; i++ {
		if !g.guestExists(i) {
			continue
		}
		if !since.IsZero() {
			if t := g.lastSignIn(i); t.IsZero() || t.Before(since) {
				continue
			}
		}
		psel := sel
		if psel != "" && withSponsors {
			psel += ",sponsors"
		}
		page = append(page, project(g.guest(i, withSignIn, withSponsors), psel))
	}
	out := map[string]any{"value": page}
	if i < total {
		out["@odata.nextLink"] = nextLink(base, q, "$skiptoken", strconv.Itoa(i))
	}
	return jsonReply(http.StatusOK, out)
}

// usersDelta: no token enumerates every user (all are guests here),
// "$deltatoken=latest" only hands out a token, "u<epoch>" returns users
// changed after that change set (removed ones with @removed).
func (g *Generated) usersDelta(base string, q url.Values, size int) *reply {
	if strings.Contains(q.Get("$select"), "signInActivity") {
		return graphError(http.StatusBadRequest, "Request_BadRequest", "$expand/$select is not supported for the following properties: signInActivity")
	}
	deltaLink := base + "?$deltatoken=u" + strconv.Itoa(g.epoch)
	tok := q.Get("$deltatoken")
	switch {
	case tok == "latest":
		return jsonReply(http.StatusOK, map[string]any{"value": []any{}, "@odata.deltaLink": deltaLink})
	case tok == "":
		r := g.usersPage(base, q, size)
		return r.withDeltaLink(deltaLink)
	case strings.HasPrefix(tok, "u"):
		k, err := strconv.Atoi(tok[1:])
		if err != nil || k > g.epoch {
			return gone(base)
		}
		var ids []int
		for i, o := range g.guests {
			if o.epoch > k {
				ids = append(ids, i)
			}
		}
		sort.Ints(ids)
		page := make([]any, 0, len(ids))
		sel := q.Get("$select")
		for _, i := range ids {
			if !g.guestExists(i) {
				page = append(page, map[string]any{"id": g.guestID(i), "@removed": map[string]any{"reason": "deleted"}})
				continue
			}
			page = append(page, project(g.guest(i, false, false), sel))
		}
		// Delta answers fit one page here: change sets are small.
		return jsonReply(http.StatusOK, map[string]any{"value": page, "@odata.deltaLink": deltaLink})
	}
	return gone(base)
}

// groupsDelta serves the membership changes of the guests' groups since a
// token: each changed group with members@delta naming the members added
// (the generator only adds). A full enumeration is not served: the
// collector only asks for the latest token and for changes.
func (g *Generated) groupsDelta(base string, q url.Values) *reply {
	deltaLink := base + "?$select=members&$deltatoken=g" + strconv.Itoa(g.epoch)
	if sel := q.Get("$select"); sel != "members" {
		return graphError(http.StatusNotImplemented, "NotImplemented", "fake: groups delta is served with $select=members only")
	}
	tok := q.Get("$deltatoken")
	switch {
	case tok == "latest":
		return jsonReply(http.StatusOK, map[string]any{"value": []any{}, "@odata.deltaLink": deltaLink})
	case strings.HasPrefix(tok, "g"):
		k, err := strconv.Atoi(tok[1:])
		if err != nil || k > g.epoch {
			return gone(base)
		}
		byGroup := map[int][]any{}
		for _, jn := range g.joins {
			if jn.epoch > k && g.guestExists(jn.guest) {
				byGroup[jn.group] = append(byGroup[jn.group], map[string]any{"@odata.type": "#microsoft.graph.user", "id": g.guestID(jn.guest)})
			}
		}
		groups := make([]int, 0, len(byGroup))
		for gr := range byGroup {
			groups = append(groups, gr)
		}
		sort.Ints(groups)
		page := make([]any, 0, len(groups))
		for _, gr := range groups {
			page = append(page, map[string]any{"id": guestGroupID(gr), "members@delta": byGroup[gr]})
		}
		return jsonReply(http.StatusOK, map[string]any{"value": page, "@odata.deltaLink": deltaLink})
	case tok == "":
		return graphError(http.StatusNotImplemented, "NotImplemented", "fake: a full groups enumeration is not served by the generated tenant")
	}
	return gone(base)
}

// withDeltaLink adds a delta link to the last page of an enumeration.
func (rr *reply) withDeltaLink(link string) *reply {
	if rr.status != http.StatusOK {
		return rr
	}
	v, err := decodeAny(rr.body)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		return rr
	}
	if _, more := m["@odata.nextLink"]; !more {
		m["@odata.deltaLink"] = link
	}
	return jsonReply(http.StatusOK, m)
}

// csomSites is one page of GetSitePropertiesFromSharePoint.
func (g *Generated) csomSites(start int) any {
	g.mu.RLock()
	defer g.mu.RUnlock()
	const pageSize = 500
	start = min(max(start, 0), g.spec.Sites)
	end := min(start+pageSize, g.spec.Sites)
	items := make([]any, 0, end-start)
	for d := start; d < end; d++ {
		items = append(items, g.csomSite(d))
	}
	var next any
	if end < g.spec.Sites {
		next = strconv.Itoa(end)
	}
	return map[string]any{"_ObjectType_": sitesEnumType, "NextStartIndexFromSharePoint": next, "_Child_Items_": items}
}

// csomSite is site d's SiteProperties.
func (g *Generated) csomSite(d int) map[string]any {
	hs := g.h(8, uint64(d), 0, 0)
	tpl, group := "STS#3", "00000000-0000-0000-0000-000000000000"
	if hs%2 == 0 {
		tpl, group = "GROUP#0", g.siteGUID(d)
	}
	return map[string]any{
		"_ObjectType_": sitePropsType, "Url": g.siteURL(d), "Title": "Site " + strconv.Itoa(d), "Template": tpl,
		"GroupId": "/Guid(" + group + ")/", "LockState": "Unlock", "SharingCapability": int(hs>>8) % 4,
		"SharingDomainRestrictionMode": 0, "SharingAllowedDomainList": "", "SharingBlockedDomainList": "",
		"SensitivityLabel": "/Guid(" + cmp.Or(siteLabel(d), "00000000-0000-0000-0000-000000000000") + ")/",
	}
}

// csomSiteByURL is the SiteProperties GetSitePropertiesByUrl finds for
// siteURL, nil when no generated site has that URL.
func (g *Generated) csomSiteByURL(siteURL string) map[string]any {
	u := strings.TrimRight(strings.ToLower(siteURL), "/")
	n, ok := strings.CutPrefix(u, "https://"+g.host+"/sites/s")
	if !ok {
		return nil
	}
	d, err := strconv.Atoi(n)
	if err != nil || d < 0 || d >= g.spec.Sites || g.siteURL(d) != u {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.csomSite(d)
}
