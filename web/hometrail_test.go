package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/web"
)

// reachByTech admits each technician to their own tenants.
type reachByTech map[string][]tierzero.TenantID

func (r reachByTech) Across(req tierzero.Requester) []tierzero.TenantID {
	return r[strings.ToLower(req.UPN)]
}

// The MSP's home trail holds every technician's conversations, with what
// they found in client tenants. A technician admitted to contoso only must
// not read, through it, a colleague's work in fabrikam: not on the
// conversations page, the transcript, the audit page or its export. A
// colleague with the same tenants, and their own records, stay visible.
func TestHomeTrailKeepsTechniciansToTheirTenants(t *testing.T) {
	const (
		narrow = "nora@msp.example" // contoso only
		wide   = "tess@msp.example" // contoso and fabrikam
		peer   = "paul@msp.example" // contoso only, like nora
	)
	st := &trailStore{audit: map[tierzero.TenantID][]tierzero.AuditEvent{}, tickets: map[tierzero.TenantID][]tierzero.TicketRecord{},
		broken: map[tierzero.TenantID]error{}}
	srv, err := web.New(web.Config{
		Desk: trailDesk{}, Store: st, Policy: trailPolicy{},
		Staff: bot.Staff{Home: "msp", Technicians: []bot.Technician{{UPN: narrow}, {UPN: wide}, {UPN: peer}},
			Clients: []tierzero.TenantID{"contoso", "fabrikam"}},
		Reach: reachByTech{narrow: {"contoso"}, wide: {"contoso", "fabrikam"}, peer: {"contoso"}},
		Now:   func() time.Time { return trailT0.Add(48 * time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &trailConsole{t: t, srv: srv, h: srv.Handler(), store: st}
	msg := func(conv, who, text string, m int) tierzero.AuditEvent {
		return tierzero.AuditEvent{Time: trailT0.Add(time.Duration(m) * time.Minute), Tenant: "msp", Kind: tierzero.AuditMessage,
			Conversation: tierzero.ConversationID(conv), Requester: who, Channel: tierzero.ChannelWeb, Text: text}
	}
	secret := msg("web-wide", wide, "fabrikam-secret: ravi.shah@fabrikam.com signed in from Lagos", 1)
	secret.Kind = tierzero.AuditReply
	st.add(msg("web-wide", wide, "Sign ravi.shah@fabrikam.com in fabrikam out everywhere", 0), secret,
		msg("web-peer", peer, "peer-marker: sign adele@contoso.com out", 2),
		msg("web-narrow", narrow, "own-marker: reset adele@contoso.com", 3),
		// A technician who has left, and a record of no one: what they
		// reached is not known any more.
		msg("web-former", "fred@msp.example", "former-marker: in fabrikam, ravi.shah signed in from Lagos", 4),
		msg("web-none", "", "none-marker: fabrikam", 5))

	ck := c.signIn(narrow)
	for _, path := range []string{"/console/conversations", "/console/conversations?tenant=msp", "/console/audit?tenant=msp",
		"/console/audit", "/console/audit/export?tenant=msp", "/console/audit/export"} {
		rec := c.get(ck, path)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, rec.Code, body)
		}
		if strings.Contains(body, "fabrikam-secret") || strings.Contains(body, "ravi.shah") || strings.Contains(body, "web-wide") ||
			strings.Contains(body, "web-former") || strings.Contains(body, "none-marker") {
			t.Errorf("%s shows a colleague's fabrikam work to a technician of contoso only:\n%s", path, body)
		}
		if strings.Contains(path, "conversations") {
			continue // the list shows conversations, not what was said
		}
		for _, w := range []string{"peer-marker", "own-marker"} {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
	if rec := c.get(ck, "/console/conversations/msp/web-wide"); rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "fabrikam-secret") {
		t.Errorf("a colleague's fabrikam transcript: status %d, want 404: %s", rec.Code, rec.Body)
	}
	if rec := c.get(ck, "/console/conversations/msp/web-peer"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "peer-marker") {
		t.Errorf("a colleague's contoso transcript: status %d, want 200 with it: %s", rec.Code, rec.Body)
	}
	// The technician of both tenants reads all of it.
	rec := c.get(c.signIn(wide), "/console/audit/export?tenant=msp")
	for _, w := range []string{"fabrikam-secret", "peer-marker", "own-marker", "former-marker", "none-marker"} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("the technician of both tenants lacks %q in the export", w)
		}
	}
}
