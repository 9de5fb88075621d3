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

// userRoutes are the /users endpoints.
var userRoutes = []route{
	{http.MethodGet, "users", (*Server).listUsers},
	{http.MethodGet, "users/{user}", (*Server).getUser},
	{http.MethodPatch, "users/{user}", (*Server).patchUser},
	{http.MethodPost, "users/{user}/revokeSignInSessions", (*Server).revokeSessions},
	{http.MethodGet, "users/{user}/manager", (*Server).getManager},
	{http.MethodPut, "users/{user}/manager/$ref", (*Server).setManager},
	{http.MethodDelete, "users/{user}/manager/$ref", (*Server).removeManager},
	{http.MethodGet, "users/{user}/memberOf", (*Server).memberOf},
	{http.MethodGet, "users/{user}/memberOf/microsoft.graph.directoryRole", (*Server).memberOf},
	{http.MethodGet, "users/{user}/memberOf/graph.directoryRole", (*Server).memberOf},
	{http.MethodGet, "users/{user}/licenseDetails", (*Server).licenseDetails},
}

func (s *Server) getUser(c *call) reply {
	sel, rep := parseSelect(c.query)
	if rep.code != "" {
		return rep
	}
	return ok(userJSON(c.user, sel, "users"+selectContext(sel)+"/$entity", ""))
}

func (s *Server) revokeSessions(c *call) reply {
	c.user.SignInSessionsValidFromDateTime = s.now().UTC().Truncate(time.Second)
	return ok(map[string]any{"@odata.context": metadata + "#Edm.Boolean", "value": true})
}

func (s *Server) getManager(c *call) reply {
	m := c.t.lookup(c.user.Manager)
	if m == nil {
		return notFound("manager")
	}
	sel, rep := parseSelect(c.query)
	if rep.code != "" {
		return rep
	}
	return ok(userJSON(m, sel, "directoryObjects"+selectContext(sel)+"/$entity", "#microsoft.graph.user"))
}

// errSynced is Graph's answer to a change of a property that on-premises
// Active Directory masters, on a user synced from it: password, account
// enabled, department, job title, manager. Reported publicly for the
// password (microsoftgraph/microsoft-graph-docs#7301) and other properties
// (microsoftgraph/microsoft-graph-docs#18038, the same 400 body as #12584).
var errSynced = fail(http.StatusBadRequest, "Request_BadRequest",
	"Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.")

// onPremisesMastered are the user properties a synced user's on-premises
// directory owns.
var onPremisesMastered = []string{"accountEnabled", "passwordProfile", "department", "jobTitle"}

// setManager serves PUT /users/{id}/manager/$ref: the body's @odata.id
// names the new manager, a user of the tenant.
func (s *Server) setManager(c *call) reply {
	ref, rep := refTarget(c)
	if rep.code != "" {
		return rep
	}
	m := c.t.lookup(ref)
	if m == nil || !strings.EqualFold(m.ID, ref) {
		return notFound(ref)
	}
	if c.user.OnPremisesSyncEnabled {
		return errSynced
	}
	if m == c.user {
		return badRequest("A user cannot be their own manager.")
	}
	c.user.Manager = m.UserPrincipalName
	return reply{status: http.StatusNoContent}
}

// removeManager serves DELETE /users/{id}/manager/$ref.
func (s *Server) removeManager(c *call) reply {
	if c.t.lookup(c.user.Manager) == nil {
		return notFound("manager")
	}
	if c.user.OnPremisesSyncEnabled {
		return errSynced
	}
	c.user.Manager = ""
	return reply{status: http.StatusNoContent}
}

// memberOf serves memberOf (groups and roles) and its directoryRole cast.
func (s *Server) memberOf(c *call) reply {
	roleOnly := len(c.segs) == 4
	values := []any{}
	if !roleOnly {
		for _, g := range c.t.groups {
			if containsFold(g.Members, c.user.UserPrincipalName) {
				values = append(values, groupJSON(g))
			}
		}
	}
	for _, name := range c.user.DirectoryRoles {
		values = append(values, roleJSON(c.t, name))
	}
	ctx := "directoryObjects"
	if roleOnly {
		ctx = "directoryRoles"
	}
	return ok(map[string]any{"@odata.context": metadata + "#" + ctx, "value": values})
}

// licenseDetails serves GET /users/{id}/licenseDetails: the user's
// licenses with their SKU part numbers.
func (s *Server) licenseDetails(c *call) reply {
	values := []any{}
	for _, part := range c.user.AssignedLicenses {
		values = append(values, map[string]any{
			"@odata.type":   "#microsoft.graph.licenseDetails",
			"id":            guid(c.t.name, "licenseDetails", c.user.ID, part),
			"skuId":         skuIDs[part],
			"skuPartNumber": part,
			"servicePlans":  []any{},
		})
	}
	return ok(map[string]any{"@odata.context": metadata + "#users('" + c.user.ID + "')/licenseDetails", "value": values})
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
	{"onPremisesSyncEnabled", false, func(u *user) any {
		if !u.OnPremisesSyncEnabled {
			return nil // Graph: null for a cloud-only user
		}
		return true
	}},
	{"onPremisesImmutableId", false, func(u *user) any { return null(u.OnPremisesImmutableID) }},
	{"onPremisesLastSyncDateTime", false, func(u *user) any { return graphTime(u.OnPremisesLastSyncDateTime) }},
	{"assignedLicenses", false, func(u *user) any {
		out := []any{}
		for _, part := range u.AssignedLicenses {
			out = append(out, map[string]any{"disabledPlans": []string{}, "skuId": skuIDs[part]})
		}
		return out
	}},
	{"licenseAssignmentStates", false, licenseStatesJSON}, // licenses.go
}

// parseSelect returns the canonical user property names of $select (nil
// when absent), or a 400 reply for an unknown property.
func parseSelect(q url.Values) ([]string, reply) {
	return selectOf(q, "microsoft.graph.user", func(name string) (string, bool) {
		if i := propIndex(name); i >= 0 {
			return userProps[i].name, true
		}
		return "", false
	})
}

// selectOf parses $select for an entity type: each name is looked up
// (case-insensitively) by canonical; an unknown one is Graph's 400.
func selectOf(q url.Values, entity string, canonical func(string) (string, bool)) ([]string, reply) {
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
		name, ok := canonical(f)
		if !ok {
			return nil, badRequest(fmt.Sprintf("Could not find a property named '%s' on type '%s'.", f, entity))
		}
		sel = append(sel, name)
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
func (s *Server) listUsers(c *call) reply {
	t, q := c.t, c.query
	if rep := unsupported(q, "$orderby"); rep.code != "" {
		return rep
	}
	sel, rep := parseSelect(q)
	if rep.code != "" {
		return rep
	}
	keep, rep := parseFilter(q.Get("$filter"))
	if rep.code != "" {
		return rep
	}
	w, rep := parseWindow(q, 100, 999)
	if rep.code != "" {
		return rep
	}
	var matched []*user
	for _, u := range t.users {
		if keep(u) {
			matched = append(matched, u)
		}
	}
	return w.collection(c, len(matched), "users"+selectContext(sel), func(i int) any { return userJSON(matched[i], sel, "", "") })
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
func (s *Server) patchUser(c *call) reply {
	u, body := c.user, c.body
	var props map[string]json.RawMessage
	if err := json.Unmarshal(body, &props); err != nil || props == nil {
		return errPayload
	}
	if u.OnPremisesSyncEnabled {
		for _, k := range onPremisesMastered {
			if _, ok := props[k]; ok {
				return errSynced
			}
		}
	}
	next := u.User
	hash, rep := s.applyUserProps(&next, props, patchable)
	if rep.code != "" {
		return rep
	}
	if hash != nil {
		s.remediateRisk(&next) // identity.go
	}
	u.User = next
	if hash != nil {
		u.passwordHash = *hash
	}
	return reply{status: http.StatusNoContent}
}

// patchable are the properties PATCH /users/{id} sets; creatable those
// POST /users takes.
var (
	patchable = []string{"accountEnabled", "department", "jobTitle", "usageLocation", "passwordProfile"}
	creatable = append(slices.Clone(patchable), "displayName", "mailNickname", "userPrincipalName", "givenName", "surname")
)

// applyUserProps decodes the properties of a POST or PATCH /users body into
// next, in key order, the first bad one refused: one not in writable (an
// @odata annotation aside) as Graph refuses an unknown property. It returns
// the hash of a passwordProfile's new password, nil without one.
func (s *Server) applyUserProps(next *User, props map[string]json.RawMessage, writable []string) (*[32]byte, reply) {
	var hash *[32]byte
	for _, k := range sortedKeys(props) {
		if !slices.Contains(writable, k) {
			if strings.HasPrefix(k, "@odata.") {
				continue
			}
			return nil, invalidProperty(k)
		}
		raw, rep := props[k], reply{}
		switch k {
		case "accountEnabled":
			rep = decodeBool(raw, &next.AccountEnabled)
		case "displayName":
			rep = decodeString(raw, &next.DisplayName)
		case "mailNickname":
			var nick string // the simulator derives the address from the UPN
			rep = decodeString(raw, &nick)
		case "userPrincipalName":
			rep = decodeString(raw, &next.UserPrincipalName)
		case "usageLocation":
			rep = decodeString(raw, &next.UsageLocation)
		case "department":
			rep = decodeString(raw, &next.Department)
		case "jobTitle":
			rep = decodeString(raw, &next.JobTitle)
		case "givenName":
			rep = decodeString(raw, &next.GivenName)
		case "surname":
			rep = decodeString(raw, &next.Surname)
		case "passwordProfile":
			hash, rep = s.applyPasswordProfile(next, raw)
		}
		if rep.code != "" {
			return nil, rep
		}
	}
	return hash, reply{}
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
