package sim

// This file: granular delegated admin privileges (GDAP). A Microsoft partner
// (an MSP) holds, in its own partner tenant, relationships with its customer
// tenants: each names the customer (customer.tenantId), a status, an end
// (endDateTime) and the Entra roles the partner's technicians get in the
// customer tenant (accessDetails.unifiedRoles[].roleDefinitionId, role
// template ids) — learn.microsoft.com/en-us/graph/api/resources/delegatedadminrelationship.
// The partner reads them with GET /tenantRelationships/delegatedAdminRelationships
// (learn.microsoft.com/en-us/graph/api/tenantrelationship-list-delegatedadminrelationships).
//
// A technician's GDAP token for a customer (tokens.go) is honoured only
// while a relationship with that customer is active and not past its end,
// and only for what its roles allow: otherwise Graph answers 403
// Authorization_RequestDenied, "Insufficient privileges to complete the
// operation." (gdapDenied, checked before routing).
//
// The seeded partner is msp (domain msp.example, technicians
// tess@msp.example and rhys@msp.example) with three relationships: contoso,
// active, with User, Helpdesk, Authentication, Groups, License, Intune and
// Exchange Administrator, Security Reader and Directory Readers; fabrikam,
// active, with Helpdesk Administrator, License Administrator and Directory
// Readers only; northwind (not simulated), expired a month ago.
//
// /_sim/gdap?partner=msp (no authentication) shows them (GET) and changes
// one (PATCH, with customer=NAME: {"status", "endDateTime", "roles"}, each
// optional) or adds one (POST: a Relationship).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// gdapRoleIDs are the role template ids (global, the same in every tenant)
// of the roles GDAP relationships grant, by display name
// (learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).
var gdapRoleIDs = map[string]string{
	"Global Administrator":                    "62e90394-69f5-4237-9190-012177145e10",
	"User Administrator":                      "fe930be7-5e62-47db-91af-98c3a49a38b1",
	"Helpdesk Administrator":                  "729827e3-9c14-49f7-bb1b-9608f156bbb8",
	"Privileged Authentication Administrator": "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
	"Privileged Role Administrator":           "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"Authentication Administrator":            "c4e39bd9-1100-46d3-8c65-fb160da0071f",
	"Password Administrator":                  "966707d0-3269-4727-9be2-8c3a10f19b9d",
	"Groups Administrator":                    "fdd7a751-b60b-444a-984c-02652fe8fa1c",
	"License Administrator":                   "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
	"Intune Administrator":                    "3a2c62db-5318-420d-8d74-23affee5d9d5",
	"Exchange Administrator":                  "29232cdf-9323-42fd-ade2-1d097af3e4de",
	"Security Administrator":                  "194ae4cb-b126-40b2-bd5b-6091b380977d",
	"Security Reader":                         "5d6b6bb7-de71-4623-b4af-96380a352509",
	"Global Reader":                           "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
	"Directory Readers":                       "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
	"Reports Reader":                          "4a5d8f65-41da-4de4-8968-e035b65339cf",
	"Security Operator":                       "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
	"Cloud Device Administrator":              "7698a772-787b-4ac8-901f-60d6b08affd2",
	"Teams Administrator":                     "69091246-20e8-4a56-aa4d-066075b2a7a8",
	"Guest Inviter":                           "95e79109-95c0-4d8e-aee3-d01accf2d47b",
	"Service Support Administrator":           "f023fd81-a637-4b56-95fd-791ac0226033",
	"Conditional Access Administrator":        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
	"Authentication Policy Administrator":     "0526716b-113d-4c15-b2c8-68e3c22b9f80",
}

// gdapRoleName returns a role's display name, matched case-insensitively.
func gdapRoleName(name string) (string, bool) {
	for n := range gdapRoleIDs {
		if strings.EqualFold(n, strings.TrimSpace(name)) {
			return n, true
		}
	}
	return "", false
}

// Relationship is a GDAP relationship of a partner tenant, as /_sim/gdap
// shows and takes it.
type Relationship struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	// Customer is the customer tenant's name in the simulator (contoso),
	// or the name of one it does not simulate.
	Customer     string    `json:"customer"`
	CustomerID   string    `json:"customerTenantId"` // its Entra tenant id
	CustomerName string    `json:"customerDisplayName"`
	Status       string    `json:"status"` // active, expired, terminated, approvalPending, ...
	Roles        []string  `json:"roles"`  // role display names
	Duration     string    `json:"duration"`
	Created      time.Time `json:"createdDateTime"`
	Activated    time.Time `json:"activatedDateTime,omitzero"`
	End          time.Time `json:"endDateTime,omitzero"`
}

// statusAt is the relationship's status at now: an active one past its
// end has expired.
func (r Relationship) statusAt(now time.Time) string {
	if r.Status == "active" && !r.End.IsZero() && !now.Before(r.End) {
		return "expired"
	}
	return r.Status
}

// partner is a partner tenant. Guarded by Server.mu.
type partner struct {
	name, domain, id string
	technicians      []string // UPNs, lowercase
	relationships    []Relationship
	requests         []RequestEntry
}

func (p *partner) technician(upn string) bool {
	return slices.Contains(p.technicians, strings.ToLower(upn))
}

// seedPartners seeds the partner msp. Called from New.
func (s *Server) seedPartners(now time.Time) {
	p := &partner{name: "msp", domain: "msp.example", id: guid("tenant", "msp"),
		technicians: []string{"tess@msp.example", "rhys@msp.example"}}
	day := 24 * time.Hour
	rel := func(customer, display string, roles []string, activated time.Time, status string) Relationship {
		return Relationship{
			ID:           guid("gdap", p.name, customer) + "-" + guid("gdap", customer, p.name),
			DisplayName:  display,
			Customer:     customer,
			CustomerID:   customerID(s, customer),
			CustomerName: strings.ToUpper(customer[:1]) + customer[1:],
			Status:       status,
			Roles:        roles,
			Duration:     "P730D",
			Created:      activated.Add(-day),
			Activated:    activated,
			End:          activated.Add(730 * day),
		}
	}
	p.relationships = []Relationship{
		rel("contoso", "MSP support for Contoso", []string{"User Administrator", "Helpdesk Administrator", "Authentication Administrator",
			"Groups Administrator", "License Administrator", "Intune Administrator", "Exchange Administrator", "Security Reader", "Directory Readers"},
			now.Add(-200*day), "active"),
		rel("fabrikam", "MSP helpdesk for Fabrikam", []string{"Helpdesk Administrator", "License Administrator", "Directory Readers"},
			now.Add(-100*day), "active"),
		rel("northwind", "MSP support for Northwind", []string{"User Administrator", "Helpdesk Administrator"},
			now.Add(-760*day), "active"), // past its end: expired
	}
	s.partners[p.name] = p
}

// customerID is the Entra tenant id of a customer: the simulated tenant's,
// else one derived from the name.
func customerID(s *Server, name string) string {
	if t, ok := s.tenants[name]; ok {
		return t.id
	}
	return guid("tenant", name)
}

// TenantID returns the Entra tenant id (a GUID) of a simulated tenant or
// partner tenant, as tokens and relationships name it.
func (s *Server) TenantID(tenant string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[tenant]; ok {
		return t.id, true
	}
	if p, ok := s.partners[tenant]; ok {
		return p.id, true
	}
	return "", false
}

// Relationships returns a partner's GDAP relationships with their status as
// of now; nil for an unknown partner.
func (s *Server) Relationships(partnerName string) []Relationship {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.partners[partnerName]
	if !ok {
		return nil
	}
	now := s.now()
	out := make([]Relationship, len(p.relationships))
	for i, r := range p.relationships {
		r.Roles = slices.Clone(r.Roles)
		r.Status = r.statusAt(now)
		out[i] = r
	}
	return out
}

// RelationshipChange changes a relationship: each field set replaces the
// relationship's.
type RelationshipChange struct {
	Status *string    `json:"status"`
	End    *time.Time `json:"endDateTime"`
	Roles  []string   `json:"roles"`
}

// ChangeRelationship applies ch to every relationship of a partner with a
// customer (by simulator name). It fails for an unknown partner, customer
// or role.
func (s *Server) ChangeRelationship(partnerName, customer string, ch RelationshipChange) error {
	roles, err := canonicalGDAPRoles(ch.Roles)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.partners[partnerName]
	if !ok {
		return fmt.Errorf("unknown partner %q", partnerName)
	}
	found := false
	for i := range p.relationships {
		r := &p.relationships[i]
		if r.Customer != customer {
			continue
		}
		found = true
		if ch.Status != nil {
			r.Status = *ch.Status
		}
		if ch.End != nil {
			r.End = ch.End.UTC()
		}
		if ch.Roles != nil {
			r.Roles = roles
		}
	}
	if !found {
		return fmt.Errorf("partner %s has no relationship with %q", partnerName, customer)
	}
	return nil
}

// AddRelationship adds a relationship to a partner; the ids, names and
// dates it lacks are filled in.
func (s *Server) AddRelationship(partnerName string, r Relationship) (Relationship, error) {
	roles, err := canonicalGDAPRoles(r.Roles)
	if err != nil {
		return r, err
	}
	if r.Customer == "" {
		return r, fmt.Errorf("a relationship needs a customer")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.partners[partnerName]
	if !ok {
		return r, fmt.Errorf("unknown partner %q", partnerName)
	}
	now := s.now().UTC().Truncate(time.Second)
	r.Roles = roles
	if r.CustomerID == "" {
		r.CustomerID = customerID(s, r.Customer)
	}
	if r.ID == "" {
		r.ID = guid("gdap", p.name, r.Customer, fmt.Sprint(len(p.relationships))) + "-" + guid("gdap", r.Customer, p.name)
	}
	if r.DisplayName == "" {
		r.DisplayName = "MSP relationship with " + r.Customer
	}
	if r.CustomerName == "" {
		r.CustomerName = r.Customer
	}
	if r.Status == "" {
		r.Status = "active"
	}
	if r.Duration == "" {
		r.Duration = "P730D"
	}
	if r.Created.IsZero() {
		r.Created = now
	}
	if r.Activated.IsZero() && r.Status == "active" {
		r.Activated = now
	}
	if r.End.IsZero() {
		r.End = now.Add(730 * 24 * time.Hour)
	}
	p.relationships = append(p.relationships, r)
	return r, nil
}

func canonicalGDAPRoles(in []string) ([]string, error) {
	var out []string
	for _, r := range in {
		name, ok := gdapRoleName(r)
		if !ok {
			return nil, fmt.Errorf("unknown directory role %q", r)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// relationshipJSON is a relationship as Graph v1.0 answers it.
func relationshipJSON(r Relationship, now time.Time) map[string]any {
	roles := make([]map[string]any, 0, len(r.Roles))
	for _, name := range r.Roles {
		roles = append(roles, map[string]any{"roleDefinitionId": gdapRoleIDs[name]})
	}
	v := map[string]any{
		"@odata.type":          "#microsoft.graph.delegatedAdminRelationship",
		"@odata.etag":          `W/"` + guid("etag", r.ID, r.Status, r.End.String()) + `"`,
		"id":                   r.ID,
		"displayName":          r.DisplayName,
		"duration":             r.Duration,
		"status":               r.statusAt(now),
		"autoExtendDuration":   "PT0S",
		"createdDateTime":      r.Created.UTC().Format(time.RFC3339),
		"lastModifiedDateTime": r.Created.UTC().Format(time.RFC3339),
		"customer":             map[string]any{"tenantId": r.CustomerID, "displayName": r.CustomerName},
		"accessDetails":        map[string]any{"unifiedRoles": roles},
	}
	for k, t := range map[string]time.Time{"activatedDateTime": r.Activated, "endDateTime": r.End} {
		if t.IsZero() {
			v[k] = nil
		} else {
			v[k] = t.UTC().Format(time.RFC3339)
		}
	}
	return v
}

// servePartner serves a technician's request to the partner tenant: the
// GDAP relationships. Called with s.mu held.
func (s *Server) servePartner(p *partner, who caller, r *http.Request) reply {
	rep := s.partnerRoute(p, r)
	logRequest(&p.requests, RequestEntry{Method: r.Method, Path: r.URL.Path, Caller: who.String(), Status: rep.status})
	return rep
}

func (s *Server) partnerRoute(p *partner, r *http.Request) reply {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return badRequest("Invalid request path.")
	}
	if len(segs) < 2 || segs[0] != "tenantRelationships" || segs[1] != "delegatedAdminRelationships" || len(segs) > 3 {
		bad := "v1.0"
		if len(segs) > 0 {
			bad = segs[min(len(segs)-1, 1)]
		}
		return badRequest(fmt.Sprintf("Resource not found for the segment '%s'.", bad))
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return reply{status: http.StatusMethodNotAllowed, code: "Request_BadRequest",
			message: "Specified HTTP method is not allowed for the request target.", allow: []string{http.MethodGet}}
	}
	now := s.now()
	const context = metadata + "#tenantRelationships/delegatedAdminRelationships"
	if len(segs) == 3 {
		for _, rel := range p.relationships {
			if rel.ID == segs[2] {
				v := relationshipJSON(rel, now)
				v["@odata.context"] = context + "/$entity"
				return ok(v)
			}
		}
		return fail(http.StatusNotFound, "relationshipNotFound", "The delegated admin relationship was not found.")
	}
	value := []map[string]any{}
	for _, rel := range p.relationships {
		value = append(value, relationshipJSON(rel, now))
	}
	return ok(map[string]any{"@odata.context": context, "value": value})
}

// gdapDenied refuses a technician's GDAP call that no active relationship
// of the partner with t allows: 403 as Graph answers. Called with s.mu held,
// before routing.
func (s *Server) gdapDenied(t *tenant, who caller, r *http.Request, body []byte) (reply, bool) {
	if who.partner == "" {
		return reply{}, false
	}
	denied := fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	p := s.partners[who.partner]
	if p == nil {
		return denied, true
	}
	now := s.now()
	var held []string
	for _, rel := range p.relationships {
		if rel.CustomerID == t.id && rel.statusAt(now) == "active" {
			held = append(held, rel.Roles...)
		}
	}
	if len(held) == 0 {
		return denied, true // no active relationship: no roles at all
	}
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return reply{}, false // the router answers
	}
	if slices.Contains(held, "Global Administrator") {
		return reply{}, false
	}
	for _, need := range gdapNeeds(t, r.Method, segs, body) {
		if len(need) > 0 && !slices.ContainsFunc(need, func(role string) bool { return slices.Contains(held, role) }) {
			return denied, true
		}
	}
	return reply{}, false
}

// Roles, any one of which allows a kind of call (Global Administrator
// allows everything).
var (
	gdapReadAny         = []string{} // any role reads the directory
	gdapDeviceRead      = []string{"Intune Administrator", "Global Reader"}
	gdapDeviceWrite     = []string{"Intune Administrator"}
	gdapRiskRead        = []string{"Security Reader", "Security Administrator", "Global Reader"}
	gdapPassword        = []string{"Helpdesk Administrator", "Password Administrator", "Authentication Administrator", "User Administrator", "Privileged Authentication Administrator"}
	gdapEnable          = []string{"User Administrator", "Privileged Authentication Administrator"}
	gdapUserWrite       = []string{"User Administrator"}
	gdapSessions        = []string{"Helpdesk Administrator", "Authentication Administrator", "User Administrator", "Privileged Authentication Administrator"}
	gdapMethods         = []string{"Authentication Administrator", "Privileged Authentication Administrator"}
	gdapPrivilegedAuth  = []string{"Privileged Authentication Administrator"}
	gdapLicense         = []string{"License Administrator", "User Administrator"}
	gdapGroupWrite      = []string{"Groups Administrator", "User Administrator"}
	gdapRoleAssignable  = []string{"Privileged Role Administrator"}
	gdapMailboxSettings = []string{"Exchange Administrator", "User Administrator", "Helpdesk Administrator"}
	// Reads of secrets and reports need a role of their own, not any role
	// (BitLocker: Microsoft Learn, "Get bitlockerRecoveryKey", delegated
	// roles; LAPS: "Get deviceLocalCredentialInfo"; registration details:
	// "Get userRegistrationDetails").
	gdapBitLocker    = []string{"Cloud Device Administrator", "Helpdesk Administrator", "Intune Administrator", "Security Administrator", "Security Reader", "Global Reader"}
	gdapLAPS         = []string{"Cloud Device Administrator", "Intune Administrator"}
	gdapRegistration = []string{"Reports Reader", "Security Reader", "Security Administrator", "Global Reader"}
	gdapTeamWrite    = []string{"Teams Administrator", "Groups Administrator", "User Administrator"}
	gdapInvite       = []string{"Guest Inviter", "User Administrator"}
)

// gdapNeeds lists what a call needs: for each part, the roles any one of
// which allows it. Reads need some role; writes need the roles the Entra
// permissions reference gives for them, and Privileged Authentication
// Administrator on an admin (or a member of a role-assignable group).
// Called with s.mu held.
func gdapNeeds(t *tenant, method string, segs []string, body []byte) [][]string {
	read := method == http.MethodGet || method == http.MethodHead
	at := func(i int, s string) bool { return len(segs) > i && segs[i] == s }
	switch {
	case at(0, "deviceManagement"):
		if read {
			return [][]string{gdapDeviceRead}
		}
		return [][]string{gdapDeviceWrite}
	case at(0, "informationProtection"):
		return [][]string{gdapBitLocker}
	case at(0, "directory") && at(1, "deviceLocalCredentials"):
		return [][]string{gdapLAPS}
	case at(0, "reports") && at(1, "authenticationMethods"):
		return [][]string{gdapRegistration}
	case at(0, "teams") && !read:
		return [][]string{gdapTeamWrite}
	case at(0, "invitations"):
		return [][]string{gdapInvite}
	case at(0, "identity") && at(1, "conditionalAccess"), at(0, "policies"):
		return gdapPolicyNeeds(read, segs) // baseline.go
	case at(0, "identityProtection"):
		if read {
			return [][]string{gdapRiskRead}
		}
		return [][]string{{"Security Administrator"}}
	case read:
		return [][]string{gdapReadAny}
	case at(0, "users") && len(segs) >= 2:
		priv := gdapPrivileged(t, t.lookup(segs[1]))
		pick := func(ordinary []string) []string {
			if priv {
				return gdapPrivilegedAuth
			}
			return ordinary
		}
		switch {
		case len(segs) == 2 && method == http.MethodPatch:
			var props map[string]json.RawMessage
			_ = json.Unmarshal(body, &props)
			var needs [][]string
			for k := range props {
				switch k {
				case "passwordProfile":
					needs = append(needs, pick(gdapPassword))
				case "accountEnabled":
					needs = append(needs, pick(gdapEnable))
				default:
					needs = append(needs, gdapUserWrite)
				}
			}
			return needs
		case at(2, "revokeSignInSessions"):
			return [][]string{pick(gdapSessions)}
		case at(2, "authentication"):
			return [][]string{pick(gdapMethods)}
		case at(2, "assignLicense"):
			return [][]string{gdapLicense}
		case at(2, "mailboxSettings"):
			return [][]string{gdapMailboxSettings}
		}
		return [][]string{gdapUserWrite}
	case at(0, "groups") && len(segs) >= 2:
		for _, g := range t.groups {
			if g.ID == segs[1] && g.IsAssignableToRole {
				return [][]string{gdapRoleAssignable}
			}
		}
		return [][]string{gdapGroupWrite}
	}
	return [][]string{gdapUserWrite}
}

// gdapPrivileged reports whether u is an admin or a member of a
// role-assignable group, on whom Graph allows sensitive writes only to
// privileged roles.
func gdapPrivileged(t *tenant, u *user) bool {
	if u == nil {
		return false
	}
	if len(u.DirectoryRoles) > 0 {
		return true
	}
	for _, g := range t.groups {
		if g.IsAssignableToRole && slices.ContainsFunc(g.Members, func(m string) bool { return strings.EqualFold(m, u.UserPrincipalName) }) {
			return true
		}
	}
	return false
}

// serveRequests serves /_sim/requests?tenant=T: the requests a tenant (or
// partner tenant) received.
func (s *Server) serveRequests(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
		return
	}
	name := r.URL.Query().Get("tenant")
	if reqs := s.Requests(name); reqs != nil {
		writeJSON(w, http.StatusOK, reqs)
		return
	}
	writeJSON(w, http.StatusNotFound, simError("not_found", fmt.Sprintf("unknown tenant %q", name)))
}

// serveGDAPControl serves /_sim/gdap?partner=P: GET lists the partner's
// relationships, PATCH (with customer=C) changes those with C, POST adds one.
func (s *Server) serveGDAPControl(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("partner")
	invalid := func(err error) { writeJSON(w, http.StatusBadRequest, simError("invalid", "gdap: "+err.Error())) }
	decode := func(v any) bool {
		body, err := readBody(r)
		if err == nil {
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			err = dec.Decode(v)
		}
		if err != nil {
			invalid(err)
			return false
		}
		return true
	}
	if s.Relationships(name) == nil {
		writeJSON(w, http.StatusNotFound, simError("not_found", fmt.Sprintf("unknown partner %q", name)))
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPatch:
		var ch RelationshipChange
		if !decode(&ch) {
			return
		}
		if err := s.ChangeRelationship(name, q.Get("customer"), ch); err != nil {
			invalid(err)
			return
		}
	case http.MethodPost:
		var rel Relationship
		if !decode(&rel) {
			return
		}
		if _, err := s.AddRelationship(name, rel); err != nil {
			invalid(err)
			return
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, PATCH, POST")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
		return
	}
	writeJSON(w, http.StatusOK, s.Relationships(name))
}
