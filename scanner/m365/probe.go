package m365

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// A probe reads every endpoint the collector uses once, read-only, keeps
// what each answer looked like (status, property names and JSON types,
// values hashed) and checks the unconfirmed assumptions (Assumptions, in
// shapes.go) against it, so that an admin can tell what a real tenant
// says and attach the redacted result to a bug report.

// ProbeAnswer is what one endpoint answered. Names, ids and every other
// string are hashed: the file can be shared without the tenant's data.
type ProbeAnswer struct {
	Endpoint string `json:"endpoint"`
	Status   int    `json:"status"`
	Error    string `json:"error,omitempty"`
	// Properties maps each top-level property of the (first) object to
	// its JSON type.
	Properties map[string]string `json:"properties,omitempty"`
	// Sample is the (first) object with every string hashed.
	Sample any `json:"sample,omitempty"`

	body []byte // the object itself, kept in memory only for the checks
}

// Verdict is what a probe says about one assumption.
type Verdict struct {
	ID       string `json:"id"`
	Text     string `json:"assumption"`
	State    string `json:"state"` // confirmed, contradicted or not seen
	Evidence string `json:"evidence"`
}

// Verdict states.
const (
	Confirmed    = "confirmed"
	Contradicted = "contradicted"
	NotSeen      = "not seen"
)

// ProbeReport is the outcome of Probe.
type ProbeReport struct {
	Cloud       string        `json:"cloud"`
	Answers     []ProbeAnswer `json:"answers"`
	Assumptions []Verdict     `json:"assumptions"`
}

// Probe reads each endpoint once (the first page or item only) and checks
// every assumption. It never writes: CSOM queries and Get- cmdlets are the
// only POSTs.
func Probe(ctx context.Context, c *Client) ProbeReport {
	p := &prober{c: c, byEP: map[string]*ProbeAnswer{}, page: map[string][]json.RawMessage{}}
	p.graph(epSharePointSettings, V1, "/admin/sharepoint/settings", false)
	p.graph(epGetAllSites, V1, "/sites/getAllSites?$top=20", true)
	p.graph(epSitesDelta, V1, "/sites/delta?token=latest", true)
	// Sites, then drives, until an item with a sharing link is found: its
	// permissions are the answer most worth seeing.
	for _, site := range p.page[epGetAllSites] {
		found := false
		id := jsonString(site, "id")
		if id == "" {
			continue
		}
		p.graph(epDrives, V1, "/sites/"+escapePath(id)+"/drives", true)
		for _, drive := range p.page[epDrives] {
			d := jsonString(drive, "id")
			p.graph(epDriveDelta, V1, "/drives/"+escapePath(d)+"/root/delta?$top=200", true)
			if item := p.sharedItem(); item != "" {
				p.graph(epPermissions, V1, "/drives/"+escapePath(d)+"/items/"+escapePath(item)+"/permissions", true)
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	guest := p.graph(epUsers, V1, "/users?$filter=userType+eq+'Guest'&$top=1", true)
	if id := jsonString(guest, "id"); id != "" {
		p.graph("GET /v1.0/users/{id}/sponsors", V1, "/users/"+escapePath(id)+"/sponsors", true)
		p.graph("GET /v1.0/users/{id}/memberOf", V1, "/users/"+escapePath(id)+"/memberOf", true)
	}
	p.graph(epAuthorizationPolicy, V1, "/policies/authorizationPolicy", false)
	if c.o.Endpoints.Supported(epB2BPolicies) {
		p.graph(epB2BPolicies, Beta, "/policies/b2bManagementPolicies", true)
	}
	p.graph(epCrossTenantDefault, V1, "/policies/crossTenantAccessPolicy/default", false)
	p.graph(epCrossTenantPartners, V1, "/policies/crossTenantAccessPolicy/partners", true)
	p.graph(epGroupSettings, V1, "/groupSettings", true)
	p.graph(epGroups, V1, "/groups?$top=1", true)
	p.graph(epSensitivityLabel, Beta, "/security/informationProtection/sensitivityLabels", true)
	p.csom(epCSOMTenant, TenantQueryXML(csomTenantProps()), csomTenantType)
	p.csom(epCSOMSites, SitesQueryXML("", csomSitesIncludeDetail, csomSiteProps()), csomSitesType)
	for _, cmd := range []string{"Get-SharingPolicy", "Get-OrganizationRelationship", "Get-RemoteDomain"} {
		p.exchange(cmd)
	}
	p.raw(epTeamsFederation, func() ([]byte, error) {
		return c.TeamsGet(context.Background(), teamsConfigPath(teamsFederationConfig))
	})
	p.raw(epFabricTenantSettings, func() ([]byte, error) {
		if c.o.Endpoints.Fabric == "" {
			return nil, c.o.Endpoints.NotSupportedError(epFabricTenantSettings)
		}
		resp, err := c.send(context.Background(), request{aud: AudienceFabric, method: http.MethodGet,
			url: strings.TrimRight(c.o.Endpoints.Fabric, "/") + "/v1/admin/tenantsettings", header: jsonHeader()})
		if err != nil {
			return nil, err
		}
		return resp.body, nil
	})
	rep := ProbeReport{Cloud: c.o.Endpoints.Cloud, Answers: p.answers}
	for i := range p.answers {
		p.byEP[p.answers[i].Endpoint] = &p.answers[i]
	}
	for _, a := range Assumptions {
		v := a.Check(p.byEP)
		v.ID, v.Text = a.ID, a.Text
		rep.Assumptions = append(rep.Assumptions, v)
	}
	return rep
}

type prober struct {
	c       *Client
	answers []ProbeAnswer
	byEP    map[string]*ProbeAnswer
	// page keeps each endpoint's last page of items, to pick the next
	// request from.
	page map[string][]json.RawMessage
}

func (p *prober) add(a ProbeAnswer) []byte {
	if len(a.body) > 0 {
		var v any
		if json.Unmarshal(a.body, &v) == nil {
			if m, ok := v.(map[string]any); ok {
				a.Properties = map[string]string{}
				for k, x := range m {
					a.Properties[k] = jsonKind(x)
				}
			}
			a.Sample = redact(v)
		}
	}
	p.answers = append(p.answers, a)
	return a.body
}

// graph reads one Graph answer; for a collection, its first item (the
// whole body is kept too when the collection is empty).
func (p *prober) graph(ep, version, path string, collection bool) []byte {
	var body rawBody
	err := p.c.GraphGet(context.Background(), version, path, &body)
	a := ProbeAnswer{Endpoint: ep, Status: http.StatusOK}
	if err != nil {
		a.Status, a.Error = statusOf(err), errorCode(err)
		return p.add(a)
	}
	a.body = body
	if collection {
		var pg struct {
			Value []json.RawMessage `json:"value"`
		}
		if json.Unmarshal(body, &pg) == nil {
			p.page[ep] = pg.Value
			if len(pg.Value) > 0 {
				a.body = pg.Value[0]
			}
			if ep == epPermissions {
				// The first link, if any: links are what is checked.
				for _, v := range pg.Value {
					if _, ok := rawField(&ProbeAnswer{body: v}, "link"); ok {
						a.body = v
						break
					}
				}
			}
		}
	}
	return p.add(a)
}

// sharedItem is the first item of the drive delta with a shared facet.
func (p *prober) sharedItem() string {
	for _, raw := range p.page[epDriveDelta] {
		var it struct {
			ID     string          `json:"id"`
			Shared json.RawMessage `json:"shared"`
		}
		if json.Unmarshal(raw, &it) == nil && it.Shared != nil {
			return it.ID
		}
	}
	return ""
}

func (p *prober) csom(ep, xml, objType string) {
	a := ProbeAnswer{Endpoint: ep, Status: http.StatusOK}
	arr, err := p.c.ProcessQuery(context.Background(), xml)
	if err == nil {
		a.body, err = csomObject(ep, arr, objType)
	}
	if err != nil {
		a.Status, a.Error = statusOf(err), errorCode(err)
	}
	p.add(a)
}

// raw keeps a whole answer of a service other than Graph, CSOM and
// Exchange.
func (p *prober) raw(ep string, get func() ([]byte, error)) {
	a := ProbeAnswer{Endpoint: ep, Status: http.StatusOK}
	body, err := get()
	if err != nil {
		a.Status, a.Error = statusOf(err), errorCode(err)
	} else if obj, err := teamsConfigObject(ep, body); err == nil {
		a.body = obj
	} else {
		a.body = body
	}
	p.add(a)
}

func (p *prober) exchange(cmdlet string) {
	a := ProbeAnswer{Endpoint: cmdlet + " (POST /adminapi/beta/{tenant-id}/InvokeCommand)", Status: http.StatusOK}
	items, err := p.c.InvokeCommand(context.Background(), cmdlet, nil, nil)
	switch {
	case err != nil:
		a.Status, a.Error = statusOf(err), errorCode(err)
	case len(items) > 0:
		a.body = items[0]
	}
	p.add(a)
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// errorCode names an error without its message, which may hold names,
// ids or URLs of the tenant.
func errorCode(err error) string {
	var ae *APIError
	switch {
	case errors.Is(err, ErrSecretToken):
		return "refused before sending: token obtained with a client secret"
	case errors.As(err, &ae) && ae.Code != "":
		return ae.Code
	case errors.As(err, &ae):
		return http.StatusText(ae.Status)
	}
	var fe *FieldErrors
	if errors.As(err, &fe) {
		return "answer not in the expected shape"
	}
	return "request failed"
}

// jsonKind names a decoded JSON value's type.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	}
	return "object"
}

// redact hashes every string (names, ids, domains, URLs) and keeps the
// shape, numbers and booleans.
func redact(v any) any {
	switch x := v.(type) {
	case string:
		sum := sha256.Sum256([]byte(x))
		return "sha256:" + hex.EncodeToString(sum[:6])
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redact(e)
		}
		return out
	}
	return v
}

func jsonString(body []byte, key string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var s string
	_ = json.Unmarshal(m[key], &s)
	return s
}

// rawField returns a top-level property of an answer as raw JSON; ok is
// false when the endpoint was not read or the property is absent.
func rawField(a *ProbeAnswer, key string) (json.RawMessage, bool) {
	if a == nil || len(a.body) == 0 {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(a.body, &m) != nil {
		return nil, false
	}
	v, ok := m[key]
	return v, ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// WriteProbe writes the report as indented JSON; only hashed values leave.
func WriteProbe(w interface{ Write([]byte) (int, error) }, rep ProbeReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// SortedProperties lists an answer's properties as "name:type".
func (a ProbeAnswer) SortedProperties() []string {
	out := make([]string, 0, len(a.Properties))
	for k, t := range a.Properties {
		out = append(out, k+":"+t)
	}
	sort.Strings(out)
	return out
}

func notSeen(format string, args ...any) Verdict {
	return Verdict{State: NotSeen, Evidence: fmt.Sprintf(format, args...)}
}

func seen(ok bool, evidence string) Verdict {
	if ok {
		return Verdict{State: Confirmed, Evidence: evidence}
	}
	return Verdict{State: Contradicted, Evidence: evidence}
}

func answerNote(a *ProbeAnswer, ep string) string {
	if a == nil {
		return ep + " was not read"
	}
	if a.Error != "" {
		return fmt.Sprintf("%s answered %d: %s", ep, a.Status, a.Error)
	}
	return ep + " answered " + fmt.Sprint(a.Status) + " without the property"
}
