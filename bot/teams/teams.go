// Package teams is the Microsoft Teams channel of the desk: the Bot
// Framework messaging endpoint (POST /api/messages) and the desk's
// Responder for Teams.
//
// Every request is authenticated by our own validator of the channel's
// token (Validator); the tenant is the configured one whose Entra tenant id
// is the activity's channelData.tenant.id, and the requester is the
// activity's from.aadObjectId, which the desk looks up in that tenant's
// directory: never a name or an e-mail from the text. Messages (personal
// chat, or a channel @mention) go to the desk, which dedupes redeliveries,
// and are acked at once. Approvals are Adaptive Cards whose Action.Execute
// is answered in the HTTP response with the updated card; their
// Action.Submit fallback arrives as a message with a value. Answers go out
// through our own Bot Connector client (Connector), which sends our token
// only to allowlisted service URLs.
//
// It uses github.com/infracloudio/msbotbuilder-go for the activity types
// only: the library's validator, connector client and activity processing
// cannot be used as they are (see ../../shared/LIBRARIES.md).
package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/infracloudio/msbotbuilder-go/schema"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// Desk is what the adapter asks of the desk (bot.Desk).
type Desk interface {
	Submit(ctx context.Context, in tierzero.Inbound) (bot.Receipt, error)
	Decide(ctx context.Context, v bot.Vote) (bot.Verdict, error)
	Identify(ctx context.Context, tenant tierzero.TenantID, ch tierzero.Channel, u tierzero.PlatformUser) (tierzero.Requester, error)
}

// Refs keeps the adapter's conversation references in the tenants' files
// (store.DB): each user's personal chat, the copies of approval cards.
type Refs interface {
	PutRef(ctx context.Context, tenant tierzero.TenantID, key string, ref json.RawMessage) error
	Ref(ctx context.Context, tenant tierzero.TenantID, key string) (json.RawMessage, bool, error)
}

// Tenant is a client tenant served in Teams.
type Tenant struct {
	ID tierzero.TenantID
	// EntraID is the tenant's Entra tenant id, as channelData.tenant.id
	// carries it.
	EntraID string
	// ApprovalsConversation, optional, is a channel ("19:...@thread.tacv2")
	// where every approval request of the tenant is also posted.
	ApprovalsConversation string
}

// Config wires an Adapter.
type Config struct {
	AppID       string // the bot's Microsoft App id
	AppPassword string // its client secret
	// TokenURL is the bot's token endpoint (TokenURL(app tenant)).
	TokenURL string
	// OpenIDMetadataURL, default DefaultOpenIDMetadataURL.
	OpenIDMetadataURL string
	// ServiceURLs are the prefixes of the service URLs our token may be
	// sent to, default DefaultServiceURLs.
	ServiceURLs []string
	Tenants     []Tenant
	Desk        Desk
	Refs        Refs
	// HTTPClient, optional, makes every outgoing request (keys, token,
	// connector); each has its own timeout.
	HTTPClient *http.Client
	// RefetchEvery, optional: see Validator.
	RefetchEvery time.Duration
	// Acks, optional, is told how long each verified activity took to be
	// answered, from its receipt (metrics.Registry).
	Acks interface {
		Acked(channel tierzero.Channel, d time.Duration)
	}
	Now    func() time.Time
	Logger *slog.Logger
}

// Adapter is the Teams channel. It is an http.Handler (the messaging
// endpoint) and the desk's bot.Responder for tierzero.ChannelTeams.
type Adapter struct {
	cfg     Config
	log     *slog.Logger
	auth    *Validator
	conn    *Connector
	byEntra map[string]Tenant
	byID    map[tierzero.TenantID]Tenant

	recMu sync.Mutex // serializes updates of approval records

	votesMu sync.Mutex
	votes   map[string]time.Time // Action.Submit activities seen

	bgMu   sync.Mutex
	closed bool
	bg     sync.WaitGroup
	ctx    context.Context // of background sends; cancelled by Close
	cancel context.CancelFunc
}

var _ bot.Responder = (*Adapter)(nil)

// New returns an Adapter; nothing runs until requests arrive.
func New(cfg Config) (*Adapter, error) {
	switch {
	case cfg.AppID == "" || cfg.AppPassword == "" || cfg.TokenURL == "":
		return nil, errors.New("teams: the app id, app password and token URL are required")
	case cfg.Desk == nil || cfg.Refs == nil:
		return nil, errors.New("teams: a desk and a reference store are required")
	}
	// Azure writes app ids in lower case, in tokens (aud) and in Teams'
	// bot ids (28:<app id>).
	cfg.AppID = strings.ToLower(cfg.AppID)
	if cfg.OpenIDMetadataURL == "" {
		cfg.OpenIDMetadataURL = DefaultOpenIDMetadataURL
	}
	if len(cfg.ServiceURLs) == 0 {
		cfg.ServiceURLs = DefaultServiceURLs
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Adapter{cfg: cfg, log: cfg.Logger, byEntra: map[string]Tenant{}, byID: map[tierzero.TenantID]Tenant{},
		votes: map[string]time.Time{}}
	for _, t := range cfg.Tenants {
		key := strings.ToLower(t.EntraID)
		if t.ID == "" || key == "" {
			return nil, fmt.Errorf("teams: tenant %q needs its Entra tenant id", t.ID)
		}
		if _, dup := a.byEntra[key]; dup {
			return nil, fmt.Errorf("teams: Entra tenant %s is configured twice", t.EntraID)
		}
		a.byEntra[key], a.byID[t.ID] = t, t
	}
	a.auth = &Validator{AppID: cfg.AppID, MetadataURL: cfg.OpenIDMetadataURL, HTTPClient: cfg.HTTPClient,
		Now: cfg.Now, RefetchEvery: cfg.RefetchEvery, Logger: cfg.Logger}
	a.conn = &Connector{TokenURL: cfg.TokenURL, ClientID: cfg.AppID, ClientSecret: cfg.AppPassword,
		ServiceURLs: cfg.ServiceURLs, HTTPClient: cfg.HTTPClient, Now: cfg.Now}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// Channel is tierzero.ChannelTeams.
func (a *Adapter) Channel() tierzero.Channel { return tierzero.ChannelTeams }

// Mount puts the messaging endpoint on mux: POST /api/messages.
func (a *Adapter) Mount(mux *http.ServeMux) { mux.Handle("POST /api/messages", a) }

// Responder is the adapter itself.
func (a *Adapter) Responder() bot.Responder { return a }

// Validator is the adapter's token validator.
func (a *Adapter) Validator() *Validator { return a.auth }

// Run waits until ctx is done, then closes the adapter.
func (a *Adapter) Run(ctx context.Context) error {
	<-ctx.Done()
	a.Close()
	return nil
}

// Close cancels the background sends (typing indicators, welcomes,
// refusals) and waits for them.
func (a *Adapter) Close() {
	a.bgMu.Lock()
	a.closed = true
	a.bgMu.Unlock()
	a.cancel()
	a.bg.Wait()
}

// background runs f on its own goroutine, owned by the adapter.
func (a *Adapter) background(f func(ctx context.Context)) {
	a.bgMu.Lock()
	defer a.bgMu.Unlock()
	if a.closed {
		return
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
		defer cancel()
		f(ctx)
	}()
}

// botID is the bot's id in Teams.
func (a *Adapter) botID() string { return "28:" + a.cfg.AppID }

// maxBody bounds an activity.
const maxBody = 1 << 20

// teamsChannel is the Bot Framework channel id of Microsoft Teams.
const teamsChannel = "msteams"

// ServeHTTP is the messaging endpoint. A request whose token does not
// verify is answered 401 or 403 before anything in it is acted on.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	began := time.Now() // acks are timed from receipt, as Slack's are
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	tok, err := a.auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		a.refused(w, err)
		return
	}
	var act activity
	if err := json.Unmarshal(body, &act); err != nil {
		http.Error(w, "not an activity", http.StatusBadRequest)
		return
	}
	if err := tok.Allows(act.ChannelID, act.ServiceURL); err != nil {
		a.refused(w, err)
		return
	}
	// Only Teams vouches for channelData.tenant.id and from.aadObjectId:
	// the bot's other channels (Web Chat, Direct Line) are signed with the
	// same keys but let their client write both. An activity of another
	// channel, or from a service URL our token would not go to, is refused
	// before anything in it is read.
	if act.ChannelID != teamsChannel {
		a.refused(w, &AuthError{Status: http.StatusForbidden, Reason: fmt.Sprintf("channel %q is not Teams", act.ChannelID)})
		return
	}
	if !a.conn.Allowed(act.ServiceURL) {
		a.refused(w, &AuthError{Status: http.StatusForbidden, Reason: "the service URL is not a Teams connector this bot answers"})
		return
	}
	ctx := r.Context()
	if a.cfg.Acks != nil {
		defer func() { a.cfg.Acks.Acked(tierzero.ChannelTeams, time.Since(began)) }()
	}
	switch act.Type {
	case "message":
		a.onMessage(ctx, w, &act)
	case "invoke":
		a.onInvoke(ctx, w, &act)
	case "installationUpdate":
		a.onInstall(ctx, &act)
		w.WriteHeader(http.StatusOK)
	case "conversationUpdate":
		if t, ok := a.tenantOf(&act); ok {
			a.remember(ctx, t, &act)
		}
		w.WriteHeader(http.StatusOK)
	default: // messageReaction, typing, event, ...: nothing to do
		w.WriteHeader(http.StatusOK)
	}
}

func (a *Adapter) refused(w http.ResponseWriter, err error) {
	status := http.StatusUnauthorized
	var ae *AuthError
	if errors.As(err, &ae) {
		status = ae.Status
	}
	a.log.Warn("teams request refused", "status", status, "err", err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tierzero"`)
	}
	http.Error(w, http.StatusText(status), status)
}

// tenantOf is the configured tenant of the activity's channelData.tenant.id.
func (a *Adapter) tenantOf(act *activity) (Tenant, bool) {
	id := strings.ToLower(act.channelData().Tenant.ID)
	if id == "" {
		return Tenant{}, false
	}
	t, ok := a.byEntra[id]
	return t, ok
}

// notConfigured is what a user of a tenant that is not served is told.
const notConfigured = "Sorry, I am not set up for your organization, so I cannot help you here. Please contact your IT support."

func (a *Adapter) onMessage(ctx context.Context, w http.ResponseWriter, act *activity) {
	t, ok := a.tenantOf(act)
	if !ok {
		a.log.Info("teams message from a tenant not configured", "entra_tenant", act.channelData().Tenant.ID)
		ref := act.reference("")
		a.background(func(ctx context.Context) { a.send(ctx, ref, notConfigured, true) })
		w.WriteHeader(http.StatusOK)
		return
	}
	if v, ok := voteOf(act.Value); ok {
		a.onSubmitVote(ctx, t, act, v)
		w.WriteHeader(http.StatusOK)
		return
	}
	text := act.text()
	if text == "" {
		w.WriteHeader(http.StatusOK) // an image, a card without our data: nothing to answer
		return
	}
	a.remember(ctx, t, act)
	ref := act.reference(t.EntraID)
	raw, err := json.Marshal(ref)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	in := tierzero.Inbound{
		Delivery: deliveryID(act), Channel: tierzero.ChannelTeams, Tenant: t.ID,
		Conversation: tierzero.ConversationID(act.Conversation.ID),
		User:         tierzero.PlatformUser{ID: act.From.ID, ObjectID: act.From.AadObjectID, DisplayName: act.From.Name},
		Text:         text, Time: act.time(), Ref: raw,
	}
	rcpt, err := a.cfg.Desk.Submit(ctx, in)
	if err != nil {
		switch tierzero.ErrorCode(err) {
		case tierzero.EInvalid, tierzero.ENotFound:
			msg := tierzero.ErrorMessage(err)
			a.background(func(ctx context.Context) { a.send(ctx, ref, "Sorry, I cannot take this message: "+msg, true) })
			w.WriteHeader(http.StatusOK)
		case tierzero.EUnavailable:
			http.Error(w, "unavailable", http.StatusServiceUnavailable) // the connector delivers it again
		default:
			a.log.Error("teams message not accepted", "tenant", t.ID, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
		return
	}
	w.WriteHeader(http.StatusOK)
	if !rcpt.Duplicate {
		a.background(func(ctx context.Context) {
			if _, err := a.conn.Send(ctx, ref.ServiceURL, ref.Conversation.ID, &outActivity{Type: "typing"}); err != nil {
				a.log.Debug("typing indicator", "err", err)
			}
		})
	}
}

// deliveryID is the desk's delivery id of an activity: its id, which a
// redelivery repeats, qualified by its conversation (Teams message ids are
// unique only within a conversation).
func deliveryID(act *activity) string {
	if act.ID == "" {
		return ""
	}
	return act.Conversation.ID + "|" + act.ID
}

// send posts text (escaped) to ref's conversation, as a reply to its
// activity when reply is set.
func (a *Adapter) send(ctx context.Context, ref schema.ConversationReference, text string, reply bool) (string, error) {
	m := message(ref, escapeMarkdown(text))
	var id string
	var err error
	if reply {
		id, err = a.conn.ReplyTo(ctx, ref.ServiceURL, ref.Conversation.ID, ref.ActivityID, m)
	} else {
		id, err = a.conn.Send(ctx, ref.ServiceURL, ref.Conversation.ID, m)
	}
	if err != nil {
		a.log.Warn("teams send", "err", err)
	}
	return id, err
}

// welcome is the message of a new installation.
const welcome = "Hi, I am tierzero, your IT helper. Tell me in your own words what is wrong " +
	"(for example: I forgot my password, or I got a new phone and lost my authenticator). " +
	"I check your account and fix what I am allowed to; some fixes need your manager's or an admin's approval first, " +
	"and anything I cannot fix goes to your IT support with the details. " +
	"Passwords and codes I give you arrive only here, in our personal chat."

func (a *Adapter) onInstall(ctx context.Context, act *activity) {
	t, ok := a.tenantOf(act)
	if !ok {
		a.log.Info("teams app installed in a tenant not configured", "entra_tenant", act.channelData().Tenant.ID)
		return
	}
	a.remember(ctx, t, act)
	if act.Action != "add" {
		return
	}
	ref := act.reference(t.EntraID)
	a.background(func(ctx context.Context) { a.send(ctx, ref, welcome, false) })
}
