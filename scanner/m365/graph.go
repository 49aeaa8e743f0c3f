package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sharedrift/sharedrift/scanner"
)

// Graph API versions.
const (
	V1   = "v1.0"
	Beta = "beta"
)

// graphURL joins the Graph root, a version and a path with its query.
func (c *Client) graphURL(version, pathQuery string) string {
	return strings.TrimRight(c.o.Endpoints.Graph, "/") + "/" + version + pathQuery
}

// GraphGet reads one Graph resource into v. pathQuery starts with "/".
func (c *Client) GraphGet(ctx context.Context, version, pathQuery string, v any) error {
	u := c.graphURL(version, pathQuery)
	resp, err := c.send(ctx, request{aud: AudienceGraph, method: http.MethodGet, url: u, header: jsonHeader()})
	if err != nil {
		return err
	}
	return decodeJSON(endpointName(http.MethodGet, u), resp.body, v)
}

// GraphWrite sends a PATCH, POST or DELETE with a JSON body (nil for none)
// and decodes a JSON answer into out when out is not nil and there is one.
func (c *Client) GraphWrite(ctx context.Context, method, version, pathQuery string, in, out any) error {
	u := c.graphURL(version, pathQuery)
	var body []byte
	h := jsonHeader()
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: encode body: %w", endpointName(method, u), err)
		}
		body = b
		h.Set("Content-Type", "application/json")
	}
	resp, err := c.send(ctx, request{aud: AudienceGraph, method: method, url: u, body: body, header: h})
	if err != nil {
		return err
	}
	if out != nil && len(bytes.TrimSpace(resp.body)) > 0 {
		return decodeJSON(endpointName(method, u), resp.body, out)
	}
	return nil
}

func jsonHeader() http.Header {
	return http.Header{"Accept": {"application/json"}}
}

// page is one page of a Graph or Exchange collection.
type page struct {
	Value     json.RawMessage `json:"value"`
	NextLink  string          `json:"@odata.nextLink"`
	DeltaLink string          `json:"@odata.deltaLink"`
}

// items checks that the page really carries a value array: a body without
// one is an error, never an empty list.
func (p *page) items(endpoint string) ([]json.RawMessage, error) {
	v := bytes.TrimSpace(p.Value)
	if len(v) == 0 || v[0] != '[' {
		return nil, fmt.Errorf("%s: response has no value array", endpoint)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, fmt.Errorf("%s: value: %w", endpoint, err)
	}
	return items, nil
}

// PageFunc receives each page's items.
type PageFunc func(items []json.RawMessage) error

// GraphPages reads a Graph collection page by page, following
// @odata.nextLink, and returns the final @odata.deltaLink if any.
func (c *Client) GraphPages(ctx context.Context, version, pathQuery string, header http.Header, fn PageFunc) (deltaLink string, err error) {
	return c.graphPagesURL(ctx, c.graphURL(version, pathQuery), header, fn)
}

func (c *Client) graphPagesURL(ctx context.Context, u string, header http.Header, fn PageFunc) (string, error) {
	h := jsonHeader()
	for k, v := range header {
		h[k] = v
	}
	first := u
	for {
		resp, err := c.send(ctx, request{aud: AudienceGraph, method: http.MethodGet, url: u, header: h})
		if err != nil {
			return "", err
		}
		name := endpointName(http.MethodGet, u)
		var p page
		if err := decodeJSON(name, resp.body, &p); err != nil {
			return "", err
		}
		items, err := p.items(name)
		if err != nil {
			return "", err
		}
		if err := fn(items); err != nil {
			return "", err
		}
		if p.NextLink == "" {
			return p.DeltaLink, nil
		}
		if !sameOrigin(first, p.NextLink) {
			return "", fmt.Errorf("%s: nextLink points to another host: %s", name, p.NextLink)
		}
		u = p.NextLink
	}
}

// maxBatch is Graph's JSON batching limit.
const maxBatch = 20

// BatchRequest is one GET inside a Graph $batch; URL is relative to the
// version root, e.g. "/users/{id}/sponsors?$select=id".
type BatchRequest struct {
	ID  string
	URL string
}

// BatchResult is one sub-request's outcome: its items (all pages) or error.
type BatchResult struct {
	Items []json.RawMessage
	Err   error
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// BatchCollections reads many Graph collections with $batch, at most 20 per
// round trip. Sub-requests throttled or failed transiently are retried in a
// later batch after their Retry-After; a sub-collection with more pages is
// followed with plain GETs. Each request gets a result keyed by its ID.
func (c *Client) BatchCollections(ctx context.Context, version string, reqs []BatchRequest) map[string]BatchResult {
	return c.batchRun(ctx, version, reqs, func(r BatchRequest, br batchResponse) BatchResult {
		return c.batchItems(ctx, version, r, br)
	})
}

// BatchObjects reads single Graph objects with $batch, like
// BatchCollections; each result holds the object's body as its one item.
func (c *Client) BatchObjects(ctx context.Context, version string, reqs []BatchRequest) map[string]BatchResult {
	return c.batchRun(ctx, version, reqs, func(r BatchRequest, br batchResponse) BatchResult {
		u := c.graphURL(version, r.URL)
		if c.o.Recorder != nil {
			c.o.Recorder.Record(Recording{Audience: AudienceGraph, Method: http.MethodGet, URL: u, Status: br.Status, Body: br.Body})
		}
		if err := batchBody(endpointName(http.MethodGet, u), r, br.Body); err != nil {
			return BatchResult{Err: err}
		}
		var probe map[string]json.RawMessage
		if err := decodeJSON(endpointName(http.MethodGet, u), br.Body, &probe); err != nil {
			return BatchResult{Err: err}
		}
		return BatchResult{Items: []json.RawMessage{br.Body}}
	})
}

// batchRun sends reqs in $batch envelopes of 20, retrying throttled and
// transiently failed sub-requests, and turns each success with ok.
func (c *Client) batchRun(ctx context.Context, version string, reqs []BatchRequest, onOK func(BatchRequest, batchResponse) BatchResult) map[string]BatchResult {
	out := make(map[string]BatchResult, len(reqs))
	byID := make(map[string]BatchRequest, len(reqs))
	pending := make([]BatchRequest, 0, len(reqs))
	for _, r := range reqs {
		byID[r.ID] = r
		pending = append(pending, r)
	}
	stats := scanner.StatsFrom(ctx)
	for round := 0; len(pending) > 0; round++ {
		var again []BatchRequest
		var wait time.Duration
		for start := 0; start < len(pending); start += maxBatch {
			chunk := pending[start:min(start+maxBatch, len(pending))]
			resps, err := c.batchOnce(ctx, version, chunk)
			if err != nil {
				for _, r := range chunk {
					out[r.ID] = BatchResult{Err: err}
				}
				continue
			}
			for _, r := range chunk {
				br, ok := resps[r.ID]
				name := endpointName(http.MethodGet, c.graphURL(version, r.URL))
				switch {
				case !ok:
					out[r.ID] = BatchResult{Err: fmt.Errorf("%s: missing from $batch response", name)}
				case br.Status >= 200 && br.Status < 300:
					out[r.ID] = onOK(r, br)
				case retryable(br.Status) && round < c.o.MaxRetries:
					if br.Status == http.StatusTooManyRequests || br.Status == http.StatusServiceUnavailable {
						if stats != nil {
							stats.Throttled.Add(1)
						}
					}
					if stats != nil {
						stats.Retries.Add(1)
					}
					h := http.Header{}
					for k, v := range br.Headers {
						h.Set(k, v)
					}
					d, ok := retryAfter(h, time.Now())
					if !ok {
						d = c.backoff(round)
					}
					wait = max(wait, d)
					again = append(again, r)
				default:
					out[r.ID] = BatchResult{Err: decodeError(name, br.Status, br.Body)}
				}
			}
		}
		if len(again) == 0 {
			break
		}
		if err := c.o.Sleep(ctx, min(wait, c.o.MaxWait)); err != nil {
			for _, r := range again {
				out[r.ID] = BatchResult{Err: err}
			}
			break
		}
		pending = again
	}
	return out
}

// batchBody checks that a sub-request's answer in a $batch response is an
// object, naming the envelope's field when it is not.
func batchBody(name string, r BatchRequest, body json.RawMessage) error {
	if t := jsonType(bytes.TrimSpace(body)); t != "object" {
		return fmt.Errorf("%s: $batch response %q field \"body\": expected a JSON object, got %s", name, r.ID, t)
	}
	return nil
}

func (c *Client) batchItems(ctx context.Context, version string, r BatchRequest, br batchResponse) BatchResult {
	u := c.graphURL(version, r.URL)
	name := endpointName(http.MethodGet, u)
	if c.o.Recorder != nil {
		c.o.Recorder.Record(Recording{Audience: AudienceGraph, Method: http.MethodGet, URL: u, Status: br.Status, Body: br.Body})
	}
	if err := batchBody(name, r, br.Body); err != nil {
		return BatchResult{Err: err}
	}
	var p page
	if err := decodeJSON(name, br.Body, &p); err != nil {
		return BatchResult{Err: err}
	}
	items, err := p.items(name)
	if err != nil {
		return BatchResult{Err: err}
	}
	if p.NextLink != "" {
		if !sameOrigin(u, p.NextLink) {
			return BatchResult{Err: fmt.Errorf("%s: nextLink points to another host", name)}
		}
		_, err := c.graphPagesURL(ctx, p.NextLink, nil, func(more []json.RawMessage) error {
			items = append(items, more...)
			return nil
		})
		if err != nil {
			return BatchResult{Err: err}
		}
	}
	return BatchResult{Items: items}
}

func (c *Client) batchOnce(ctx context.Context, version string, chunk []BatchRequest) (map[string]batchResponse, error) {
	type sub struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	body := struct {
		Requests []sub `json:"requests"`
	}{}
	var meter Meter
	var cost int64
	for _, r := range chunk {
		body.Requests = append(body.Requests, sub{ID: r.ID, Method: http.MethodGet, URL: r.URL})
		m, c := GraphCost(http.MethodGet, r.URL)
		meter, cost = m, cost+c
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	u := c.graphURL(version, "/$batch")
	h := jsonHeader()
	h.Set("Content-Type", "application/json")
	resp, err := c.send(ctx, request{aud: AudienceGraph, method: http.MethodPost, url: u, body: b, header: h, meter: meter, cost: cost, readOnly: true})
	if err != nil {
		return nil, err
	}
	var out struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := decodeJSON(endpointName(http.MethodPost, u), resp.body, &out); err != nil {
		return nil, err
	}
	m := make(map[string]batchResponse, len(out.Responses))
	for _, r := range out.Responses {
		m[r.ID] = r
	}
	return m, nil
}

// selectQuery builds "?$select=a,b" plus extra parameters, in a stable order.
func selectQuery(fields []string, extra ...string) string {
	q := "?$select=" + strings.Join(fields, ",")
	for _, e := range extra {
		q += "&" + e
	}
	return q
}

// escapePath escapes one path segment (ids may contain commas or "!").
func escapePath(s string) string { return url.PathEscape(s) }

// sortedKeys returns m's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// itoa is strconv.Itoa, short for query building.
func itoa(i int) string { return strconv.Itoa(i) }
