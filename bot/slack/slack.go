// Package slack is the Slack channel of the desk: it verifies what Slack
// sends (signed Events API and interactivity requests, or the Socket Mode
// connection), turns a Slack user into the Entra user their verified e-mail
// names, hands each message to the desk (package bot) and acks at once, and
// delivers what the desk owes people: replies in the thread, secrets by DM
// to the requester alone, approval requests with Approve and Deny buttons to
// each approver, and their outcome on every copy. It also runs the OAuth v2
// install of a workspace, whose bot token it seals in that tenant's store.
// slack-go's types stay inside this package.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Defaults applied by New to zero Config fields.
const (
	// DefaultNotice is how long a message waits for its answer before
	// its requester is told that tierzero is looking into it.
	DefaultNotice = 4 * time.Second
	// DefaultUserTTL is how long a Slack user's verified identity is
	// kept before users.info is asked again.
	DefaultUserTTL = 2 * time.Minute
	// DefaultAckBudget bounds the time an Events API request waits for
	// its event to be accepted before it is answered (Slack gives 3 s).
	DefaultAckBudget = 2500 * time.Millisecond
)

// BotTokenCredential names the bot token an OAuth install seals in the
// tenant's store.
const BotTokenCredential = "slack_bot_token"

// maxBody bounds the body of a request from Slack.
const maxBody = 1 << 20

// Desk is what the adapter asks of the desk (bot.Desk).
type Desk interface {
	Submit(ctx context.Context, in tierzero.Inbound) (bot.Receipt, error)
	Decide(ctx context.Context, v bot.Vote) (bot.Verdict, error)
}

// Store is what the adapter keeps in the tenants' files (store.DB): where
// the copies of an approval request are, and the bot tokens of installed
// workspaces.
type Store interface {
	PutRef(ctx context.Context, tenant tierzero.TenantID, key string, ref json.RawMessage) error
	Ref(ctx context.Context, tenant tierzero.TenantID, key string) (json.RawMessage, bool, error)
	PutCredential(ctx context.Context, tenant tierzero.TenantID, name, value string) error
	Credential(ctx context.Context, tenant tierzero.TenantID, name string) (string, bool, error)
}

// Workspace is one client tenant's Slack workspace.
type Workspace struct {
	Tenant tierzero.TenantID
	TeamID string
	// BotToken is the workspace's bot token (xoxb-...); when empty, the
	// one an OAuth install sealed in the tenant's store.
	BotToken string
	// ApprovalsChannel, optional, is a channel id where every approval
	// request of the tenant is also posted.
	ApprovalsChannel string
}

// OAuth is the app's OAuth v2 install (multi-workspace distribution).
type OAuth struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string // https://HOST/slack/oauth
}

// Config wires an Adapter.
type Config struct {
	// SigningSecret verifies the Events API and interactivity requests;
	// without it those endpoints are not mounted (Socket Mode only).
	SigningSecret string
	// APIURL is the Web API base, ending with "/"; DefaultAPIURL when
	// empty.
	APIURL string
	// AppToken (xapp-...), optional: Run receives events over Socket
	// Mode instead of HTTP.
	AppToken   string
	OAuth      *OAuth // optional: GET /slack/install and /slack/oauth
	Workspaces []Workspace
	Desk       Desk
	Store      Store
	// HTTPClient calls the Web API; a client with a 15 s timeout when nil.
	HTTPClient *http.Client

	Notice    time.Duration // DefaultNotice when zero
	UserTTL   time.Duration // DefaultUserTTL when zero
	AckBudget time.Duration // DefaultAckBudget when zero
	// PingInterval, optional, is how long the Socket Mode connection may
	// go without a ping from Slack before it is reopened (slack-go's
	// default, 30 s, when zero).
	PingInterval time.Duration
	// Acks, optional, is told how long each verified request from Slack
	// waited for its answer (metrics.Registry).
	Acks   Acks
	Now    func() time.Time
	Logger *slog.Logger
}

// Acks observes ack latency (metrics.Registry).
type Acks interface {
	Acked(channel tierzero.Channel, d time.Duration)
}

// Adapter is the Slack channel: its HTTP handlers (Mount), its Responder,
// and its background work (Run).
type Adapter struct {
	cfg    Config
	log    *slog.Logger
	api    string // the Web API base
	byTeam map[string]*Workspace
	byTen  map[tierzero.TenantID]*Workspace

	mu       sync.Mutex
	clients  map[string]*slack.Client // by token
	people   map[string]person        // team/user -> identity, briefly
	refused  map[string]time.Time     // deliveries already refused
	notices  map[threadKey][]*time.Timer
	states   map[string]time.Time // OAuth states issued and not yet used
	closed   bool
	stateKey []byte

	copiesMu sync.Mutex // read-modify-write of an approval's copies
	bg       sync.WaitGroup
}

var _ bot.Responder = (*Adapter)(nil)

// New returns an Adapter; nothing runs until Run, and requests are served
// once it is mounted.
func New(cfg Config) (*Adapter, error) {
	if cfg.Desk == nil || cfg.Store == nil {
		return nil, errors.New("slack: desk and store are required")
	}
	if cfg.SigningSecret == "" && cfg.AppToken == "" {
		return nil, errors.New("slack: a signing secret (HTTP events) or an app-level token (Socket Mode) is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("slack: api url %q is not an absolute URL", cfg.APIURL)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Notice <= 0 {
		cfg.Notice = DefaultNotice
	}
	if cfg.UserTTL <= 0 {
		cfg.UserTTL = DefaultUserTTL
	}
	if cfg.AckBudget <= 0 {
		cfg.AckBudget = DefaultAckBudget
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if o := cfg.OAuth; o != nil && (o.ClientID == "" || o.ClientSecret == "" || o.RedirectURL == "") {
		return nil, errors.New("slack: oauth needs a client id, a client secret and a redirect url")
	}
	a := &Adapter{
		cfg: cfg, log: cfg.Logger.With("channel", "slack"), api: cfg.APIURL,
		byTeam: map[string]*Workspace{}, byTen: map[tierzero.TenantID]*Workspace{},
		clients: map[string]*slack.Client{}, people: map[string]person{}, refused: map[string]time.Time{},
		notices: map[threadKey][]*time.Timer{}, states: map[string]time.Time{},
		stateKey: randomBytes(32),
	}
	for i := range cfg.Workspaces {
		w := &cfg.Workspaces[i]
		if err := tierzero.ValidTenantID(w.Tenant); err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		if w.TeamID == "" {
			return nil, fmt.Errorf("slack: tenant %s has no team id", w.Tenant)
		}
		if o, ok := a.byTeam[w.TeamID]; ok {
			return nil, fmt.Errorf("slack: team %s is both tenant %s and tenant %s", w.TeamID, o.Tenant, w.Tenant)
		}
		if _, ok := a.byTen[w.Tenant]; ok {
			return nil, fmt.Errorf("slack: tenant %s has two workspaces", w.Tenant)
		}
		a.byTeam[w.TeamID] = w
		a.byTen[w.Tenant] = w
	}
	return a, nil
}

// Channel is tierzero.ChannelSlack.
func (a *Adapter) Channel() tierzero.Channel { return tierzero.ChannelSlack }

// Responder is the adapter itself.
func (a *Adapter) Responder() bot.Responder { return a }

// Mount puts the adapter's endpoints on mux: POST /slack/events and POST
// /slack/interactive when there is a signing secret, GET /slack/install and
// GET /slack/oauth when OAuth is configured.
func (a *Adapter) Mount(mux *http.ServeMux) {
	if a.cfg.SigningSecret != "" {
		mux.HandleFunc("POST /slack/events", a.handleEvents)
		mux.HandleFunc("POST /slack/interactive", a.handleInteractive)
	}
	if a.cfg.OAuth != nil {
		mux.HandleFunc("GET /slack/install", a.handleInstall)
		mux.HandleFunc("GET /slack/oauth", a.handleOAuth)
	}
}

// Run does the adapter's background work until ctx is done: the Socket
// Mode connection when there is an app-level token. When ctx is done it
// stops the pending "looking into it" notices and waits for the work it
// started.
func (a *Adapter) Run(ctx context.Context) error {
	var err error
	if a.cfg.AppToken != "" {
		err = a.runSocket(ctx)
	} else {
		<-ctx.Done()
	}
	a.close()
	return err
}

// close stops the notices and waits for the background work.
func (a *Adapter) close() {
	a.mu.Lock()
	a.closed = true
	for k, ts := range a.notices {
		for _, t := range ts {
			t.Stop()
		}
		delete(a.notices, k)
	}
	a.mu.Unlock()
	a.bg.Wait()
}

// goBackground runs f as background work that Run waits for; false when
// the adapter is closed.
func (a *Adapter) goBackground(f func()) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		f()
	}()
	return true
}

// workspace returns the workspace of a tenant.
func (a *Adapter) workspace(t tierzero.TenantID) (*Workspace, error) {
	w, ok := a.byTen[t]
	if !ok {
		return nil, tierzero.Errorf(tierzero.ENotFound, "tenant %s has no Slack workspace", t)
	}
	return w, nil
}

// client returns the Web API client of a workspace: its configured bot
// token, else the one its OAuth install sealed in the tenant's store.
func (a *Adapter) client(ctx context.Context, w *Workspace) (*slack.Client, error) {
	token := w.BotToken
	if token == "" {
		t, ok, err := a.cfg.Store.Credential(ctx, w.Tenant, BotTokenCredential)
		if err != nil {
			return nil, fmt.Errorf("load slack bot token: %w", err)
		}
		if !ok {
			return nil, tierzero.Errorf(tierzero.EUnavailable, "tenant %s: no Slack bot token (set its bot_token_env, or install the app through /slack/install)", w.Tenant)
		}
		token = t
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.clients[token]
	if !ok {
		c = slack.New(token, slack.OptionAPIURL(a.api), slack.OptionHTTPClient(a.cfg.HTTPClient))
		a.clients[token] = c
	}
	return c, nil
}

// Rate limits: a call answered 429 waits what Retry-After says and is tried
// again, up to maxRateRetries times; then the error goes to the desk, whose
// outbox tries again later. A message is never dropped.
const (
	maxRateRetries = 5
	maxRateWait    = time.Minute
)

// call runs f, waiting out Slack's rate limits.
func (a *Adapter) call(ctx context.Context, method string, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt == maxRateRetries {
			if err != nil {
				return fmt.Errorf("slack %s: %w", method, err)
			}
			return nil
		}
		wait := min(max(rl.RetryAfter, 100*time.Millisecond), maxRateWait)
		a.log.Warn("slack rate limited; waiting", "method", method, "retry_after", wait, "attempt", attempt+1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("slack %s: %w (while rate limited)", method, ctx.Err())
		}
	}
}

// slackError is the error code of a Web API answer {"ok":false}, or "".
func slackError(err error) string {
	var e slack.SlackErrorResponse
	if errors.As(err, &e) {
		return e.Err
	}
	return ""
}
