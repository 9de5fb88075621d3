package teams_test

// These tests run the adapter on the real pipeline (the desk, the store,
// policy.Guard with the baseline, the agent with the offline rules model,
// the Graph client over the simulator on loopback), with the fake Bot
// Framework of fake_test.go: tokens we sign ourselves, the token endpoint
// and the connector on loopback.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
	"github.com/tierzero/tierzero/bot/bottest"
	"github.com/tierzero/tierzero/bot/teams"
	"github.com/tierzero/tierzero/graph/sim"
	"github.com/tierzero/tierzero/store"
)

const (
	adele  = "adele.vance@contoso.com"
	miriam = "miriam.graham@contoso.com" // Adele's manager
	alex   = "alex.wilber@contoso.com"   // a tenant admin, not Adele's approver for MFA
)

type harness struct {
	sim      *sim.Server
	db       *store.DB
	desk     *bot.Desk
	adapter  *teams.Adapter
	srv      *httptest.Server // the messaging endpoint
	openID   *openID
	tokens   *tokenEndpoint
	conn     *connector
	k1       signer // endorsed for msteams
	oids     map[string]string
	approval string // the approvals channel, when set
}

type options struct {
	approvalsChannel string
}

func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	ks := keys(t, 1)
	h := &harness{k1: signer{kid: "key-1", key: ks[0], endorsements: []string{"msteams", "skype"}}, oids: map[string]string{}}
	h.openID = newOpenID(t, h.k1)
	h.tokens = newTokenEndpoint(t)
	h.conn = newConnector(t)
	p := bottest.New(t, bottest.Options{})
	h.sim, h.db, h.desk = p.Sim, p.DB, p.Desk
	st, _ := h.sim.State("contoso")
	for _, u := range st.Users {
		h.oids[strings.ToLower(u.UserPrincipalName)] = u.ID
	}
	h.approval = o.approvalsChannel
	var err error
	h.adapter, err = teams.New(teams.Config{
		AppID: appID, AppPassword: "app-password", TokenURL: h.tokens.srv.URL + "/token",
		OpenIDMetadataURL: h.openID.metadataURL(), ServiceURLs: []string{h.conn.serviceURL()},
		Tenants: []teams.Tenant{{ID: "contoso", EntraID: entraID, ApprovalsConversation: o.approvalsChannel}},
		Desk:    h.desk, Refs: h.db,
		RefetchEvery: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.desk.Register(tierzero.ChannelTeams, h.adapter)
	mux := http.NewServeMux()
	h.adapter.Mount(mux)
	h.srv = httptest.NewServer(mux)
	p.Open(t)
	t.Cleanup(func() {
		h.srv.Close()
		h.adapter.Close()
	})
	return h
}

func (h *harness) oid(upn string) string { return h.oids[strings.ToLower(upn)] }

func personalConv(oid string) string { return "a:1personal-" + oid }

// personal is a message from upn in their personal chat with the bot.
func (h *harness) personal(id, upn, text string) map[string]any {
	oid := h.oid(upn)
	return map[string]any{
		"type": "message", "id": id, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"serviceUrl": h.conn.serviceURL(), "channelId": "msteams",
		"from":         map[string]any{"id": "29:" + oid, "name": upn, "aadObjectId": oid},
		"conversation": map[string]any{"conversationType": "personal", "tenantId": entraID, "id": personalConv(oid)},
		"recipient":    map[string]any{"id": "28:" + appID, "name": "tierzero"},
		"text":         text, "textFormat": "plain", "locale": "en-US",
		"channelData": map[string]any{"tenant": map[string]any{"id": entraID}},
	}
}

// post sends an activity with a good token (or the header given) and
// returns the status and body.
func (h *harness) post(t testing.TB, act map[string]any, header ...string) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(act)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/api/messages", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	auth := "Bearer " + sign(t, h.k1, claimsFor(h.conn.serviceURL()))
	if len(header) > 0 {
		auth = header[0]
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// waitFor polls until cond holds, or fails the test.
var waitFor = bottest.WaitFor

// writes are the simulator's successful writes to contoso.
func (h *harness) writes() []sim.JournalEntry { return bottest.Writes(h.sim, "contoso") }

func (h *harness) audit(t testing.TB) []tierzero.AuditEvent {
	var evs []tierzero.AuditEvent
	if err := h.db.Audit(context.Background(), "contoso", time.Time{}, func(ev tierzero.AuditEvent) error {
		evs = append(evs, ev)
		return nil
	}); err != nil && tierzero.ErrorCode(err) != tierzero.ENotFound {
		t.Fatal(err)
	}
	return evs
}

// replies are the messages that reply to activity id.
func (h *harness) replies(id string) []call {
	var out []call
	for _, m := range h.conn.messages() {
		if strings.HasSuffix(m.Path, "/activities/"+id) {
			out = append(out, m)
		}
	}
	return out
}

// secretIn returns the secret of the first secret card posted to conv.
func (h *harness) secretIn(conv string) string {
	for _, m := range h.conn.in(conv) {
		if s := secretOf(m.card()); s != "" {
			return s
		}
	}
	return ""
}

// onlyIn checks that secret appears in no request to the connector but
// those posted to conv, and not in the store's audit.
func (h *harness) onlyIn(t testing.TB, secret, conv string, also ...[]byte) {
	t.Helper()
	for _, c := range h.conn.all() {
		if strings.Contains(c.Raw, secret) && (c.conversation() != conv || c.Method != http.MethodPost) {
			t.Fatalf("the secret went to %s %s", c.Method, c.Path)
		}
	}
	for _, b := range also {
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("the secret is in %s", b)
		}
	}
	for _, ev := range h.audit(t) {
		if b, _ := json.Marshal(ev); bytes.Contains(b, []byte(secret)) {
			t.Fatalf("the secret is in the audit: %s", b)
		}
	}
}

func TestPasswordResetInPersonalChat(t *testing.T) {
	h := newHarness(t, options{})
	act := h.personal("1700000000001", adele, "I forgot my password")
	start := time.Now()
	if code, body := h.post(t, act); code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the ack took %s", d)
	}
	conv := personalConv(h.oid(adele))
	waitFor(t, "the reply", func() bool { return len(h.replies("1700000000001")) == 1 })
	waitFor(t, "the password", func() bool { return h.secretIn(conv) != "" })
	secret := h.secretIn(conv)
	reply := h.replies("1700000000001")[0]
	if reply.conversation() != conv || reply.Body["replyToId"] != "1700000000001" {
		t.Fatalf("reply %s %v: want a reply to the activity in adele's chat", reply.Path, reply.Body)
	}
	if text, _ := reply.Body["text"].(string); !strings.Contains(text, "privately") || strings.Contains(text, secret) {
		t.Fatalf("reply text %q", text)
	}
	if w := h.writes(); len(w) != 1 || w[0].Method != http.MethodPatch {
		t.Fatalf("graph writes %+v, want one PATCH", w)
	}
	h.onlyIn(t, secret, conv)
	for _, c := range h.conn.all() {
		if c.Auth == "Bearer " || c.Auth == "" {
			t.Fatalf("a request without our token: %+v", c)
		}
	}
	// A typing indicator went to the conversation.
	typing := false
	for _, c := range h.conn.all() {
		typing = typing || c.Body["type"] == "typing" && c.conversation() == conv
	}
	if !typing {
		t.Error("no typing indicator")
	}
	var kinds []string
	for _, ev := range h.audit(t) {
		kinds = append(kinds, string(ev.Kind))
		if ev.Channel != "" && ev.Channel != tierzero.ChannelTeams {
			t.Errorf("audit event on channel %q", ev.Channel)
		}
	}
	for _, k := range []string{"decided", "executed"} {
		if !slices.Contains(kinds, k) {
			t.Fatalf("audit %v lacks %s", kinds, k)
		}
	}
	// The token was fetched once and reused.
	if n := h.tokens.calls.Load(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestTokenChecks(t *testing.T) {
	h := newHarness(t, options{})
	ks := keys(t, 3)
	webchat := signer{kid: "key-webchat", key: ks[1], endorsements: []string{"webchat"}}
	h.openID.add(webchat)
	stranger := signer{kid: "key-unknown", key: ks[2]}
	su := h.conn.serviceURL()
	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := claimsFor(su)
		edit(c)
		return c
	}
	good := sign(t, h.k1, claimsFor(su))
	parts := strings.Split(good, ".")
	pubDER := h.k1.key.PublicKey.N.Bytes()
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claimsFor(su))
	hs.Header["kid"] = h.k1.kid
	hsToken, _ := hs.SignedString(pubDER)
	none := base64url(`{"alg":"none","typ":"JWT","kid":"key-1"}`) + "." + parts[1] + "."
	sig := []byte(parts[2])
	// Another base64url character: still a well-formed token, a wrong
	// signature (a flipped bit could make an illegal character instead).
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	badSig := parts[0] + "." + parts[1] + "." + string(sig)
	cases := []struct {
		name   string
		header string
		status int
		why    string // what the validator says
	}{
		{"issuer", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/" + entraID + "/" })), 401, `invalid issuer`},
		{"audience", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { c["aud"] = "11111111-0000-4000-8000-000000000000" })), 401, `invalid audience`},
		{"expired beyond the skew", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-6 * time.Minute).Unix() })), 401, `token is expired`},
		{"not yet valid", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() })), 401, `not valid yet`},
		{"missing exp", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { delete(c, "exp") })), 401, `exp claim is required`},
		{"unknown key", "Bearer " + sign(t, stranger, claimsFor(su)), 401, `not one of the Bot Framework's keys`},
		{"alg none", "Bearer " + none, 401, `signing method none is invalid`},
		{"HS256 signed with the public key", "Bearer " + hsToken, 401, `signing method HS256 is invalid`},
		{"bad signature", "Bearer " + badSig, 401, `signature is invalid`},
		{"missing serviceurl", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { delete(c, "serviceurl") })), 403, `no serviceurl claim`},
		{"mismatched serviceurl", "Bearer " + sign(t, h.k1, with(func(c jwt.MapClaims) { c["serviceurl"] = "https://smba.trafficmanager.net/emea/" })), 403, `not the token's`},
		{"key not endorsed for the channel", "Bearer " + sign(t, webchat, claimsFor(su)), 403, `not endorsed for channel "msteams"`},
		{"no Bearer", good, 401, `want Authorization: Bearer`},
		{"another scheme", "Basic " + good, 401, `want Authorization: Bearer`},
		{"no header", "", 401, `want Authorization: Bearer`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act := h.personal(fmt.Sprintf("17000000001%02d", i), adele, "I forgot my password")
			code, _ := h.post(t, act, c.header)
			if code != c.status {
				t.Fatalf("status %d, want %d", code, c.status)
			}
			tok, err := h.adapter.Validator().Authenticate(context.Background(), c.header)
			if err == nil {
				err = tok.Allows("msteams", su)
			}
			if err == nil || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("validator: %v; want %q", err, c.why)
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // anything accepted would have started by now
	if calls := h.conn.all(); len(calls) != 0 {
		t.Fatalf("the connector was called: %+v", calls)
	}
	if n := h.tokens.calls.Load(); n != 0 {
		t.Fatalf("%d token requests", n)
	}
	if w := h.sim.Journal("contoso"); len(w) != 0 {
		t.Fatalf("graph was called: %+v", w)
	}
	if items, _ := h.db.Inbox(context.Background(), "contoso"); len(items) != 0 {
		t.Fatalf("inbox %+v", items)
	}
	if evs := h.audit(t); len(evs) != 0 {
		t.Fatalf("audit %+v", evs)
	}

	// Accepted: an expiry within the skew, and a key added after start.
	t.Run("expired within the skew", func(t *testing.T) {
		tok := sign(t, h.k1, with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-4 * time.Minute).Unix() }))
		if code, body := h.post(t, h.personal("1700000000201", adele, "hello"), "Bearer "+tok); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
	})
	t.Run("key added after start", func(t *testing.T) {
		rotated := signer{kid: "key-rotated", key: ks[2], endorsements: []string{"msteams"}}
		h.openID.add(rotated)
		if code, body := h.post(t, h.personal("1700000000202", adele, "hello"), "Bearer "+sign(t, rotated, claimsFor(su))); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
	})
	waitFor(t, "the answers", func() bool { return len(h.conn.messages()) >= 2 })
}

func base64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSameActivityThreeTimesConcurrently(t *testing.T) {
	h := newHarness(t, options{})
	act := h.personal("1700000000301", adele, "I forgot my password")
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := h.post(t, act); code != http.StatusOK {
				t.Errorf("status %d: %s", code, body)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "the reply", func() bool { return len(h.replies("1700000000301")) >= 1 })
	time.Sleep(500 * time.Millisecond) // a second run would have answered by now
	if n := len(h.replies("1700000000301")); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
	if w := h.writes(); len(w) != 1 {
		t.Fatalf("graph writes %+v, want one", w)
	}
	if n := len(h.conn.in(personalConv(h.oid(adele)))); n != 2 {
		t.Fatalf("%d messages in adele's chat, want the reply and the password", n)
	}
}

func TestTokenEndpointDown(t *testing.T) {
	h := newHarness(t, options{})
	h.tokens.down.Store(true)
	act := h.personal("1700000000401", adele, "I forgot my password")
	if code, body := h.post(t, act); code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	// The work is done; what it owes the requester waits in the outbox.
	waitFor(t, "the reset", func() bool { return len(h.writes()) == 1 })
	waitFor(t, "the outbox", func() bool {
		box, _ := h.db.Outbox(context.Background(), "contoso")
		return len(box) == 2
	})
	if calls := h.conn.all(); len(calls) != 0 {
		t.Fatalf("the connector was called without a token: %+v", calls)
	}
	h.tokens.down.Store(false)
	conv := personalConv(h.oid(adele))
	waitFor(t, "the retried reply and password", func() bool {
		return len(h.replies("1700000000401")) == 1 && h.secretIn(conv) != ""
	})
	waitFor(t, "the outbox to empty", func() bool {
		box, _ := h.db.Outbox(context.Background(), "contoso")
		return len(box) == 0
	})
	if w := h.writes(); len(w) != 1 {
		t.Fatalf("graph writes %+v, want one", w)
	}
	h.onlyIn(t, h.secretIn(conv), conv)
}

// invoke is an Action.Execute of an approval card by upn, in conv.
func (h *harness) invoke(id, upn, conv, approval string, approve bool) map[string]any {
	act := h.personal(id, upn, "")
	delete(act, "text")
	act["type"], act["name"] = "invoke", "adaptiveCard/action"
	act["conversation"] = map[string]any{"conversationType": "personal", "tenantId": entraID, "id": conv}
	verb := "deny"
	if approve {
		verb = "approve"
	}
	act["value"] = map[string]any{
		"action":  map[string]any{"type": "Action.Execute", "verb": verb, "data": map[string]any{"tierzero": "approval", "approval": approval, "approve": approve}},
		"trigger": "manual",
	}
	return act
}

// approvalCard waits for the approval card posted to miriam and returns
// its conversation and card.
func (h *harness) approvalCard(t testing.TB) (string, map[string]any) {
	t.Helper()
	var conv string
	var card map[string]any
	waitFor(t, "the approval card", func() bool {
		for _, m := range h.conn.messages() {
			if c := m.card(); c != nil && strings.Contains(strings.Join(texts(c), " "), "Approval needed") {
				conv, card = m.conversation(), c
				return true
			}
		}
		return false
	})
	return conv, card
}

func approvalID(t testing.TB, card map[string]any) string {
	t.Helper()
	acts, _ := card["actions"].([]any)
	if len(acts) != 2 {
		t.Fatalf("card actions %v", card["actions"])
	}
	a := acts[0].(map[string]any)
	fb, _ := a["fallback"].(map[string]any)
	if a["type"] != "Action.Execute" || a["verb"] != "approve" || fb["type"] != "Action.Submit" {
		t.Fatalf("action %v: want Action.Execute with an Action.Submit fallback", a)
	}
	if v, _ := card["version"].(string); v < "1.4" {
		t.Fatalf("card version %q", v)
	}
	return a["data"].(map[string]any)["approval"].(string)
}

func TestApprovalByActionExecute(t *testing.T) {
	h := newHarness(t, options{approvalsChannel: "19:approvals@thread.tacv2"})
	if code, _ := h.post(t, h.personal("1700000000501", adele, "I got a new phone and lost my authenticator")); code != 200 {
		t.Fatal(code)
	}
	conv, card := h.approvalCard(t)
	id := approvalID(t, card)
	if want := "a:created-" + h.oid(miriam); conv != want {
		t.Fatalf("card posted to %s, want a new 1:1 with miriam (%s)", conv, want)
	}
	var create call
	for _, c := range h.conn.all() {
		if c.Path == "/v3/conversations" && c.Body["isGroup"] != true {
			create = c
		}
	}
	if cd, _ := create.Body["channelData"].(map[string]any); cd == nil || cd["tenant"].(map[string]any)["id"] != entraID {
		t.Fatalf("1:1 created without the tenant: %s", create.Raw)
	}
	waitFor(t, "the copy in the approvals channel", func() bool {
		for _, c := range h.conn.all() {
			if c.Path == "/v3/conversations" && c.Body["isGroup"] == true {
				return true
			}
		}
		return false
	})

	// Alex is not an approver: nothing changes, and the card says why.
	code, body := h.post(t, h.invoke("1700000000502", alex, "a:created-"+h.oid(alex), id, true))
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var resp struct {
		StatusCode int            `json:"statusCode"`
		Type       string         `json:"type"`
		Value      map[string]any `json:"value"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != 200 || resp.Type != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("invoke response %s", body)
	}
	if all := strings.Join(texts(resp.Value), " "); !strings.Contains(all, "not recorded") || resp.Value["actions"] == nil {
		t.Fatalf("refused card %s: want the reason and the buttons", body)
	}
	if w := h.writes(); len(w) != 0 {
		t.Fatalf("a refused decision wrote %+v", w)
	}

	// Miriam approves: the card is replaced in the response.
	code, body = h.post(t, h.invoke("1700000000503", miriam, conv, id, true))
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var envelope map[string]json.RawMessage
	json.Unmarshal(body, &envelope)
	if len(envelope) != 3 || string(envelope["statusCode"]) != "200" || string(envelope["type"]) != `"application/vnd.microsoft.card.adaptive"` {
		t.Fatalf("invoke envelope %s", body)
	}
	resp.Value = nil
	json.Unmarshal(body, &resp)
	if all := strings.Join(texts(resp.Value), " "); !strings.Contains(all, "Approved by "+miriam+" and done") || resp.Value["actions"] != nil {
		t.Fatalf("card after approval: %s", body)
	}
	if w := h.writes(); len(w) != 1 || !strings.Contains(w[0].Path, "temporaryAccessPass") {
		t.Fatalf("graph writes %+v, want one Temporary Access Pass", w)
	}
	aconv := personalConv(h.oid(adele))
	waitFor(t, "the pass", func() bool { return h.secretIn(aconv) != "" })
	h.onlyIn(t, h.secretIn(aconv), aconv, body)
	// Every copy shows the outcome.
	waitFor(t, "the copies updated", func() bool {
		n := 0
		for _, c := range h.conn.all() {
			if c.Method == http.MethodPut && strings.Contains(strings.Join(texts(c.card()), " "), "and done") {
				n++
			}
		}
		return n == 2
	})
	// Adele is told in her chat.
	waitFor(t, "adele told", func() bool {
		for _, m := range h.conn.in(aconv) {
			if s, _ := m.Body["text"].(string); strings.Contains(s, "approved your request") {
				return true
			}
		}
		return false
	})
	// A second click changes nothing.
	_, body = h.post(t, h.invoke("1700000000504", miriam, conv, id, true))
	if !strings.Contains(string(body), "and done") {
		t.Fatalf("second click: %s", body)
	}
	if w := h.writes(); len(w) != 1 {
		t.Fatalf("graph writes %+v after a second click", w)
	}
}

func TestApprovalByActionSubmit(t *testing.T) {
	h := newHarness(t, options{})
	if code, _ := h.post(t, h.personal("1700000000601", adele, "I got a new phone and lost my authenticator")); code != 200 {
		t.Fatal(code)
	}
	conv, card := h.approvalCard(t)
	id := approvalID(t, card)
	act := h.personal("1700000000602", miriam, "")
	delete(act, "text")
	act["conversation"] = map[string]any{"conversationType": "personal", "tenantId": entraID, "id": conv}
	act["replyToId"] = "card-activity"
	act["value"] = map[string]any{"tierzero": "approval", "approval": id, "approve": false}
	for range 2 { // a redelivery is answered once
		if code, body := h.post(t, act); code != 200 {
			t.Fatalf("status %d: %s", code, body)
		}
	}
	waitFor(t, "the answer", func() bool { return len(h.replies("1700000000602")) == 1 })
	if s, _ := h.replies("1700000000602")[0].Body["text"].(string); !strings.Contains(s, "denied") {
		t.Fatalf("answer %q", s)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(h.replies("1700000000602")); n != 1 {
		t.Fatalf("%d answers", n)
	}
	if w := h.writes(); len(w) != 0 {
		t.Fatalf("a denial wrote %+v", w)
	}
	// A string value (another app's card) is not a vote and does not break decoding.
	act["id"], act["value"], act["text"] = "1700000000603", "just a string", "hello"
	if code, body := h.post(t, act); code != 200 {
		t.Fatalf("string value: %d %s", code, body)
	}
}

func TestUnconfiguredTenant(t *testing.T) {
	h := newHarness(t, options{})
	act := h.personal("1700000000701", adele, "I forgot my password")
	act["channelData"] = map[string]any{"tenant": map[string]any{"id": otherID}}
	if code, _ := h.post(t, act); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "the refusal", func() bool { return len(h.replies("1700000000701")) == 1 })
	if s, _ := h.replies("1700000000701")[0].Body["text"].(string); !strings.Contains(s, "not set up for your organization") {
		t.Fatalf("refusal %q", s)
	}
	if j := h.sim.Journal("contoso"); len(j) != 0 {
		t.Fatalf("graph called: %+v", j)
	}
	for _, tenant := range []tierzero.TenantID{"contoso", "fabrikam"} {
		if items, _ := h.db.Inbox(context.Background(), tenant); len(items) != 0 {
			t.Fatalf("inbox of %s: %+v", tenant, items)
		}
	}
}

func TestChannelMention(t *testing.T) {
	h := newHarness(t, options{})
	oid := h.oid(adele)
	conv := "19:abc@thread.tacv2;messageid=1700000000800"
	act := h.personal("1700000000801", adele, "<at>tierzero</at> I forgot my password")
	act["conversation"] = map[string]any{"conversationType": "channel", "isGroup": true, "tenantId": entraID, "id": conv}
	act["channelData"] = map[string]any{"tenant": map[string]any{"id": entraID}, "team": map[string]any{"id": "19:team@thread.tacv2"},
		"channel": map[string]any{"id": "19:abc@thread.tacv2"}}
	act["entities"] = []any{map[string]any{"type": "mention", "text": "<at>tierzero</at>",
		"mentioned": map[string]any{"id": "28:" + appID, "name": "tierzero"}}}
	if code, _ := h.post(t, act); code != 200 {
		t.Fatal(code)
	}
	waitFor(t, "the reply in the thread", func() bool { return len(h.replies("1700000000801")) == 1 })
	r := h.replies("1700000000801")[0]
	if r.conversation() != conv || !strings.Contains(r.RawPath, "%3Bmessageid=1700000000800/activities/1700000000801") {
		t.Fatalf("reply %s (sent as %s)", r.Path, r.RawPath)
	}
	// The password goes to a new personal chat, not the channel.
	personal := "a:created-29:" + oid
	waitFor(t, "the password", func() bool { return h.secretIn(personal) != "" })
	h.onlyIn(t, h.secretIn(personal), personal)
	if s, _ := r.Body["text"].(string); strings.Contains(s, h.secretIn(personal)) {
		t.Fatal("the secret is in the channel")
	}
}

func TestEventsAnswered(t *testing.T) {
	h := newHarness(t, options{})
	base := h.personal("1700000000901", adele, "")
	delete(base, "text")
	install := clone(base)
	install["type"], install["action"] = "installationUpdate", "add"
	update := clone(base)
	update["id"], update["type"] = "1700000000902", "conversationUpdate"
	update["membersAdded"] = []any{map[string]any{"id": "28:" + appID}}
	reaction := clone(base)
	reaction["id"], reaction["type"] = "1700000000903", "messageReaction"
	reaction["reactionsAdded"] = []any{map[string]any{"type": "like"}}
	for _, act := range []map[string]any{install, update, reaction} {
		if code, body := h.post(t, act); code != 200 {
			t.Fatalf("%s: status %d: %s", act["type"], code, body)
		}
	}
	conv := personalConv(h.oid(adele))
	waitFor(t, "the welcome", func() bool { return len(h.conn.in(conv)) == 1 })
	if s, _ := h.conn.in(conv)[0].Body["text"].(string); !strings.Contains(s, "IT helper") {
		t.Fatalf("welcome %q", s)
	}
	if items, _ := h.db.Inbox(context.Background(), "contoso"); len(items) != 0 {
		t.Fatalf("inbox %+v", items)
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestOtherChannelsRefused: the bot's other Bot Framework channels (Web
// Chat, Direct Line) are signed with the same keys, but their client writes
// channelData.tenant.id and from.aadObjectId itself; an activity from one,
// however well signed, is refused before anything in it is read, and so
// is one from a service URL outside the allowlist.
func TestOtherChannelsRefused(t *testing.T) {
	h := newHarness(t, options{})
	ks := keys(t, 1)
	everywhere := signer{kid: "key-all", key: ks[0], endorsements: []string{"msteams", "webchat", "directline"}}
	h.openID.add(everywhere)
	const directLine = "https://directline.botframework.com/"
	for _, tc := range []struct {
		name, channel, serviceURL string
	}{
		{"direct line", "directline", directLine},
		{"web chat", "webchat", directLine},
		{"teams from an unknown service URL", "msteams", directLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act := h.personal("17000000009"+tc.channel, adele, "I forgot my password")
			act["channelId"], act["serviceUrl"] = tc.channel, tc.serviceURL
			code, _ := h.post(t, act, "Bearer "+sign(t, everywhere, claimsFor(tc.serviceURL)))
			if code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", code)
			}
			vote := h.personal("17000000019"+tc.channel, adele, "")
			vote["channelId"], vote["serviceUrl"] = tc.channel, tc.serviceURL
			vote["value"] = map[string]any{"tierzero": "approval", "approval": "0123456789abcdef0123456789abcdef", "decision": "approve"}
			if code, _ := h.post(t, vote, "Bearer "+sign(t, everywhere, claimsFor(tc.serviceURL))); code != http.StatusForbidden {
				t.Fatalf("vote: status %d, want 403", code)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if items, _ := h.db.Inbox(context.Background(), "contoso"); len(items) != 0 {
		t.Fatalf("inbox %+v", items)
	}
	if evs := h.audit(t); len(evs) != 0 {
		t.Fatalf("audit %+v", evs)
	}
	if calls := h.conn.all(); len(calls) != 0 {
		t.Fatalf("the connector was called: %+v", calls)
	}
}
