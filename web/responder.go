package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// The web channel's responder: what the desk says in a conversation of the
// console (a technician's operations) is kept here, in memory, for the
// operations page to show. A secret delivered privately is kept until the
// page has shown it to its requester once, then forgotten; it is never
// logged. What is kept is bounded: the last webMaxLines messages of a
// conversation, at most webMaxConversations conversations, each forgotten
// after webConversationTTL without a message or a view.

const (
	webMaxLines         = 50
	webMaxConversations = 1000
	webConversationTTL  = time.Hour
	// webMaxSecrets bounds the undelivered secrets of one conversation.
	webMaxSecrets = 20
)

// opLine is one message of a conversation as the operations page shows it.
type opLine struct {
	From string // "you" or "tierzero"
	Text string
	Time time.Time
}

// opKey names a conversation of the web channel.
type opKey struct {
	tenant tierzero.TenantID
	conv   tierzero.ConversationID
}

type opTranscript struct {
	lines   []opLine
	touched time.Time
}

// secretBox holds the secrets not shown yet to one person.
type secretBox struct {
	notes   []tierzero.PrivateNote
	touched time.Time
}

// responder delivers the web channel (tierzero.ChannelWeb).
type responder struct {
	now   func() time.Time
	mu    sync.Mutex
	convs map[opKey]*opTranscript
	// secrets are kept by the lowercased user principal name of their
	// requester: a plan's step may deliver one outside any conversation.
	secrets map[string]*secretBox
	// current is each technician's current conversation, by whoKey.
	current map[string]*opCurrent
	// lanes serialize the operations page's messages to a conversation,
	// from the check of the plan shown to the desk's answer (lock).
	lanes map[opKey]*opLane
}

type opLane struct {
	mu    sync.Mutex
	users int
}

// lock serializes what the operations page sends to conversation k; the
// returned func unlocks. A lane is kept only while someone holds or waits
// for it.
func (r *responder) lock(k opKey) (unlock func()) {
	r.mu.Lock()
	l, ok := r.lanes[k]
	if !ok {
		l = &opLane{}
		r.lanes[k] = l
	}
	l.users++
	r.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		r.mu.Lock()
		if l.users--; l.users == 0 {
			delete(r.lanes, k)
		}
		r.mu.Unlock()
	}
}

var _ bot.Responder = (*responder)(nil)

func newResponder() *responder { return newResponderAt(time.Now) }

func newResponderAt(now func() time.Time) *responder {
	return &responder{now: now, convs: map[opKey]*opTranscript{}, secrets: map[string]*secretBox{}, current: map[string]*opCurrent{}, lanes: map[opKey]*opLane{}}
}

// conv returns the transcript of k, made when missing; expired ones are
// dropped first, and the least recently used one past webMaxConversations.
// The caller holds mu.
func (r *responder) conv(k opKey) *opTranscript {
	now := r.now()
	if t, ok := r.convs[k]; ok && now.Sub(t.touched) < webConversationTTL {
		t.touched = now
		return t
	}
	evict(r.convs, func(t *opTranscript) time.Time { return t.touched }, now)
	t := &opTranscript{touched: now}
	r.convs[k] = t
	return t
}

// add appends a message to a conversation's transcript.
func (r *responder) add(k opKey, from, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.conv(k)
	t.lines = append(t.lines, opLine{From: from, Text: text, Time: r.now()})
	if n := len(t.lines) - webMaxLines; n > 0 {
		t.lines = slices.Delete(t.lines, 0, n)
	}
}

// Reply keeps text in the conversation's transcript.
// A reply to an earlier conversation of a technician (an approval decided
// after they started a new one) is also shown in their current one.
func (r *responder) Reply(_ context.Context, to bot.Address, text string) error {
	k := opKey{to.Tenant, to.Conversation}
	r.add(k, "tierzero", text)
	r.mu.Lock()
	cur, ok := r.current[whoKey(to.Tenant, to.To.UPN)]
	r.mu.Unlock()
	if ok && to.To.UPN != "" && cur.conv != to.Conversation {
		r.add(opKey{to.Tenant, cur.conv}, "tierzero", "About an earlier conversation: "+text)
	}
	return nil
}

// opCurrent is a technician's current conversation on the web channel.
type opCurrent struct {
	conv    tierzero.ConversationID
	touched time.Time
}

func whoKey(home tierzero.TenantID, upn string) string {
	return string(home) + "\x00" + strings.ToLower(upn)
}

// currentConv returns the technician's current conversation in home, a
// new one when they have none or fresh is set (they started over; the
// transcript of the one before is forgotten). A technician keeps one
// conversation whatever the session, as their direct messages with the
// bot are one in chat: an outcome told later reaches the page they have
// open then. At most webMaxConversations technicians are remembered.
func (r *responder) currentConv(home tierzero.TenantID, upn string, fresh bool) opKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	who := whoKey(home, upn)
	cur, ok := r.current[who]
	if ok && !fresh {
		cur.touched = r.now()
		return opKey{home, cur.conv}
	}
	if ok {
		delete(r.convs, opKey{home, cur.conv})
	}
	if !ok && len(r.current) >= webMaxConversations {
		var oldest string
		var at time.Time
		for k, o := range r.current {
			if at.IsZero() || o.touched.Before(at) {
				oldest, at = k, o.touched
			}
		}
		delete(r.current, oldest)
	}
	var b [12]byte
	rand.Read(b[:])
	cur = &opCurrent{conv: tierzero.ConversationID("web-" + hex.EncodeToString(b[:])), touched: r.now()}
	r.current[who] = cur
	return opKey{home, cur.conv}
}

// Private keeps a secret for its requester, until the operations page has
// shown it to them once (in any conversation: a plan's step may deliver
// one outside the conversation it was asked in).
func (r *responder) Private(_ context.Context, to bot.Address, n tierzero.PrivateNote) error {
	if n.To.UPN == "" {
		n.To = to.To
	}
	who := strings.ToLower(n.To.UPN)
	if who == "" {
		return errors.New("web: a private note for nobody")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	b, ok := r.secrets[who]
	if !ok || now.Sub(b.touched) >= webConversationTTL {
		evict(r.secrets, func(b *secretBox) time.Time { return b.touched }, now)
		b = &secretBox{}
		r.secrets[who] = b
	}
	b.touched = now
	b.notes = append(b.notes, n)
	if k := len(b.notes) - webMaxSecrets; k > 0 {
		b.notes = slices.Delete(b.notes, 0, k)
	}
	return nil
}

// ShowApproval lists nobody: an approval asked for from the console is
// shown on the approvals page of every viewer who may decide it, when they
// look; nobody is notified. It returns that place, as the Teams adapter
// names its approvals channel.
func (r *responder) ShowApproval(context.Context, bot.ApprovalRequest) ([]string, error) {
	return []string{"the web console's approvals page"}, nil
}

// ApprovalSettled does nothing: the approvals page lists only what is
// pending, and the requester is told in their conversation (Reply).
func (r *responder) ApprovalSettled(context.Context, tierzero.Approval, string) error { return nil }

// view returns a copy of the conversation's transcript and takes the
// secrets kept for upn: they are not kept after this.
func (r *responder) view(k opKey, upn string) ([]opLine, []tierzero.PrivateNote) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var lines []opLine
	if t, ok := r.convs[k]; ok && now.Sub(t.touched) < webConversationTTL {
		t.touched = now
		lines = slices.Clone(t.lines)
	}
	who := strings.ToLower(upn)
	b, ok := r.secrets[who]
	if !ok || who == "" {
		return lines, nil
	}
	delete(r.secrets, who)
	if now.Sub(b.touched) >= webConversationTTL {
		return lines, nil
	}
	return lines, b.notes
}

// evict makes room in m for one more entry: it drops the entries idle for
// webConversationTTL, then, when m still holds webMaxConversations, the
// one idle longest.
func evict[K comparable, V any](m map[K]V, touched func(V) time.Time, now time.Time) {
	var oldest K
	var at time.Time
	found := false
	for k, v := range m {
		t := touched(v)
		if now.Sub(t) >= webConversationTTL {
			delete(m, k)
			continue
		}
		if !found || t.Before(at) {
			oldest, at, found = k, t, true
		}
	}
	if found && len(m) >= webMaxConversations {
		delete(m, oldest)
	}
}
