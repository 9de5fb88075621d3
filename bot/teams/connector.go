package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"
)

// ConnectorScope is the scope of the bot's token for the Bot Connector.
const ConnectorScope = "https://api.botframework.com/.default"

// DefaultServiceURLs are the Bot Connector service URLs of Teams, the
// prefixes our token is sent to by default.
var DefaultServiceURLs = []string{"https://smba.trafficmanager.net/"}

// TokenURL is the token endpoint of a bot registered in tenant (a
// single-tenant bot: its own Entra tenant id; "botframework.com" for a
// multi-tenant one).
func TokenURL(tenant string) string {
	return "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/token"
}

// Connector is the bot's client of the Bot Connector REST API (v3): it gets
// the bot's token from TokenURL with client_credentials and keeps it until
// shortly before it expires, and sends it only to service URLs under one
// of ServiceURLs. Every call has a context and a timeout; a failure is an
// error, never a request with an empty token.
type Connector struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// ServiceURLs are the prefixes (scheme, host and a path ending in /)
	// of the service URLs our token may be sent to.
	ServiceURLs []string
	HTTPClient  *http.Client
	Timeout     time.Duration // per call, default 15s
	Now         func() time.Time

	mu      sync.Mutex // guards the token and serializes its refresh
	token   string
	expires time.Time
}

// tokenMargin is how long before its expiry a token is renewed.
const tokenMargin = 5 * time.Minute

// ConnectorError is a non-2xx answer of the Bot Connector.
type ConnectorError struct {
	Method, Path string
	Status       int
	Code         string // the error code of the answer, if it has one
}

func (e *ConnectorError) Error() string {
	return fmt.Sprintf("bot connector: %s %s: %d %s", e.Method, e.Path, e.Status, e.Code)
}

func (c *Connector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Connector) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Connector) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 15 * time.Second
}

// Token returns the bot's token for the connector, from the cache while it
// is valid for at least another 5 minutes.
func (c *Connector) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expires.Add(-tokenMargin)) {
		return c.token, nil
	}
	tok, ttl, err := c.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.expires = tok, c.now().Add(ttl)
	return tok, nil
}

// dropToken forgets a token the connector refused.
func (c *Connector) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

func (c *Connector) fetchToken(ctx context.Context) (string, time.Duration, error) {
	if c.TokenURL == "" || c.ClientID == "" || c.ClientSecret == "" {
		return "", 0, errors.New("bot token: the app id, password and token URL are required")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"scope":         {ConnectorScope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("bot token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client().Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("bot token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e) // the error code only: the description may echo input
		return "", 0, fmt.Errorf("bot token: %s %s", resp.Status, e.Error)
	}
	var t struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number, or a string of one
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return "", 0, fmt.Errorf("bot token: %w", err)
	}
	if t.AccessToken == "" || strings.ContainsAny(t.AccessToken, " \r\n") {
		return "", 0, errors.New("bot token: the token endpoint returned no access token")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("bot token: token type %q, want Bearer", t.TokenType)
	}
	secs := 3600
	if s := strings.Trim(string(t.ExpiresIn), `"`); s != "" {
		if _, err := fmt.Sscan(s, &secs); err != nil || secs <= 0 {
			secs = 600
		}
	}
	return t.AccessToken, time.Duration(secs) * time.Second, nil
}

// Allowed reports whether our token may be sent to serviceURL: an https
// URL (http only to a loopback address) under one of ServiceURLs.
func (c *Connector) Allowed(serviceURL string) bool {
	u, err := url.Parse(serviceURL)
	if err != nil || !webURL(serviceURL) || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	path := u.EscapedPath()
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	for _, p := range c.ServiceURLs {
		a, err := url.Parse(p)
		if err != nil || a.Host == "" {
			continue
		}
		prefix := a.EscapedPath()
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		if strings.EqualFold(a.Scheme, u.Scheme) && strings.EqualFold(a.Host, u.Host) && strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// Activity ids, as the connector returns them.
type resourceResponse struct {
	ID string `json:"id"`
}

// Send posts a new activity to a conversation and returns its id.
func (c *Connector) Send(ctx context.Context, serviceURL, conversation string, a *outActivity) (string, error) {
	var r resourceResponse
	err := c.call(ctx, http.MethodPost, serviceURL, "v3/conversations/"+url.PathEscape(conversation)+"/activities", a, &r)
	return r.ID, err
}

// ReplyTo posts an activity as a reply to activity replyTo (in a channel,
// into its thread) and returns the new activity's id.
func (c *Connector) ReplyTo(ctx context.Context, serviceURL, conversation, replyTo string, a *outActivity) (string, error) {
	if replyTo == "" {
		return c.Send(ctx, serviceURL, conversation, a)
	}
	a.ReplyToID = replyTo
	var r resourceResponse
	err := c.call(ctx, http.MethodPost, serviceURL,
		"v3/conversations/"+url.PathEscape(conversation)+"/activities/"+url.PathEscape(replyTo), a, &r)
	return r.ID, err
}

// Update replaces an activity the bot posted (an approval card, with its
// outcome).
func (c *Connector) Update(ctx context.Context, serviceURL, conversation, activityID string, a *outActivity) error {
	a.ID = activityID
	return c.call(ctx, http.MethodPut, serviceURL,
		"v3/conversations/"+url.PathEscape(conversation)+"/activities/"+url.PathEscape(activityID), a, nil)
}

// conversationParams are the parameters of a new conversation.
type conversationParams struct {
	IsGroup     bool                    `json:"isGroup"`
	Bot         schema.ChannelAccount   `json:"bot"`
	Members     []schema.ChannelAccount `json:"members,omitempty"`
	TenantID    string                  `json:"tenantId,omitempty"`
	ChannelData map[string]any          `json:"channelData,omitempty"`
	Activity    *outActivity            `json:"activity,omitempty"`
}

// conversationResponse is the connector's answer to a new conversation.
type conversationResponse struct {
	ID         string `json:"id"`
	ActivityID string `json:"activityId"`
	ServiceURL string `json:"serviceUrl"`
}

// CreateConversation starts a conversation (a 1:1 chat with a user, or a
// new thread in a channel) and returns it.
func (c *Connector) CreateConversation(ctx context.Context, serviceURL string, p conversationParams) (conversationResponse, error) {
	var r conversationResponse
	if err := c.call(ctx, http.MethodPost, serviceURL, "v3/conversations", p, &r); err != nil {
		return r, err
	}
	if r.ID == "" {
		return r, errors.New("bot connector: the new conversation has no id")
	}
	return r, nil
}

// call makes one request to the connector at serviceURL.
func (c *Connector) call(ctx context.Context, method, serviceURL, path string, body, out any) error {
	if !c.Allowed(serviceURL) {
		return fmt.Errorf("bot connector: service URL %q is not in the allowlist; our token is not sent there", serviceURL)
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	u := strings.TrimSuffix(serviceURL, "/") + "/" + path
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("bot connector: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := c.client().Do(req)
	if err != nil {
		return fmt.Errorf("bot connector: %s: %w", method, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		if resp.StatusCode == http.StatusUnauthorized {
			c.dropToken(tok)
		}
		// Only the error's code: a message may quote what was sent.
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal(rb, &e)
		return &ConnectorError{Method: method, Path: req.URL.Path, Status: resp.StatusCode, Code: e.Error.Code}
	}
	if out != nil && len(bytes.TrimSpace(rb)) > 0 {
		if err := json.Unmarshal(rb, out); err != nil {
			return fmt.Errorf("bot connector: %s %s: %w", method, req.URL.Path, err)
		}
	}
	return nil
}

// webURL reports whether s is an https URL, or an http URL of a loopback
// address (tests).
func webURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return true
		}
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
	return false
}
