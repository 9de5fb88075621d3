// Package sim is an in-memory Microsoft Graph v1.0 simulator: an http.Handler
// that speaks Graph's JSON (shapes, status codes, OData errors, paging links)
// for a few seeded demo tenants, so that tierzero's demo and tests can drive
// the real msgraph-sdk-go against it. It owns the simulated directory (users,
// managers, directory roles, groups, licenses, devices, and the tenant
// policies a security baseline sets: baseline.go) and a per-tenant
// journal of every write it received, with secrets masked.
//
// The tenant is chosen by the bearer token, as on Graph: Token("contoso")
// selects tenant contoso as an application, DelegatedToken a signed-in user
// and GDAPToken a partner's technician acting through GDAP (tokens.go); the
// partner tenant msp holds the GDAP relationships (gdap.go), which
// /_sim/gdap changes, and /_sim/requests lists every request a tenant
// received. POST /v1.0/$batch serves JSON batching, each request of a
// batch as if it came alone (batch.go). Besides /v1.0 it serves /_sim/state and
// /_sim/journal (no authentication) so that tests and the demo can inspect
// what happened, and /_sim/app?tenant=T (GET, PUT; app.go): the directory
// roles tierzero's app holds in the tenant, which Graph checks before
// sensitive writes. POST /_sim/signins?tenant=T lets a day pass in the
// tenant's sign-ins (PassDay, baseline_signins.go): a Conditional Access
// policy's report-only results are recorded only for sign-ins after it
// existed, so its impact shows once sign-ins happened under it.
package sim

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// tokenPrefix prefixes the tenant name in the simulator's bearer tokens.
const tokenPrefix = "tierzero-sim."

// maxBody bounds a request body, before and after decompression.
const maxBody = 1 << 20

// Token returns the bearer token that selects tenant on the simulator.
func Token(tenant string) string { return tokenPrefix + tenant }

// Options configures a Server. The zero value is usable.
type Options struct {
	Now    func() time.Time // clock, default time.Now
	Logger *slog.Logger     // default discards
	// Extra names more tenants to serve, each seeded like contoso (the same
	// people) under the domain <name>.example.com: for load tests over many
	// tenants. Names must be valid tenant ids and not already seeded.
	Extra []string
	// CheckInDelay is how long after a device action (a sync, a lock) the
	// device checks in and carries it out (devices.go); 0: at the next read.
	CheckInDelay time.Duration
}

// Server is the simulator. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	now    func() time.Time
	log    *slog.Logger
	routes []route
	// patterns are the routes' patterns, split (route.go).
	patterns [][]string
	// checkInDelay is Options.CheckInDelay.
	checkInDelay time.Duration

	mu       sync.Mutex
	tenants  map[string]*tenant
	partners map[string]*partner // gdap.go
}

// JournalEntry records one write request (any method but GET and HEAD) that
// reached a tenant, whatever its outcome.
type JournalEntry struct {
	Seq    int             `json:"seq"`
	Time   time.Time       `json:"time"`
	Method string          `json:"method"`
	Path   string          `json:"path"`           // unescaped request path, e.g. /v1.0/users/adele.vance@contoso.com
	Status int             `json:"status"`         // the status the request's handling produced
	Body   json.RawMessage `json:"body,omitempty"` // request body with passwords masked
	// Fault and Answered are set when an injected fault (faults.go) met the
	// request: its kind and, when the client was sent another status than
	// Status (applied_then_503), that status.
	Fault    FaultKind `json:"fault,omitempty"`
	Answered int       `json:"answered,omitempty"`
}

// TenantState is a snapshot of one simulated tenant's directory.
type TenantState struct {
	Tenant  string   `json:"tenant"`
	Domain  string   `json:"domain"`
	Users   []User   `json:"users"`
	Groups  []Group  `json:"groups"`
	SKUs    []SKU    `json:"skus"`
	Devices []Device `json:"devices"`
	// Baseline is the tenant's security baseline resources (baseline.go).
	Baseline BaselineState `json:"baseline"`
}

// User is a simulated user as the state shows it. It never holds a password.
type User struct {
	ID                                   string    `json:"id"`
	UserPrincipalName                    string    `json:"userPrincipalName"`
	DisplayName                          string    `json:"displayName"`
	GivenName                            string    `json:"givenName"`
	Surname                              string    `json:"surname"`
	Mail                                 string    `json:"mail"`
	Department                           string    `json:"department"`
	JobTitle                             string    `json:"jobTitle"`
	OfficeLocation                       string    `json:"officeLocation"`
	BusinessPhones                       []string  `json:"businessPhones"`
	PreferredLanguage                    string    `json:"preferredLanguage"`
	AccountEnabled                       bool      `json:"accountEnabled"`
	Manager                              string    `json:"manager"`        // the manager's UPN, empty for none
	DirectoryRoles                       []string  `json:"directoryRoles"` // role display names
	EligibleRoles                        []string  `json:"eligibleRoles"`  // roles the user may activate in PIM (roles.go)
	LastPasswordChangeDateTime           time.Time `json:"lastPasswordChangeDateTime"`
	ForceChangePasswordNextSignIn        bool      `json:"forceChangePasswordNextSignIn"`
	ForceChangePasswordNextSignInWithMfa bool      `json:"forceChangePasswordNextSignInWithMfa"`
	SignInSessionsValidFromDateTime      time.Time `json:"signInSessionsValidFromDateTime"`
	UsageLocation                        string    `json:"usageLocation"`
	AssignedLicenses                     []string  `json:"assignedLicenses"` // SKU part numbers
	// Identity (identity.go). AuthenticationMethods is replaced, never
	// modified in place, so State's shallow copy stays a snapshot; Risk is
	// nil for a user Identity Protection never flagged.
	AuthenticationMethods []AuthMethod `json:"authenticationMethods"`
	Risk                  *UserRisk    `json:"risk,omitempty"`
	AutomaticReplies      AutoReplies  `json:"automaticReplies"`
	// LicenseAssignmentStates (licenses.go) say where each license comes
	// from, directly or through a group; replaced, never modified in place.
	LicenseAssignmentStates []LicenseAssignmentState `json:"licenseAssignmentStates"`
	// Hybrid identity (users.go): a user synced from on-premises Active
	// Directory, whose password and accountEnabled Graph will not change.
	OnPremisesSyncEnabled      bool      `json:"onPremisesSyncEnabled,omitempty"`
	OnPremisesImmutableID      string    `json:"onPremisesImmutableId,omitempty"`
	OnPremisesLastSyncDateTime time.Time `json:"onPremisesLastSyncDateTime,omitzero"`
}

// Group is a simulated group. Members holds member UPNs (the source of truth
// for membership, memberOf included); Owners holds owner UPNs. A dynamic
// group (GroupTypes has DynamicMembership) keeps the members its rule
// selected at seed time: the simulator does not re-evaluate rules.
type Group struct {
	ID                            string    `json:"id"`
	DisplayName                   string    `json:"displayName"`
	Description                   string    `json:"description"`
	Mail                          string    `json:"mail,omitempty"`
	MailNickname                  string    `json:"mailNickname"`
	MailEnabled                   bool      `json:"mailEnabled"`
	SecurityEnabled               bool      `json:"securityEnabled"`
	GroupTypes                    []string  `json:"groupTypes"`
	MembershipRule                string    `json:"membershipRule,omitempty"`
	MembershipRuleProcessingState string    `json:"membershipRuleProcessingState,omitempty"`
	IsAssignableToRole            bool      `json:"isAssignableToRole"`
	Roles                         []string  `json:"roles"`           // directory roles assigned to the group (roles.go)
	EligibleRoles                 []string  `json:"eligibleRoles"`   // roles its members may activate in PIM
	EligibleMembers               []string  `json:"eligibleMembers"` // UPNs that may activate membership (PIM for Groups)
	Visibility                    string    `json:"visibility,omitempty"`
	CreatedDateTime               time.Time `json:"createdDateTime"`
	Owners                        []string  `json:"owners"`
	Members                       []string  `json:"members"`
	// AssignedLicenses are the SKU part numbers the group grants its
	// members (group-based licensing, licenses.go); never modified in place.
	AssignedLicenses []string `json:"assignedLicenses,omitempty"`
}

// SKU is a license subscription of a tenant.
type SKU struct {
	ID               string `json:"id"`
	SkuID            string `json:"skuId"`
	SkuPartNumber    string `json:"skuPartNumber"`
	CapabilityStatus string `json:"capabilityStatus"`
	PrepaidUnits     int    `json:"prepaidUnits"`  // enabled units bought
	ConsumedUnits    int    `json:"consumedUnits"` // units assigned to users
}

// Device is an Intune managed device (microsoft.graph.managedDevice) with the
// remote actions sent to it. Health holds what the device reported at its last
// check-in; the compliance policies of devices.go judge it, and
// ComplianceState is the result of the last evaluation.
type Device struct {
	ID                      string         `json:"id"`
	UserID                  string         `json:"userId"`
	DeviceName              string         `json:"deviceName"`
	ManagedDeviceOwnerType  string         `json:"managedDeviceOwnerType"` // company, personal
	EnrolledDateTime        time.Time      `json:"enrolledDateTime"`
	LastSyncDateTime        time.Time      `json:"lastSyncDateTime"`
	OperatingSystem         string         `json:"operatingSystem"` // Windows, macOS, iOS
	OSVersion               string         `json:"osVersion"`
	ComplianceState         string         `json:"complianceState"` // compliant, noncompliant
	JailBroken              string         `json:"jailBroken"`      // True, False, Unknown
	ManagementAgent         string         `json:"managementAgent"`
	EASActivated            bool           `json:"easActivated"`
	AzureADRegistered       bool           `json:"azureADRegistered"`
	DeviceEnrollmentType    string         `json:"deviceEnrollmentType"`
	EmailAddress            string         `json:"emailAddress"`
	AzureADDeviceID         string         `json:"azureADDeviceId"`
	DeviceRegistrationState string         `json:"deviceRegistrationState"`
	IsEncrypted             bool           `json:"isEncrypted"`       // BitLocker, FileVault
	UserPrincipalName       string         `json:"userPrincipalName"` // the owner
	UserDisplayName         string         `json:"userDisplayName"`
	Model                   string         `json:"model"`
	Manufacturer            string         `json:"manufacturer"`
	SerialNumber            string         `json:"serialNumber"`
	ManagementState         string         `json:"managementState"` // managed, retirePending, wipePending
	DeviceActionResults     []DeviceAction `json:"deviceActionResults"`
	Health                  DeviceHealth   `json:"health"`
}

// tenant is one simulated tenant. Guarded by Server.mu.
type tenant struct {
	name, domain, id string
	users            []*user
	byKey            map[string]*user // lowercase id and UPN
	groups           []Group
	skus             []SKU
	devices          []Device
	journal          []JournalEntry
	batches          int            // JSON batches served (batch.go)
	requests         []RequestEntry // tokens.go
	identity         identityState  // identity.go
	faults           faultState     // faults.go
	app              appState       // app.go
}

// user is a User plus what the state must never show.
type user struct {
	User
	passwordHash [sha256.Size]byte
}

// New returns a Server seeded with the tenants contoso and fabrikam.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{now: opts.Now, log: opts.Logger, tenants: map[string]*tenant{}, partners: map[string]*partner{}, routes: routes()}
	s.checkInDelay = opts.CheckInDelay
	s.patterns = patterns(s.routes)
	now := opts.Now().UTC().Truncate(time.Second)
	all := slices.Clone(seeds)
	for _, name := range opts.Extra {
		ts := seeds[0]
		ts.name, ts.domain = name, name+".example.com"
		all = append(all, ts)
	}
	for _, ts := range all {
		t := ts.build(now)
		seedIdentity(t, now)
		seedGroups(t, now)
		seedLicenses(t, now)
		seedDevices(t, now)
		if _, ok := identityCases[t.name]; ok {
			seedBreakGlass(t, now) // baseline_signins.go
			seedBaselineSignIns(t, now)
		}
		s.tenants[t.name] = t
	}
	s.seedPartners(now)
	return s
}

// Tenants returns the names of the simulated tenants, sorted.
func (s *Server) Tenants() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.tenants))
	for n := range s.tenants {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Journal returns a copy of the tenant's journal, oldest first; nil for an
// unknown tenant.
func (s *Server) Journal(tenant string) []JournalEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return nil
	}
	out := make([]JournalEntry, len(t.journal))
	for i, e := range t.journal {
		e.Body = slices.Clone(e.Body)
		out[i] = e
	}
	return out
}

// PasswordIs reports whether pw is the password of the user (UPN or id) of
// a tenant: for tests that check that a password handed out is the one set.
func (s *Server) PasswordIs(tenant, user, pw string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return false
	}
	u, ok := t.byKey[strings.ToLower(user)]
	return ok && u.passwordHash == sha256.Sum256([]byte(pw))
}

// State returns a snapshot of the tenant's directory, and false for an
// unknown tenant.
func (s *Server) State(tenant string) (TenantState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		return TenantState{}, false
	}
	s.checkIns(t) // devices.go
	st := TenantState{Tenant: t.name, Domain: t.domain, Devices: cloneDevices(t.devices), Baseline: t.baseline().snapshot()}
	consumed := map[string]int{}
	for _, u := range t.users {
		c := u.User
		c.BusinessPhones = slices.Clone(c.BusinessPhones)
		c.DirectoryRoles = slices.Clone(c.DirectoryRoles)
		c.EligibleRoles = slices.Clone(c.EligibleRoles)
		c.AssignedLicenses = slices.Clone(c.AssignedLicenses)
		st.Users = append(st.Users, c)
		for _, l := range c.AssignedLicenses {
			consumed[l]++
		}
	}
	for _, g := range t.groups {
		g.GroupTypes = slices.Clone(g.GroupTypes)
		g.Members = slices.Clone(g.Members)
		g.Owners = slices.Clone(g.Owners)
		g.Roles = slices.Clone(g.Roles)
		g.EligibleRoles = slices.Clone(g.EligibleRoles)
		g.EligibleMembers = slices.Clone(g.EligibleMembers)
		st.Groups = append(st.Groups, g)
	}
	for _, k := range t.skus {
		k.ConsumedUnits = consumed[k.SkuPartNumber]
		st.SKUs = append(st.SKUs, k)
	}
	return st, true
}

// lookup finds a user by object id or UPN, case-insensitively.
func (t *tenant) lookup(ref string) *user { return t.byKey[strings.ToLower(ref)] }

// ServeHTTP serves Graph under /v1.0 and the simulator's own /_sim endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/_sim/state" || p == "/_sim/journal":
		s.serveSim(w, r)
	case p == "/_sim/faults":
		s.serveFaults(w, r)
	case p == "/_sim/checkin":
		s.serveCheckIn(w, r) // devices.go
	case p == "/_sim/requests":
		s.serveRequests(w, r)
	case p == "/_sim/gdap":
		s.serveGDAPControl(w, r)
	case p == "/_sim/app":
		s.serveApp(w, r)
	case p == "/_sim/signins":
		s.serveSignIns(w, r) // baseline_signins.go
	case p == "/v1.0" || strings.HasPrefix(p, "/v1.0/"):
		s.serveGraph(w, r)
	default:
		version, _, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
		s.writeReply(w, r, fail(http.StatusBadRequest, "BadRequest", "Invalid version: "+version))
	}
}

// serveSim serves /_sim/state and /_sim/journal.
func (s *Server) serveSim(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, simError("invalid", "method not allowed"))
		return
	}
	name := r.URL.Query().Get("tenant")
	if r.URL.Path == "/_sim/state" {
		if st, ok := s.State(name); ok {
			writeJSON(w, http.StatusOK, st)
			return
		}
	} else if j := s.Journal(name); j != nil {
		writeJSON(w, http.StatusOK, j)
		return
	}
	writeJSON(w, http.StatusNotFound, simError("not_found", fmt.Sprintf("unknown tenant %q", name)))
}

func simError(code, msg string) any {
	return map[string]any{"error": map[string]string{"code": code, "message": msg}}
}

// reply is what a Graph handler answers: a JSON body, no body (nil), or an
// OData error when code is set.
type reply struct {
	status        int
	body          any
	code, message string
	allow         []string // methods, for a 405
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func fail(status int, code, msg string) reply { return reply{status: status, code: code, message: msg} }

func notFound(ref string) reply {
	return fail(http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", ref))
}

func badRequest(msg string) reply { return fail(http.StatusBadRequest, "BadRequest", msg) }

var errPayload = badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")

// serveGraph authenticates, reads the body, routes under the lock and
// journals writes. POST /v1.0/$batch is JSON batching (batch.go).
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t, who, rep := s.authenticate(r)
	if p := s.partners[who.tenant]; t == nil && p != nil && rep.status == 0 {
		rep = s.servePartner(p, who, r)
		s.mu.Unlock()
		s.writeReply(w, r, rep)
		return
	}
	s.mu.Unlock()
	if t == nil {
		s.writeReply(w, r, rep)
		return
	}
	r = withCaller(r, who)
	if r.URL.Path == batchPath {
		s.serveBatch(w, r, t, who)
		return
	}
	rep, ok := s.serveOne(t, who, r, w.Header(), nil, 0, "")
	if !ok {
		return // the client went away: nothing applied, nothing to answer
	}
	s.log.Debug("graph request", "tenant", t.name, "method", r.Method, "path", r.URL.Path, "status", rep.status)
	s.writeReply(w, r, rep)
}

// serveOne serves one Graph request of tenant t from who, alone or as a
// request of a batch (batch: its sequence number, id its id there; body
// its body, read from r when alone): faults, GDAP, routing, the request
// log and the journal. Headers of the answer go to h. ok is false when
// the client went away during an injected latency.
func (s *Server) serveOne(t *tenant, who caller, r *http.Request, h http.Header, body []byte, batch int, id string) (rep reply, ok bool) {
	s.mu.Lock()
	slow := t.faults.take(r, true)
	s.mu.Unlock()
	var err error
	if batch == 0 {
		body, err = readBody(r) // first: the server notices a client going away only once the body is read
		if err != nil {
			rep = errPayload
		}
	}
	if slow != nil && !slow.stall(r.Context()) {
		return reply{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fault := t.faults.take(r, false)
	switch {
	case fault != nil && fault.Kind != FaultAppliedThen503:
		rep = fault.reply(h) // refused before it was applied
	case err == nil:
		if refused, denied := s.gdapDenied(t, who, r, body); denied {
			rep = refused // the relationship does not cover the call
		} else {
			rep = s.route(t, r, body)
		}
	}
	logRequest(&t.requests, RequestEntry{Method: r.Method, Path: r.URL.Path, Caller: who.String(), Status: rep.status, Batch: batch, BatchID: id})
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		e := JournalEntry{
			Seq:    len(t.journal) + 1,
			Time:   s.now().UTC(),
			Method: r.Method,
			Path:   r.URL.Path,
			Status: rep.status,
			Body:   maskBody(body),
		}
		switch {
		case fault != nil:
			e.Fault = fault.Kind
		case slow != nil:
			e.Fault = slow.Kind
		}
		if fault != nil && fault.Kind == FaultAppliedThen503 {
			e.Answered = fault.Status
		}
		t.journal = append(t.journal, e)
	}
	if fault != nil && fault.Kind == FaultAppliedThen503 {
		rep = fault.reply(h) // applied, but the answer is lost
	}
	return rep, true
}

// authenticate returns the tenant the bearer token selects and who it
// speaks for (tokens.go), or a 401 reply. A token for a partner tenant
// returns no tenant, the caller and no reply: the partner's own endpoints
// serve it. A delegated token must name a user of its tenant, a GDAP token
// a technician of its partner.
func (s *Server) authenticate(r *http.Request) (*tenant, caller, reply) {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, tok, _ := strings.Cut(auth, " ")
	if auth == "" || (strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(tok) == "") {
		return nil, caller{}, fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	invalid := fail(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, caller{}, invalid
	}
	who, ok := parseToken(tok)
	if !ok {
		return nil, caller{}, invalid
	}
	if p := s.partners[who.tenant]; p != nil {
		if who.partner != "" || !p.technician(who.user) {
			return nil, caller{}, invalid
		}
		return nil, who, reply{}
	}
	t := s.tenants[who.tenant]
	switch {
	case t == nil:
		return nil, caller{}, invalid
	case who.partner != "":
		if p := s.partners[who.partner]; p == nil || !p.technician(who.user) {
			return nil, caller{}, invalid
		}
	case who.user != "" && t.lookup(who.user) == nil:
		return nil, caller{}, invalid
	}
	return t, who, reply{}
}

// readBody reads the request body, decompressing it when it is gzip-encoded.
func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = io.LimitReader(r.Body, maxBody+1)
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, maxBody+1)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxBody {
		return nil, errors.New("read body: too large")
	}
	return b, nil
}

// writeReply writes a Graph reply with its request-id headers; errors get
// Graph's error envelope with innerError.
func (s *Server) writeReply(w http.ResponseWriter, r *http.Request, rep reply) {
	reqID := newUUID()
	clientID := r.Header.Get("client-request-id")
	if clientID == "" {
		clientID = reqID
	}
	h := w.Header()
	h.Set("request-id", reqID)
	h.Set("client-request-id", clientID)
	if len(rep.allow) > 0 {
		h.Set("Allow", strings.Join(rep.allow, ", "))
	}
	switch {
	case rep.code != "":
		writeJSON(w, rep.status, map[string]any{"error": map[string]any{
			"code":    rep.code,
			"message": rep.message,
			"innerError": map[string]string{
				"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
				"request-id":        reqID,
				"client-request-id": clientID,
			},
		}})
	case rep.body == nil:
		w.WriteHeader(rep.status)
	default:
		writeJSON(w, rep.status, rep.body)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalServerError","message":"cannot encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// maskBody returns the request body for the journal with every password
// masked, nil when empty, and a placeholder when it is not JSON (it might
// hold a secret we cannot find).
func maskBody(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return json.RawMessage(fmt.Sprintf(`"<%d bytes, not JSON>"`, len(b)))
	}
	out, _ := json.Marshal(mask(v))
	return out
}

// mask replaces the value of every key named "password" (or ending in
// "password", such as newPassword) by "***", at any depth.
func mask(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if l := strings.ToLower(k); strings.HasSuffix(l, "password") || l == "temporaryaccesspass" || strings.HasSuffix(l, "unlockcode") {
				v[k] = "***"
			} else {
				v[k] = mask(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = mask(x)
		}
	}
	return v
}

// guid derives a stable GUID-shaped id from parts.
func guid(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return formatUUID(sum[:16])
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	return formatUUID(b[:])
}

func formatUUID(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
