package sim

// This file: who a bearer token speaks for. Graph tells an application
// token (client credentials: no signed-in user, the app's own permissions)
// from a delegated one (a signed-in user: the permissions consented to the
// app, limited to what that user may do), and a partner's technician acting
// in a customer tenant through GDAP holds a delegated token issued by the
// customer's authority for a user of the partner tenant. The simulator's
// tokens say the same in plain text:
//
//	tierzero-sim.contoso                                  application, tenant contoso
//	tierzero-sim.contoso~user~adele.vance@contoso.com     delegated, signed in as Adele
//	tierzero-sim.contoso~gdap~msp~tess@msp.example        delegated through GDAP: technician
//	                                                      tess of partner msp, in contoso
//	tierzero-sim.msp~user~tess@msp.example                delegated, in the partner tenant msp

import (
	"context"
	"net/http"
	"strings"
)

// Token separators.
const (
	tokenUser = "~user~"
	tokenGDAP = "~gdap~"
)

// DelegatedToken returns the bearer token of user (a UPN) signed in to
// tenant, as a delegated token.
func DelegatedToken(tenant, user string) string { return tokenPrefix + tenant + tokenUser + user }

// GDAPToken returns the bearer token a technician of a partner tenant holds
// for a customer tenant through GDAP (issued by the customer's authority).
func GDAPToken(partner, technician, customer string) string {
	return tokenPrefix + customer + tokenGDAP + partner + "~" + technician
}

// PartnerToken returns the technician's delegated token for the partner
// tenant itself (where the GDAP relationships are read).
func PartnerToken(partner, technician string) string { return DelegatedToken(partner, technician) }

// caller is who a request's token speaks for.
type caller struct {
	tenant  string // the tenant the token is for
	user    string // delegated: the signed-in user's UPN, lowercase; "" for an application
	partner string // GDAP: the technician's partner tenant
}

// delegated reports whether the token carries a signed-in user.
func (c caller) delegated() bool { return c.user != "" }

// String names the caller for the request log: app, the user, or
// partner/technician.
func (c caller) String() string {
	switch {
	case c.partner != "":
		return "gdap:" + c.partner + "/" + c.user
	case c.user != "":
		return "user:" + c.user
	}
	return "app"
}

// parseToken reads a simulator token; ok is false for anything else.
func parseToken(tok string) (caller, bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(tok), tokenPrefix)
	if !found || rest == "" {
		return caller{}, false
	}
	if t, user, found := strings.Cut(rest, tokenUser); found {
		if t == "" || !strings.Contains(user, "@") {
			return caller{}, false
		}
		return caller{tenant: t, user: strings.ToLower(user)}, true
	}
	if t, via, found := strings.Cut(rest, tokenGDAP); found {
		partner, tech, _ := strings.Cut(via, "~")
		if t == "" || partner == "" || !strings.Contains(tech, "@") {
			return caller{}, false
		}
		return caller{tenant: t, user: strings.ToLower(tech), partner: partner}, true
	}
	if strings.Contains(rest, "~") {
		return caller{}, false
	}
	return caller{tenant: rest}, true
}

type callerKey struct{}

// withCaller records the request's caller for the handlers.
func withCaller(r *http.Request, c caller) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
}

// callerOf is the caller of an authenticated request; an application when
// none was recorded.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// RequestEntry is one authenticated Graph request a tenant received, read
// or write, in the order received: what tests look at to prove that a
// refused call reached nothing.
type RequestEntry struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Caller string `json:"caller"` // app, user:<upn> or gdap:<partner>/<technician>
	Status int    `json:"status"`
	// Batch and BatchID are set for a request that came inside a JSON
	// batch (POST /v1.0/$batch): the batch's sequence number in the
	// tenant (from 1) and the request's id in it. The batch itself is one
	// round trip and has no entry of its own.
	Batch   int    `json:"batch,omitempty"`
	BatchID string `json:"batchId,omitempty"`
}

// maxRequests bounds each tenant's request log (the oldest go first).
const maxRequests = 10000

// logRequest appends to a request log. The log grows to twice the bound
// before the oldest are cut at once (a cut per request would copy the
// whole log each time); lastRequests reads the bound's worth. Called with
// s.mu held.
func logRequest(log *[]RequestEntry, e RequestEntry) {
	if len(*log) >= 2*maxRequests {
		*log = append((*log)[:0], (*log)[len(*log)-maxRequests+1:]...)
	}
	*log = append(*log, e)
}

// lastRequests copies the newest maxRequests entries of a request log.
func lastRequests(log []RequestEntry) []RequestEntry {
	return append([]RequestEntry{}, log[max(0, len(log)-maxRequests):]...)
}

// Requests returns a copy of the requests a tenant (or a partner tenant)
// received, oldest first; nil for an unknown tenant.
func (s *Server) Requests(tenant string) []RequestEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tenants[tenant]; ok {
		return lastRequests(t.requests)
	}
	if p, ok := s.partners[tenant]; ok {
		return lastRequests(p.requests)
	}
	return nil
}

// mailboxDenied refuses a delegated caller another user's mailbox settings,
// as Graph does: delegated MailboxSettings.Read and ReadWrite reach only the
// signed-in user's own mailbox, and a GDAP technician has no mailbox in the
// customer tenant at all; only the application permission reaches every
// mailbox (https://learn.microsoft.com/en-us/graph/api/user-update-mailboxsettings,
// github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/7656). Called
// with s.mu held.
func mailboxDenied(c *call) (reply, bool) {
	who := callerOf(c.r)
	if !who.delegated() || who.partner == "" && strings.EqualFold(who.user, c.user.UserPrincipalName) {
		return reply{}, false
	}
	return fail(http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again."), true
}
