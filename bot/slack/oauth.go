package slack

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// BotScopes are the bot token scopes the adapter uses, and asks for when
// it installs itself: app_mentions:read and im:history (the events), chat:write
// (replies, approval requests, their updates, ephemeral answers to clicks),
// im:write (the DMs of secrets and approval requests), users:read and
// users:read.email (who wrote, and which approver is which member).
var BotScopes = []string{"app_mentions:read", "chat:write", "im:history", "im:write", "users:read", "users:read.email"}

// BotEvents are the Events API events the adapter answers (a DM to the bot,
// an @mention of it); the app subscribes to these and no others.
var BotEvents = []string{"app_mention", "message.im"}

const (
	stateCookie = "tierzero_slack_oauth"
	stateTTL    = 10 * time.Minute
)

// The OAuth v2 install: GET /slack/install sends the browser to Slack's
// authorize page with a state that is signed, expires, is bound to that
// browser by a cookie, and can be used once; GET /slack/oauth checks it,
// exchanges the code (oauth.v2.access), and seals the workspace's bot
// token in the store of the tenant whose team id it is. A workspace that
// no tenant names is refused and nothing is kept.

// handleInstall is GET /slack/install.
func (a *Adapter) handleInstall(w http.ResponseWriter, r *http.Request) {
	nonce := hex.EncodeToString(randomBytes(16))
	exp := a.cfg.Now().Add(stateTTL)
	state := nonce + "." + strconv.FormatInt(exp.Unix(), 10)
	state += "." + a.mac(state)
	a.mu.Lock()
	now := a.cfg.Now()
	for k, t := range a.states {
		if now.After(t) {
			delete(a.states, k)
		}
	}
	if len(a.states) >= 10000 {
		a.mu.Unlock()
		http.Error(w, "too many installs in progress; try again in a few minutes", http.StatusServiceUnavailable)
		return
	}
	a.states[nonce] = exp
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: stateCookie, Value: nonce, Path: "/slack/", MaxAge: int(stateTTL.Seconds()),
		HttpOnly: true, Secure: strings.HasPrefix(a.cfg.OAuth.RedirectURL, "https://"), SameSite: http.SameSiteLaxMode,
	})
	q := url.Values{
		"client_id":    {a.cfg.OAuth.ClientID},
		"scope":        {strings.Join(BotScopes, ",")},
		"redirect_uri": {a.cfg.OAuth.RedirectURL},
		"state":        {state},
	}
	http.Redirect(w, r, a.authorizeURL()+"?"+q.Encode(), http.StatusFound)
}

// authorizeURL is Slack's authorize page, on the host of the Web API.
func (a *Adapter) authorizeURL() string {
	u, _ := url.Parse(a.api)
	return u.Scheme + "://" + u.Host + "/oauth/v2/authorize"
}

func (a *Adapter) mac(s string) string {
	m := hmac.New(sha256.New, a.stateKey)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// takeState checks an OAuth state against the browser's cookie and uses
// it up.
func (a *Adapter) takeState(r *http.Request) error {
	state := r.URL.Query().Get("state")
	parts := strings.Split(state, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(a.mac(parts[0]+"."+parts[1])), []byte(parts[2])) {
		return fmt.Errorf("the state is missing or not ours")
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || a.cfg.Now().Unix() > exp {
		return fmt.Errorf("the state has expired")
	}
	c, err := r.Cookie(stateCookie)
	if err != nil || !hmac.Equal([]byte(c.Value), []byte(parts[0])) {
		return fmt.Errorf("the state was issued to another browser")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.states[parts[0]]; !ok {
		return fmt.Errorf("the state was already used")
	}
	delete(a.states, parts[0])
	return nil
}

// handleOAuth is GET /slack/oauth, where Slack sends the browser back.
func (a *Adapter) handleOAuth(w http.ResponseWriter, r *http.Request) {
	if err := a.takeState(r); err != nil {
		a.log.Warn("slack install refused", "reason", err, "remote", r.RemoteAddr)
		page(w, http.StatusBadRequest, "This install link is not valid ("+err.Error()+"). Nothing was installed. Start again from /slack/install.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Value: "", Path: "/slack/", MaxAge: -1, HttpOnly: true})
	if e := r.URL.Query().Get("error"); e != "" {
		page(w, http.StatusOK, "The installation was cancelled in Slack ("+e+"). Nothing was installed.")
		return
	}
	code := r.URL.Query().Get("code")
	if code == "" {
		page(w, http.StatusBadRequest, "Slack sent no authorization code. Nothing was installed.")
		return
	}
	o := a.cfg.OAuth
	resp, err := slack.GetOAuthV2ResponseContext(r.Context(), a.cfg.HTTPClient, o.ClientID, o.ClientSecret, code, o.RedirectURL, slack.OAuthOptionAPIURL(a.api))
	if err != nil {
		a.log.Error("slack oauth.v2.access", "err", err)
		page(w, http.StatusBadGateway, "Slack did not complete the installation ("+err.Error()+"). Nothing was installed.")
		return
	}
	ws, ok := a.byTeam[resp.Team.ID]
	if !ok {
		a.log.Warn("slack install from a workspace no tenant has", "team", resp.Team.ID, "name", resp.Team.Name)
		page(w, http.StatusForbidden, fmt.Sprintf("Slack workspace %s (%s) is not configured for any tenant: add its team id under tenants.<tenant>.slack.team_id, then install again. Nothing was kept.", resp.Team.Name, resp.Team.ID))
		return
	}
	if !strings.HasPrefix(resp.AccessToken, "xoxb-") {
		page(w, http.StatusBadGateway, "Slack returned no bot token. Nothing was installed.")
		return
	}
	if err := a.cfg.Store.PutCredential(r.Context(), ws.Tenant, BotTokenCredential, resp.AccessToken); err != nil {
		a.log.Error("seal slack bot token", "tenant", ws.Tenant, "err", err)
		page(w, http.StatusInternalServerError, "The bot token could not be stored. Nothing was installed; try again.")
		return
	}
	a.log.Info("slack workspace installed", "tenant", ws.Tenant, "team", resp.Team.ID, "scopes", resp.Scope)
	page(w, http.StatusOK, fmt.Sprintf("tierzero is installed in Slack workspace %s for tenant %s.", resp.Team.Name, ws.Tenant))
}

// page answers a browser with a short HTML page.
func page(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html><title>tierzero</title><p>%s</p>\n", html.EscapeString(text))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
