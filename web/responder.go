package web

import (
	"context"
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
	secrets []tierzero.PrivateNote
	touched time.Time
}

// responder delivers the web channel (tierzero.ChannelWeb).
type responder struct {
	now   func() time.Time
	mu    sync.Mutex
	convs map[opKey]*opTranscript
}

var _ bot.Responder = (*responder)(nil)

func newResponder() *responder { return newResponderAt(time.Now) }

func newResponderAt(now func() time.Time) *responder {
	return &responder{now: now, convs: map[opKey]*opTranscript{}}
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
	for key, t := range r.convs {
		if now.Sub(t.touched) >= webConversationTTL {
			delete(r.convs, key)
		}
	}
	if len(r.convs) >= webMaxConversations {
		var oldest opKey
		var at time.Time
		for key, t := range r.convs {
			if at.IsZero() || t.touched.Before(at) {
				oldest, at = key, t.touched
			}
		}
		delete(r.convs, oldest)
	}
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
func (r *responder) Reply(_ context.Context, to bot.Address, text string) error {
	r.add(opKey{to.Tenant, to.Conversation}, "tierzero", text)
	return nil
}

// Private keeps a secret for its requester, until the operations page has
// shown it to them once.
func (r *responder) Private(_ context.Context, to bot.Address, n tierzero.PrivateNote) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.conv(opKey{to.Tenant, to.Conversation})
	if n.To.UPN == "" {
		n.To = to.To
	}
	t.secrets = append(t.secrets, n)
	if k := len(t.secrets) - webMaxSecrets; k > 0 {
		t.secrets = slices.Delete(t.secrets, 0, k)
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
	t, ok := r.convs[k]
	if !ok || r.now().Sub(t.touched) >= webConversationTTL {
		return nil, nil
	}
	t.touched = r.now()
	lines := slices.Clone(t.lines)
	var mine []tierzero.PrivateNote
	t.secrets = slices.DeleteFunc(t.secrets, func(n tierzero.PrivateNote) bool {
		if strings.EqualFold(n.To.UPN, upn) {
			mine = append(mine, n)
			return true
		}
		return false
	})
	return lines, mine
}

// forget drops a conversation (the technician started over, or signed out).
func (r *responder) forget(k opKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.convs, k)
}
