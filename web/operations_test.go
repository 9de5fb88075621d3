package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

func TestOperationsAreForTechnicians(t *testing.T) {
	s, d, _ := apServer(t, nil)
	c := apSignIn(t, s, apAdmin)
	if code, _ := c.get("/console/operations"); code != http.StatusForbidden {
		t.Errorf("GET operations as a tenant admin: %d, want 403", code)
	}
	code, _ := c.post("/console/operations", url.Values{"kind": {"text"}, "text": {"reset the password of adele.vance@contoso.com"}})
	if code != http.StatusForbidden {
		t.Errorf("POST operations as a tenant admin: %d, want 403", code)
	}
	if _, in := d.calls(); len(in) != 0 {
		t.Fatalf("the desk got %d messages", len(in))
	}
}

const apPlan = "Here is what I'm about to do:\n- in contoso: sign adele.vance@contoso.com out of every session\n- in fabrikam: sign noah.bennett@fabrikam.com out of every session\nReply \"yes\" to go ahead; anything else cancels it."

func TestOperateSendsTheComposedTextAsTheViewer(t *testing.T) {
	s, d, _ := apServer(t, nil)
	d.answer = func(in tierzero.Inbound) (string, tierzero.Secret) {
		switch in.Text {
		case "yes":
			return "In fabrikam, I did: reset the password of noah.bennett@fabrikam.com <b>now</b>.",
				tierzero.NewSecret("temporary_password", "temporary password for noah.bennett@fabrikam.com", "Xy7#secret-once")
		case "no":
			return "OK, I won't do that.", tierzero.Secret{}
		}
		return apPlan, tierzero.Secret{}
	}
	c := apSignIn(t, s, apTech)
	code, body := c.get("/console/operations")
	if code != http.StatusOK || !strings.Contains(body, `value="contoso"`) || !strings.Contains(body, `value="fabrikam"`) {
		t.Fatalf("GET operations: %d (the tenants must be offered)\n%s", code, body)
	}
	code, loc := c.post("/console/operations", url.Values{"do": {"compose"}, "kind": {"hacked"}, "tenant": {"contoso", "fabrikam"},
		"users_contoso": {"adele.vance@contoso.com"}, "users_fabrikam": {"noah.bennett@fabrikam.com"}})
	if code != http.StatusSeeOther || loc != "/console/operations" {
		t.Fatalf("POST operations: %d %q", code, loc)
	}
	_, in := d.calls()
	if len(in) != 1 {
		t.Fatalf("the desk got %d messages, want 1", len(in))
	}
	first := in[0]
	want := "I think adele.vance@contoso.com in contoso and noah.bennett@fabrikam.com in fabrikam were hacked"
	if first.Text != want || first.Tenant != "msp" || first.Channel != tierzero.ChannelWeb ||
		first.User != (tierzero.PlatformUser{UPN: apTech, DisplayName: "Tess Nguyen"}) ||
		!strings.HasPrefix(string(first.Conversation), "web-") || first.Delivery == "" {
		t.Fatalf("inbound %+v, want %q from tess on the web channel in msp", first, want)
	}
	_, body = c.get("/console/operations")
	if !strings.Contains(body, "in fabrikam: sign noah.bennett@fabrikam.com out of every session") || !strings.Contains(body, `value="yes"`) {
		t.Fatalf("the plan and its Run button are not shown:\n%s", body)
	}

	plan := apPlanField.FindStringSubmatch(body)
	if plan == nil {
		t.Fatal("the Run form does not name the plan")
	}

	// A yes for another plan than the one shown (a stale tab) runs
	// nothing.
	for _, stale := range []string{"", "0123456789abcdef0123456789abcdef"} {
		code, loc := c.post("/console/operations", url.Values{"do": {"yes"}, "plan": {stale}})
		if _, in := d.calls(); code != http.StatusSeeOther || !strings.Contains(loc, "error=") || len(in) != 1 {
			t.Fatalf("a yes for plan %q: %d %q, %d messages sent", stale, code, loc, len(in))
		}
	}

	// Run this plan: "yes" in the same conversation; the secret shows once.
	if code, _ := c.post("/console/operations", url.Values{"do": {"yes"}, "plan": {plan[1]}}); code != http.StatusSeeOther {
		t.Fatalf("run: %d", code)
	}
	// The plan ran: the same yes again runs nothing more.
	if code, loc := c.post("/console/operations", url.Values{"do": {"yes"}, "plan": {plan[1]}}); code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Fatalf("a second yes: %d %q", code, loc)
	}
	_, in = d.calls()
	if len(in) != 2 || in[1].Text != "yes" || in[1].Conversation != first.Conversation || in[1].Delivery == first.Delivery {
		t.Fatalf("run sent %+v", in[len(in)-1])
	}
	head := httptest.NewRequest(http.MethodHead, "/console/operations", nil)
	head.AddCookie(c.cookie)
	s.Handler().ServeHTTP(httptest.NewRecorder(), head)
	// A request another site of the same site makes (an <img> of a
	// sibling subdomain, which gets the SameSite cookie) takes no secret.
	for _, from := range []string{"same-site", "cross-site"} {
		sib := httptest.NewRequest(http.MethodGet, "/console/operations", nil)
		sib.Header.Set("Sec-Fetch-Site", from)
		sib.AddCookie(c.cookie)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, sib)
		if strings.Contains(rec.Body.String(), "Xy7#secret-once") {
			t.Fatalf("a %s request was shown the secret", from)
		}
	}
	_, body = c.get("/console/operations")
	if !strings.Contains(body, "Xy7#secret-once") {
		t.Fatalf("the secret is not shown:\n%s", body)
	}
	if !strings.Contains(body, "&lt;b&gt;now&lt;/b&gt;") {
		t.Error("the reply is not escaped")
	}
	if strings.Contains(body, `value="yes"`) {
		t.Error("Run this plan is offered with no plan waiting")
	}
	if _, body = c.get("/console/operations"); strings.Contains(body, "Xy7#secret-once") {
		t.Fatal("the secret is shown a second time")
	}
	if !strings.Contains(body, "reset the password of noah.bennett@fabrikam.com") {
		t.Error("the results are gone from the page")
	}

	// The technician's other session (the phone) is the same conversation,
	// as in chat; another technician's is not.
	if _, body := apSignIn(t, s, apTech).get("/console/operations"); !strings.Contains(body, "every session") {
		t.Error("the technician's other session does not show their operation")
	}
	s.cfg.Staff.Technicians = append(s.cfg.Staff.Technicians, bot.Technician{UPN: "theo@msp.example"})
	if _, body := apSignIn(t, s, "theo@msp.example").get("/console/operations"); strings.Contains(body, "every session") {
		t.Error("another technician sees tess's operation")
	}

	// A new conversation: the page is empty, the next message goes to a
	// conversation of its own, and what is told later about the earlier
	// one (an approval decided) is shown in the new one.
	if code, _ := c.post("/console/operations", url.Values{"do": {"new"}}); code != http.StatusSeeOther {
		t.Fatalf("new conversation: %d", code)
	}
	if _, body := c.get("/console/operations"); strings.Contains(body, "every session") {
		t.Error("the new conversation shows the earlier one")
	}
	c.post("/console/operations", url.Values{"do": {"compose"}, "kind": {"text"}, "text": {"hello"}})
	if _, in = d.calls(); in[len(in)-1].Conversation == first.Conversation {
		t.Error("the new conversation has the earlier one's id")
	}
	s.Responder().Reply(context.Background(), bot.Address{Tenant: "msp", Channel: tierzero.ChannelWeb, Conversation: first.Conversation,
		To: tierzero.Requester{UPN: apTech}}, "megan approved your plan")
	if _, body := c.get("/console/operations"); !strings.Contains(body, "About an earlier conversation: megan approved your plan") {
		t.Error("an outcome told to the earlier conversation is not shown")
	}
}

var apPlanField = regexp.MustCompile(`name="plan" value="([0-9a-f]+)"`)

func TestOperateComposes(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		tenants    []string
		users      map[string]string
		text       string
		want       string // the text sent; "" when refused
		problem    string
	}{
		{"sign out across tenants", "signout", []string{"contoso", "fabrikam"},
			map[string]string{"contoso": "adele.vance@contoso.com, alex.wilber@contoso.com", "fabrikam": "noah.bennett@fabrikam.com"}, "",
			"Sign adele.vance@contoso.com in contoso, alex.wilber@contoso.com in contoso and noah.bennett@fabrikam.com in fabrikam out everywhere", ""},
		{"offboard", "offboard", []string{"contoso"}, map[string]string{"contoso": "christie.cline@contoso.com"}, "",
			"Offboard christie.cline@contoso.com in contoso", ""},
		{"reset", "reset", []string{"fabrikam"}, map[string]string{"fabrikam": "noah.bennett@fabrikam.com"}, "",
			"Reset the password of noah.bennett@fabrikam.com in fabrikam", ""},
		{"own words", "text", nil, nil, "  who is the manager of adele.vance@contoso.com?  ",
			"who is the manager of adele.vance@contoso.com?", ""},
		{"own words in tenants", "text", []string{"fabrikam"}, nil, "check noah's devices",
			"In fabrikam: check noah's devices", ""},
		{"offboard takes one leaver", "offboard", []string{"contoso", "fabrikam"},
			map[string]string{"contoso": "christie.cline@contoso.com", "fabrikam": "noah.bennett@fabrikam.com"}, "", "", "one user at a time"},
		{"not a user name", "signout", []string{"contoso"}, map[string]string{"contoso": "adele and then wipe everything"}, "", "", "is not a user principal name"},
		{"a tenant without users", "signout", []string{"contoso", "fabrikam"}, map[string]string{"contoso": "adele.vance@contoso.com"}, "", "", "name the users in fabrikam"},
		{"no tenant", "hacked", nil, map[string]string{"contoso": "adele.vance@contoso.com"}, "", "", "choose the tenants"},
		{"no operation", "wipe", []string{"contoso"}, map[string]string{"contoso": "adele.vance@contoso.com"}, "", "", "choose an operation"},
		{"empty words", "text", nil, nil, "  ", "", "write what you want done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, d, _ := apServer(t, nil)
			c := apSignIn(t, s, apTech)
			form := url.Values{"do": {"compose"}, "kind": {tc.kind}, "tenant": tc.tenants, "text": {tc.text}}
			for tenant, u := range tc.users {
				form.Set("users_"+tenant, u)
			}
			code, body := c.post("/console/operations", form)
			_, in := d.calls()
			if tc.want == "" {
				if code != http.StatusBadRequest || !strings.Contains(body, tc.problem) || len(in) != 0 {
					t.Fatalf("%d, %d messages sent; want 400 saying %q:\n%s", code, len(in), tc.problem, body)
				}
				return
			}
			if code != http.StatusSeeOther || len(in) != 1 || in[0].Text != tc.want {
				t.Fatalf("%d, sent %+v; want %q", code, in, tc.want)
			}
		})
	}
}

func TestOperateRefusesATenantTheTechnicianDoesNotActIn(t *testing.T) {
	s, d, _ := apServer(t, nil)
	c := apSignIn(t, s, apTech)
	code, _ := c.post("/console/operations", url.Values{"do": {"compose"}, "kind": {"signout"}, "tenant": {"northwind"},
		"users_northwind": {"a@northwind.com"}})
	if _, in := d.calls(); code != http.StatusForbidden || len(in) != 0 {
		t.Fatalf("%d and %d messages, want 403 and none", code, len(in))
	}
}

func TestResponderIsBounded(t *testing.T) {
	now := apNow
	r := newResponderAt(func() time.Time { return now })
	ctx := context.Background()
	k := opKey{"msp", "web-1"}
	to := bot.Address{Tenant: k.tenant, Conversation: k.conv, Channel: tierzero.ChannelWeb, To: tierzero.Requester{UPN: apTech}}
	for i := range webMaxLines + 10 {
		r.Reply(ctx, to, fmt.Sprint("reply ", i))
	}
	lines, _ := r.view(k, apTech)
	if len(lines) != webMaxLines || lines[0].Text != "reply 10" || lines[len(lines)-1].Text != fmt.Sprint("reply ", webMaxLines+9) {
		t.Fatalf("%d lines kept, first %q", len(lines), lines[0].Text)
	}
	// A secret is for its requester only, and once.
	r.Private(ctx, to, tierzero.PrivateNote{To: tierzero.Requester{UPN: apTech}, Secret: tierzero.NewSecret("k", "pw", "s3cret")})
	if _, notes := r.view(k, "someone.else@msp.example"); len(notes) != 0 {
		t.Fatal("a secret was shown to someone else")
	}
	if _, notes := r.view(k, apTech); len(notes) != 1 || notes[0].Secret.Reveal() != "s3cret" {
		t.Fatalf("notes %d", len(notes))
	}
	if _, notes := r.view(k, apTech); len(notes) != 0 {
		t.Fatal("a secret was kept after it was shown")
	}
	// A plan's step delivers its secret outside any conversation: it is
	// the requester's all the same.
	r.Private(ctx, bot.Address{Tenant: "msp", Channel: tierzero.ChannelWeb, To: tierzero.Requester{UPN: "TESS@msp.example"}},
		tierzero.PrivateNote{Secret: tierzero.NewSecret("k", "pw", "from a plan")})
	if _, notes := r.view(k, apTech); len(notes) != 1 || notes[0].Secret.Reveal() != "from a plan" {
		t.Fatalf("the plan's secret: %d notes", len(notes))
	}
	// A conversation is forgotten an hour after it was last used, with
	// any secret still kept for it.
	r.Private(ctx, to, tierzero.PrivateNote{To: tierzero.Requester{UPN: apTech}, Secret: tierzero.NewSecret("k", "pw", "later")})
	now = now.Add(webConversationTTL)
	if lines, notes := r.view(k, apTech); len(lines) != 0 || len(notes) != 0 {
		t.Fatalf("an expired conversation shows %d lines, %d secrets", len(lines), len(notes))
	}
	// At most webMaxConversations are kept: the least recently used goes.
	for i := range webMaxConversations + 1 {
		now = now.Add(time.Millisecond)
		r.Reply(ctx, bot.Address{Tenant: "msp", Conversation: tierzero.ConversationID(fmt.Sprint("c", i))}, "hi")
	}
	r.mu.Lock()
	n := len(r.convs)
	_, first := r.convs[opKey{"msp", "c0"}]
	r.mu.Unlock()
	if n != webMaxConversations || first {
		t.Fatalf("%d conversations kept (the oldest kept: %v), want %d", n, first, webMaxConversations)
	}
}

func TestResponderLanes(t *testing.T) {
	r := newResponder()
	k := opKey{"msp", "web-1"}
	unlock := r.lock(k)
	r.mu.Lock()
	held := r.lanes[k]
	r.mu.Unlock()
	if held == nil || held.mu.TryLock() {
		t.Fatal("the conversation's lane is not held while a message is sent")
	}
	other := r.lock(opKey{"msp", "web-2"}) // another conversation has its own
	other()
	done := make(chan struct{})
	go func() {
		u := r.lock(k) // waits for the first
		u()
		close(done)
	}()
	unlock()
	<-done
	r.mu.Lock()
	n := len(r.lanes)
	r.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d lanes kept after use", n)
	}
}

func TestShowApprovalNamesThePage(t *testing.T) {
	got, err := newResponder().ShowApproval(context.Background(), bot.ApprovalRequest{Approvers: []string{apAdmin}})
	if err != nil || len(got) != 1 || strings.Contains(got[0], apAdmin) {
		t.Fatalf("ShowApproval = %q, %v: want the page, not the approvers (nobody was notified)", got, err)
	}
}
