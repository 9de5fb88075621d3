package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// unsupported refuses the collection query options the simulator does not
// implement ($search, $expand, $count, $skip, and any extra named), as
// Request_UnsupportedQuery: a client relying on them learns it here.
func unsupported(q url.Values, extra ...string) reply {
	for _, k := range append([]string{"$search", "$expand", "$count", "$skip"}, extra...) {
		if q.Has(k) {
			return fail(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Query option '%s' is not supported by the simulator.", k))
		}
	}
	return reply{}
}

// window is one page of a collection: its offset and size, from $skiptoken
// and $top.
type window struct{ skip, top int }

// parseWindow reads $top (1..max, default def) and $skiptoken.
func parseWindow(q url.Values, def, max int) (window, reply) {
	w := window{top: def}
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return w, badRequest(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, max))
		}
		w.top = n
	}
	if v := q.Get("$skiptoken"); v != "" {
		n, ok := decodeSkipToken(v)
		if !ok {
			return w, fail(http.StatusBadRequest, "Request_BadRequest", "Invalid skip token.")
		}
		w.skip = n
	}
	return w, reply{}
}

// collection renders the window's part of n items (item(i) renders the
// i-th) with its @odata.context and, when more remain, an absolute
// @odata.nextLink on the host the request came in on, as Graph does.
func (w window) collection(c *call, n int, ctx string, item func(i int) any) reply {
	values := []any{}
	for i := w.skip; i < n && i < w.skip+w.top; i++ {
		values = append(values, item(i))
	}
	body := map[string]any{"@odata.context": metadata + "#" + ctx, "value": values}
	if w.skip+w.top < n {
		next := url.Values{}
		for k, v := range c.query {
			next[k] = v
		}
		next.Set("$skiptoken", encodeSkipToken(w.skip+w.top))
		scheme := "http"
		if c.r.TLS != nil {
			scheme = "https"
		}
		segs := make([]string, len(c.segs))
		for i, s := range c.segs {
			segs[i] = url.PathEscape(s)
		}
		body["@odata.nextLink"] = scheme + "://" + c.r.Host + "/v1.0/" + strings.Join(segs, "/") + "?" + strings.ReplaceAll(next.Encode(), "%24", "$")
	}
	return ok(body)
}

// collectionOf answers one page of already rendered items, refusing the
// query options the simulator does not support.
func collectionOf(c *call, items []any, ctx string, def int) reply {
	w, rep := listWindow(c.query, def)
	if rep.code != "" {
		return rep
	}
	return w.collection(c, len(items), ctx, func(i int) any { return items[i] })
}

// listWindow is parseWindow for the collections that support no ordering:
// unsupported options are refused, $top is 1..999.
func listWindow(q url.Values, def int) (window, reply) {
	if rep := unsupported(q, "$orderby"); rep.code != "" {
		return window{}, rep
	}
	return parseWindow(q, def, 999)
}
