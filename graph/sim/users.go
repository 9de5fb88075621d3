package sim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

const metadata = "https://graph.microsoft.com/v1.0/$metadata"

// route dispatches a Graph request for tenant t. Called with s.mu held.
func (s *Server) route(t *tenant, r *http.Request, body []byte) reply {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return badRequest("Invalid request path.")
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	allow := func(methods ...string) bool {
		for _, m := range methods {
			if m == method {
				return true
			}
		}
		return false
	}
	notAllowed := fail(http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
	if len(segs) == 0 {
		return badRequest("Resource not found for the segment 'v1.0'.")
	}
	if segs[0] != "users" {
		return badRequest(fmt.Sprintf("Resource not found for the segment '%s'.", segs[0]))
	}
	if len(segs) == 1 {
		if !allow(http.MethodGet) {
			return notAllowed
		}
		return s.listUsers(t, r)
	}
	// Check the shape of the path (and the method) before looking the user up.
	switch {
	case len(segs) == 2:
		if !allow(http.MethodGet, http.MethodPatch) {
			return notAllowed
		}
	case len(segs) == 3 && segs[2] == "revokeSignInSessions":
		if !allow(http.MethodPost) {
			return notAllowed
		}
	case len(segs) == 3 && (segs[2] == "manager" || segs[2] == "memberOf"),
		len(segs) == 4 && segs[2] == "memberOf" && isDirectoryRoleCast(segs[3]):
		if !allow(http.MethodGet) {
			return notAllowed
		}
	case len(segs) >= 4 && segs[2] == "memberOf":
		return badRequest(fmt.Sprintf("Resource not found for the segment '%s'.", segs[3]))
	default:
		return badRequest(fmt.Sprintf("Resource not found for the segment '%s'.", segs[2]))
	}
	u := t.lookup(segs[1])
	if u == nil {
		return notFound(segs[1])
	}
	q := r.URL.Query()
	switch {
	case len(segs) == 2 && method == http.MethodGet:
		sel, rep := parseSelect(q)
		if rep.code != "" {
			return rep
		}
		return ok(userJSON(u, sel, "users"+selectContext(sel)+"/$entity", ""))
	case len(segs) == 2:
		return s.patchUser(u, body)
	case segs[2] == "revokeSignInSessions":
		u.SignInSessionsValidFromDateTime = s.now().UTC().Truncate(time.Second)
		return ok(map[string]any{"@odata.context": metadata + "#Edm.Boolean", "value": true})
	case segs[2] == "manager":
		m := t.lookup(u.Manager)
		if m == nil {
			return notFound("manager")
		}
		sel, rep := parseSelect(q)
		if rep.code != "" {
			return rep
		}
		return ok(userJSON(m, sel, "directoryObjects"+selectContext(sel)+"/$entity", "#microsoft.graph.user"))
	default: // memberOf
		roleOnly := len(segs) == 4
		values := []any{}
		if !roleOnly {
			for _, g := range t.groups {
				if containsFold(g.Members, u.UserPrincipalName) {
					values = append(values, groupJSON(g))
				}
			}
		}
		for _, name := range u.DirectoryRoles {
			values = append(values, roleJSON(t, name))
		}
		ctx := "directoryObjects"
		if roleOnly {
			ctx = "directoryRoles"
		}
		return ok(map[string]any{"@odata.context": metadata + "#" + ctx, "value": values})
	}
}

// segments splits an escaped /v1.0/... path into unescaped segments after
// the version, ignoring a trailing slash.
func segments(escaped string) ([]string, error) {
	rest := strings.Trim(strings.TrimPrefix(escaped, "/v1.0"), "/")
	if rest == "" {
		return nil, nil
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, err
		}
		segs[i] = u
	}
	return segs, nil
}

func isDirectoryRoleCast(seg string) bool {
	return seg == "microsoft.graph.directoryRole" || seg == "graph.directoryRole"
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// userProp is one property of microsoft.graph.user the simulator knows.
type userProp struct {
	name  string
	def   bool // in Graph's default property set
	value func(u *user) any
}

var userProps = []userProp{
	{"id", true, func(u *user) any { return u.ID }},
	{"businessPhones", true, func(u *user) any { return nonNil(u.BusinessPhones) }},
	{"displayName", true, func(u *user) any { return null(u.DisplayName) }},
	{"givenName", true, func(u *user) any { return null(u.GivenName) }},
	{"jobTitle", true, func(u *user) any { return null(u.JobTitle) }},
	{"mail", true, func(u *user) any { return null(u.Mail) }},
	{"mobilePhone", true, func(u *user) any { return nil }},
	{"officeLocation", true, func(u *user) any { return null(u.OfficeLocation) }},
	{"preferredLanguage", true, func(u *user) any { return null(u.PreferredLanguage) }},
	{"surname", true, func(u *user) any { return null(u.Surname) }},
	{"userPrincipalName", true, func(u *user) any { return u.UserPrincipalName }},
	{"department", false, func(u *user) any { return null(u.Department) }},
	{"accountEnabled", false, func(u *user) any { return u.AccountEnabled }},
	{"usageLocation", false, func(u *user) any { return null(u.UsageLocation) }},
	{"lastPasswordChangeDateTime", false, func(u *user) any { return graphTime(u.LastPasswordChangeDateTime) }},
	{"signInSessionsValidFromDateTime", false, func(u *user) any { return graphTime(u.SignInSessionsValidFromDateTime) }},
	{"assignedLicenses", false, func(u *user) any {
		out := []any{}
		for _, part := range u.AssignedLicenses {
			out = append(out, map[string]any{"disabledPlans": []string{}, "skuId": skuIDs[part]})
		}
		return out
	}},
}

// parseSelect returns the canonical property names of $select (nil when
// absent), or a 400 reply for an unknown property.
func parseSelect(q url.Values) ([]string, reply) {
	raw := q.Get("$select")
	if raw == "" {
		return nil, reply{}
	}
	var sel []string
	for _, f := range strings.Split(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		i := propIndex(f)
		if i < 0 {
			return nil, badRequest(fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", f))
		}
		sel = append(sel, userProps[i].name)
	}
	return sel, reply{}
}

func propIndex(name string) int {
	for i, p := range userProps {
		if strings.EqualFold(p.name, name) {
			return i
		}
	}
	return -1
}

// selectContext is the "(a,b)" part of an @odata.context for a $select.
func selectContext(sel []string) string {
	if sel == nil {
		return ""
	}
	return "(" + strings.Join(sel, ",") + ")"
}

// userJSON renders u with the selected properties (the default set when sel
// is nil) plus id. ctx and odataType are added when not empty.
func userJSON(u *user, sel []string, ctx, odataType string) map[string]any {
	m := map[string]any{"id": u.ID}
	for _, p := range userProps {
		if (sel == nil && p.def) || containsFold(sel, p.name) {
			m[p.name] = p.value(u)
		}
	}
	if ctx != "" {
		m["@odata.context"] = metadata + "#" + ctx
	}
	if odataType != "" {
		m["@odata.type"] = odataType
	}
	return m
}

func groupJSON(g Group) map[string]any {
	return map[string]any{
		"@odata.type":        "#microsoft.graph.group",
		"id":                 g.ID,
		"displayName":        g.DisplayName,
		"description":        null(g.Description),
		"mail":               null(g.Mail),
		"mailEnabled":        g.MailEnabled,
		"securityEnabled":    g.SecurityEnabled,
		"groupTypes":         nonNil(g.GroupTypes),
		"membershipRule":     null(g.MembershipRule),
		"isAssignableToRole": g.IsAssignableToRole,
	}
}

func roleJSON(t *tenant, name string) map[string]any {
	rt := roleTemplates[name]
	return map[string]any{
		"@odata.type":     "#microsoft.graph.directoryRole",
		"id":              guid(t.name, "directoryRole", rt.id),
		"deletedDateTime": nil,
		"displayName":     name,
		"description":     rt.description,
		"roleTemplateId":  rt.id,
	}
}

// filterPattern matches the supported $filter subset: one "prop eq value".
var filterPattern = regexp.MustCompile(`^\s*(\w+)\s+eq\s+('(?:[^']|'')*'|true|false)\s*$`)

// parseFilter returns a predicate for $filter, or a 400 reply.
func parseFilter(raw string) (func(u *user) bool, reply) {
	if raw == "" {
		return func(*user) bool { return true }, reply{}
	}
	m := filterPattern.FindStringSubmatch(raw)
	if m == nil {
		return nil, fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
	}
	prop, val := m[1], m[2]
	str, isStr := strings.CutPrefix(val, "'")
	str = strings.ReplaceAll(strings.TrimSuffix(str, "'"), "''", "'")
	unsupported := fail(http.StatusBadRequest, "Request_UnsupportedQuery",
		fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource 'User'.", prop))
	switch {
	case strings.EqualFold(prop, "department") && isStr:
		return func(u *user) bool { return strings.EqualFold(u.Department, str) }, reply{}
	case strings.EqualFold(prop, "userPrincipalName") && isStr:
		return func(u *user) bool { return strings.EqualFold(u.UserPrincipalName, str) }, reply{}
	case strings.EqualFold(prop, "accountEnabled") && !isStr:
		want := val == "true"
		return func(u *user) bool { return u.AccountEnabled == want }, reply{}
	}
	return nil, unsupported
}

// listUsers serves GET /users with $select, $filter, $top and $skiptoken.
func (s *Server) listUsers(t *tenant, r *http.Request) reply {
	q := r.URL.Query()
	for _, k := range []string{"$search", "$orderby", "$expand", "$count"} {
		if q.Has(k) {
			return fail(http.StatusBadRequest, "Request_UnsupportedQuery", fmt.Sprintf("Query option '%s' is not supported by the simulator.", k))
		}
	}
	sel, rep := parseSelect(q)
	if rep.code != "" {
		return rep
	}
	keep, rep := parseFilter(q.Get("$filter"))
	if rep.code != "" {
		return rep
	}
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			return badRequest(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v))
		}
		top = n
	}
	skip := 0
	if v := q.Get("$skiptoken"); v != "" {
		n, ok := decodeSkipToken(v)
		if !ok {
			return fail(http.StatusBadRequest, "Request_BadRequest", "Invalid skip token.")
		}
		skip = n
	}
	var matched []*user
	for _, u := range t.users {
		if keep(u) {
			matched = append(matched, u)
		}
	}
	values := []any{}
	for i := skip; i < len(matched) && i < skip+top; i++ {
		values = append(values, userJSON(matched[i], sel, "", ""))
	}
	body := map[string]any{"@odata.context": metadata + "#users" + selectContext(sel), "value": values}
	if skip+top < len(matched) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("$skiptoken", encodeSkipToken(skip+top))
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		body["@odata.nextLink"] = scheme + "://" + r.Host + "/v1.0/users?" + strings.ReplaceAll(next.Encode(), "%24", "$")
	}
	return ok(body)
}

const skipTokenPrefix = "tierzero-sim:"

func encodeSkipToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(skipTokenPrefix + strconv.Itoa(offset)))
}

func decodeSkipToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, found := strings.CutPrefix(string(b), skipTokenPrefix)
	n, err := strconv.Atoi(rest)
	return n, found && err == nil && n >= 0
}

// patchUser applies a PATCH /users/{id} body: all or nothing.
func (s *Server) patchUser(u *user, body []byte) reply {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(body, &props); err != nil || props == nil {
		return errPayload
	}
	next := u.User
	var hash *[32]byte
	for _, k := range sortedKeys(props) {
		raw := props[k]
		rep := reply{}
		switch k {
		case "accountEnabled":
			rep = decodeBool(raw, &next.AccountEnabled)
		case "department":
			rep = decodeString(raw, &next.Department)
		case "jobTitle":
			rep = decodeString(raw, &next.JobTitle)
		case "usageLocation":
			rep = decodeString(raw, &next.UsageLocation)
		case "passwordProfile":
			hash, rep = s.applyPasswordProfile(&next, raw)
		default:
			if !strings.HasPrefix(k, "@odata.") {
				rep = invalidProperty(k)
			}
		}
		if rep.code != "" {
			return rep
		}
	}
	u.User = next
	if hash != nil {
		u.passwordHash = *hash
	}
	return reply{status: http.StatusNoContent}
}

// applyPasswordProfile validates a passwordProfile and applies it to next,
// returning the new password's hash (nil when the profile set none).
func (s *Server) applyPasswordProfile(next *User, raw json.RawMessage) (*[32]byte, reply) {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return nil, badRequest("Cannot convert the literal to the expected type 'microsoft.graph.passwordProfile'.")
	}
	var hash *[32]byte
	force, forceSet := false, false
	for _, k := range sortedKeys(p) {
		v := p[k]
		rep := reply{}
		switch k {
		case "password":
			var pw string
			if rep = decodeString(v, &pw); rep.code == "" {
				if !complexEnough(pw) {
					return nil, fail(http.StatusBadRequest, "Request_BadRequest",
						"The specified password does not comply with password complexity requirements. Please provide a different password.")
				}
				h := sha256.Sum256([]byte(pw))
				hash = &h
			}
		case "forceChangePasswordNextSignIn":
			rep, forceSet = decodeBool(v, &force), true
		case "forceChangePasswordNextSignInWithMfa":
			rep = decodeBool(v, &next.ForceChangePasswordNextSignInWithMfa)
		default:
			if !strings.HasPrefix(k, "@odata.") {
				rep = invalidProperty(k)
			}
		}
		if rep.code != "" {
			return nil, rep
		}
	}
	if forceSet || hash != nil {
		next.ForceChangePasswordNextSignIn = force
	}
	if hash != nil {
		next.LastPasswordChangeDateTime = s.now().UTC().Truncate(time.Second)
	}
	return hash, reply{}
}

// complexEnough reports whether pw meets Entra's complexity rule: at least 8
// characters from at least 3 of lower case, upper case, digits and symbols.
func complexEnough(pw string) bool {
	var lower, upper, digit, symbol int
	for _, c := range pw {
		switch {
		case unicode.IsLower(c):
			lower = 1
		case unicode.IsUpper(c):
			upper = 1
		case unicode.IsDigit(c):
			digit = 1
		default:
			symbol = 1
		}
	}
	return len([]rune(pw)) >= 8 && len([]rune(pw)) <= 256 && lower+upper+digit+symbol >= 3
}

func invalidProperty(name string) reply {
	return fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid property '%s'.", name))
}

func conversionError(edmType string) reply {
	return badRequest(fmt.Sprintf("Cannot convert a primitive value to the expected type '%s'. See the inner exception for more details.", edmType))
}

// decodeString decodes a JSON string (null clears) into dst.
func decodeString(raw json.RawMessage, dst *string) reply {
	var v *string
	if err := json.Unmarshal(raw, &v); err != nil {
		return conversionError("Edm.String")
	}
	*dst = ""
	if v != nil {
		*dst = *v
	}
	return reply{}
}

// decodeBool decodes a JSON boolean into dst.
func decodeBool(raw json.RawMessage, dst *bool) reply {
	var v *bool
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return conversionError("Edm.Boolean")
	}
	*dst = *v
	return reply{}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// graphTime formats t as Graph does (UTC, seconds, Z), null when zero.
func graphTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
