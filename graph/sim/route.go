package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// route is one Graph endpoint: a method, a path pattern under /v1.0 whose
// {name} segments are parameters, and its handler. A {user} parameter is
// looked up in the tenant (404 when absent), and the caller's directory
// roles are checked (authorize, app.go), before the handler runs.
type route struct {
	method  string
	pattern string
	handle  func(*Server, *call) reply
}

// call is one routed request. Handlers run with Server.mu held.
type call struct {
	t      *tenant
	r      *http.Request
	body   []byte
	query  url.Values
	segs   []string          // unescaped path segments after /v1.0
	params map[string]string // {name} -> segment
	user   *user             // the {user} parameter, resolved
}

// routes lists every endpoint the simulator serves, by area.
func routes() []route {
	return slices.Concat(userRoutes, identityRoutes, groupRoutes, licenseRoutes, deviceRoutes, roleRoutes, lifecycleRoutes, teamRoutes, healthRoutes, guestRoutes, baselineRoutes)
}

// patterns splits each route's pattern at "/", once (Server.patterns).
func patterns(rs []route) [][]string {
	out := make([][]string, len(rs))
	for i, rt := range rs {
		out[i] = strings.Split(rt.pattern, "/")
	}
	return out
}

// route dispatches a Graph request for tenant t. Called with s.mu held.
func (s *Server) route(t *tenant, r *http.Request, body []byte) reply {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return badRequest("Invalid request path.")
	}
	if len(segs) == 0 {
		return badRequest("Resource not found for the segment 'v1.0'.")
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	deepest := 0 // how many leading segments some pattern matched
	for i, rt := range s.routes {
		params, n := match(s.patterns[i], segs)
		deepest = max(deepest, n)
		if params == nil {
			continue
		}
		if rt.method != method {
			allowed = append(allowed, rt.method)
			continue
		}
		c := &call{t: t, r: r, body: body, query: r.URL.Query(), segs: segs, params: params}
		if ref, ok := params["user"]; ok {
			if c.user = t.lookup(ref); c.user == nil {
				return notFound(ref)
			}
		}
		if rep := s.authorize(rt, c); rep.code != "" {
			return rep // the caller's directory roles do not allow it (app.go)
		}
		return rt.handle(s, c)
	}
	if len(allowed) > 0 {
		return reply{status: http.StatusMethodNotAllowed, code: "Request_BadRequest",
			message: "Specified HTTP method is not allowed for the request target.", allow: allowed}
	}
	bad := segs[min(deepest, len(segs)-1)]
	return badRequest(fmt.Sprintf("Resource not found for the segment '%s'.", bad))
}

// match matches segs against a pattern split at "/". It returns the
// parameters (non-nil on a match) and how many leading segments matched.
func match(parts, segs []string) (map[string]string, int) {
	n := 0
	for ; n < len(parts) && n < len(segs); n++ {
		if p := parts[n]; !isParam(p) && p != segs[n] {
			return nil, n
		}
	}
	if len(parts) != len(segs) {
		return nil, n
	}
	params := map[string]string{}
	for i, p := range parts {
		if isParam(p) {
			params[p[1:len(p)-1]] = segs[i]
		}
	}
	return params, n
}

// isParam reports whether a pattern segment is a {name} parameter.
func isParam(p string) bool { return strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") }
