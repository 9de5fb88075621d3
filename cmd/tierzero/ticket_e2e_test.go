package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot/slack/fake"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/ticket/webhook"
	"github.com/tierzero/tierzero/ticket/webhook/webhooktest"
)

// Secrets of the ticket tests: none may reach a ticket, a log or a message.
const (
	ticketSigning = "test-signing-secret-e2e"
	ticketToken   = "xoxb-contoso-ticket"
	ticketSecret  = "contoso-ticket-hook-s3cr3t"
	ticketTeam    = "T0TIERZ01"
)

// ticketConf is the configuration of the ticket tests: Slack for contoso
// (the fake at slackURL), and contoso's ticket block, the webhook at hook.
func ticketConf(slackURL, hook string) string {
	return fmt.Sprintf(`slack:
  signing_secret_env: SLACK_SIGNING_SECRET
  api_url: %s
tenants:
  contoso:
    auth: {method: simulator}
    slack: {team_id: %s, bot_token_env: CONTOSO_SLACK_BOT_TOKEN, approvals_channel: C0APPROVE}
    ticket: {system: webhook, url: "%s", secret_env: CONTOSO_TICKET_SECRET}
`, slackURL, ticketTeam, hook)
}

var ticketVars = map[string]string{"SLACK_SIGNING_SECRET": ticketSigning, "CONTOSO_SLACK_BOT_TOKEN": ticketToken, "CONTOSO_TICKET_SECRET": ticketSecret}

// ticketSlack is a fake Slack with contoso's bot and Adele.
func ticketSlack(t *testing.T) *fake.Server {
	sl := fake.New()
	t.Cleanup(sl.Close)
	sl.AddBot(ticketToken, ticketTeam)
	sl.AddUser(fake.User{ID: "UADELE", TeamID: ticketTeam, Email: employee, Name: "Adele Vance"})
	return sl
}

// postSlackDM posts Adele's DM text to serve's /slack/events, signed, and
// returns the message's ts (the thread).
func postSlackDM(t *testing.T, base, eventID, text string) string {
	t.Helper()
	ts := fmt.Sprintf("%d.000100", time.Now().Unix())
	body, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": ticketTeam, "event_id": eventID, "api_app_id": "A0TIERZERO",
		"authorizations": []map[string]any{{"team_id": ticketTeam, "user_id": "UBOT", "is_bot": true}},
		"event":          map[string]any{"type": "message", "channel_type": "im", "channel": "DADELE", "user": "UADELE", "text": text, "ts": ts},
	})
	req, _ := http.NewRequest(http.MethodPost, base+"/slack/events", bytes.NewReader(body))
	req.Header = slackSign(ticketSigning, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the DM: %d, want 200", resp.StatusCode)
	}
	return ts
}

// slackTexts are the texts the fake Slack received that contain sub.
func slackTexts(sl *fake.Server, sub string) []fake.Message {
	var out []fake.Message
	for _, m := range sl.Messages() {
		if strings.Contains(m.Text, sub) {
			out = append(out, m)
		}
	}
	return out
}

// TestTicketEndToEnd runs the real binary's Main: `tierzero serve` with the
// Graph simulator, Slack (a fake on loopback) and contoso's ticket block, a
// webhook to a fake receiver on loopback. Adele writes that her account
// was hacked; the offline model checks her sign-ins and risk, revokes her
// sessions and escalates. The receiver gets one ticket.create signed
// X-Tierzero-Signature: sha256=<hex HMAC-SHA256 of the body> (checked here
// with crypto/hmac) holding the whole context and no secret; Adele is told
// the ticket's number in her DM. A technician's comment posted back to
// /ticket/webhook/contoso, signed, reaches her conversation once; one with
// a bad signature does not; closing the ticket tells her it was closed.
func TestTicketEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("serves on loopback")
	}
	s := sim.New(sim.Options{})
	gsrv := httptest.NewServer(s)
	defer gsrv.Close()
	sl := ticketSlack(t)
	f := &webhooktest.Receiver{Secret: []byte(ticketSecret), Created: make(chan webhooktest.Ticket, 1)}
	hook := httptest.NewServer(f)
	defer hook.Close()

	srv := serveMain(t, gsrv.URL, ticketConf(sl.URL, hook.URL+"/psa/tierzero"), ticketVars)
	const text = "I think my account was hacked"
	postSlackDM(t, srv.base, "Ev0TICKET1", text)

	var tk webhooktest.Ticket
	select {
	case tk = <-f.Created:
	case <-time.After(30 * time.Second):
		t.Fatalf("no ticket: %s", srv.log())
	}
	waitUntil(t, "the ticket number in the DM", func() bool { return len(slackTexts(sl, "T-0001")) > 0 })

	// The delivery: signed over its exact body, with the whole context.
	var create *webhooktest.Request
	for _, q := range f.Requests() {
		if q.Event == webhook.EventCreate {
			q := q
			create = &q
		}
	}
	if create == nil {
		t.Fatal("no ticket.create request")
	}
	mac := hmac.New(sha256.New, []byte(ticketSecret))
	mac.Write(create.Body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(create.Signature), []byte(want)) {
		t.Fatalf("X-Tierzero-Signature %q, want %q", create.Signature, want)
	}
	if create.Delivery == "" || create.Delivery != tk.Event.Correlation {
		t.Errorf("X-Tierzero-Delivery %q, want the correlation id %q", create.Delivery, tk.Event.Correlation)
	}
	for _, secret := range []string{ticketSecret, ticketSigning, ticketToken} {
		if strings.Contains(string(create.Body), secret) {
			t.Fatalf("the ticket carries a secret")
		}
	}
	c := tk.Event.Ticket
	if tk.Event.Tenant != "contoso" || c == nil {
		t.Fatalf("ticket event %+v", tk.Event)
	}
	if c.Requester.UPN != employee || c.Requester.Tenant != "contoso" || c.Message != text {
		t.Errorf("requester %+v, message %q", c.Requester, c.Message)
	}
	var checked, tried []string
	for _, st := range c.Checked {
		checked = append(checked, st.Action)
	}
	for _, st := range c.Tried {
		tried = append(tried, st.Action+":"+fmt.Sprint(st.OK))
	}
	if len(checked) == 0 || checked[0] != "user.signins" {
		t.Errorf("checked %s, want her sign-ins first", checked)
	}
	if got := strings.Join(tried, ","); got != "user.revoke_sessions:true" {
		t.Errorf("tried %s, want user.revoke_sessions:true", got)
	}
	callIDs := map[string]bool{}
	for _, d := range c.Decisions {
		if d.Rule == "" || d.CallID == "" || d.Effect == "" {
			t.Errorf("decision %+v: want its call id, effect and rule", d)
		}
		callIDs[d.CallID] = true
	}
	for _, st := range append(append([]tierzero.EscalationStep(nil), c.Checked...), c.Tried...) {
		if st.Result == "" {
			t.Errorf("step %+v: want what it found", st)
		}
		if st.Action == "user.revoke_sessions" && !callIDs[st.CallID] {
			t.Errorf("the revocation %s has no policy decision in the ticket: %+v", st.CallID, c.Decisions)
		}
	}
	if len(c.Decisions) == 0 {
		t.Errorf("no decisions in the ticket")
	}
	if len(c.Transcript) == 0 || c.Transcript[0].Content != text {
		t.Errorf("transcript %+v: want it to start with the message", c.Transcript)
	}
	for _, w := range []string{"Requester: ", employee, "tenant contoso", "Original message:", text, "Checked:", "user.signins", "Tried:", "user.revoke_sessions",
		"Policy decisions:", "(rule ", "Transcript:", "Audit: tenant contoso, conversation " + string(c.Conversation), tk.Event.Correlation} {
		if !strings.Contains(c.Body, w) {
			t.Errorf("the body lacks %q:\n%s", w, c.Body)
		}
	}

	// The requester is told the number, in her DM.
	told := slackTexts(sl, "Your request is now ticket T-0001")
	if len(told) != 1 || told[0].Channel != "DADELE" || !strings.Contains(told[0].Text, "https://psa.example/t/1") {
		t.Fatalf("told %+v: want the number once in Adele's DM", told)
	}

	// A technician's comment comes back.
	callback := func(delivery string, cb webhook.Callback, secret string) int {
		t.Helper()
		cb.Delivery, cb.Sent, cb.Correlation = delivery, time.Now().UTC(), tk.Event.Correlation
		body, _ := json.Marshal(cb)
		req, _ := http.NewRequest(http.MethodPost, srv.base+webhook.Prefix+"contoso", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.HeaderDelivery, delivery)
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	public := true
	comment := webhook.Callback{Event: webhook.EventComment, Public: &public,
		Comment: &tierzero.TicketComment{ID: "c9", Author: "Tom", Text: "I reset your MFA methods; please sign in again."}}
	if code := callback("psa-1", comment, "not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("a badly signed callback: %d, want 401", code)
	}
	if code := callback("psa-1", comment, ticketSecret); code != http.StatusOK {
		t.Fatalf("the comment: %d, want 200", code)
	}
	if code := callback("psa-1", comment, ticketSecret); code != http.StatusOK { // the PSA retries
		t.Fatalf("the comment again: %d, want 200", code)
	}
	const update = "Update on ticket T-0001 from Tom: I reset your MFA methods; please sign in again."
	waitUntil(t, "the comment in the DM", func() bool { return len(slackTexts(sl, update)) > 0 })
	if code := callback("psa-2", webhook.Callback{Event: webhook.EventStatus, Status: "closed"}, ticketSecret); code != http.StatusOK {
		t.Fatalf("the close: %d, want 200", code)
	}
	waitUntil(t, "the close in the DM", func() bool { return len(slackTexts(sl, "Ticket T-0001 was closed by IT support")) > 0 })
	if got := slackTexts(sl, update); len(got) != 1 || got[0].Channel != "DADELE" {
		t.Fatalf("comment messages %+v: want one, in Adele's DM", got)
	}
	if n := len(f.Tickets()); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}

	srv.stop(t)
	logs := srv.log()
	for _, secret := range []string{ticketSecret, ticketSigning, ticketToken} {
		if strings.Contains(logs, secret) {
			t.Fatal("a secret is in the logs")
		}
	}
	// The decisions the ticket names are the audit's.
	r := run(t, noEnv, "", "audit", "export", "--tenant", "contoso", "--data", srv.data)
	if r.code != 0 {
		t.Fatalf("audit export: %s", r.stderr)
	}
	for id := range callIDs {
		if !strings.Contains(r.stdout, `"callId":"`+id+`"`) {
			t.Errorf("decision call id %s is not in the audit", id)
		}
	}
}
