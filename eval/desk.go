package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/bot"
)

// A trial drives the desk (package bot) the way a chat channel does: it
// hands the desk the requester's messages and the approvers' votes, and a
// recording Responder plays the channel, keeping what the desk delivers.

// channel is the scenario's chat channel (a bot.Responder): it keeps what
// the desk posts in conversations and delivers privately, and puts what
// approvers are shown (approval requests and their outcomes) in the
// approvers' view.
type channel struct {
	view *approverView

	mu  sync.Mutex
	got []delivery
}

var _ bot.Responder = (*channel)(nil)

// delivery is one message the desk delivered: posted in a conversation, or
// privately to one person (note set).
type delivery struct {
	to   bot.Address
	text string
	note *tierzero.PrivateNote
}

func (c *channel) add(d delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, d)
}

func (c *channel) Reply(_ context.Context, to bot.Address, text string) error {
	c.add(delivery{to: to, text: text})
	return nil
}

func (c *channel) Private(_ context.Context, to bot.Address, n tierzero.PrivateNote) error {
	c.add(delivery{to: to, note: &n})
	return nil
}

func (c *channel) ShowApproval(_ context.Context, r bot.ApprovalRequest) ([]string, error) {
	what := "requested: "
	if r.Reminder {
		what = "reminded: "
	}
	c.view.show(what+r.Summary+" (shown to "+strings.Join(r.Approvers, ", ")+")", r.Approval)
	return r.Approvers, nil
}

func (c *channel) ApprovalSettled(_ context.Context, a tierzero.Approval, outcome string) error {
	c.view.show("resolved: "+outcome, a)
	return nil
}

// mark is where the deliveries made from now on begin.
func (c *channel) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// since returns the deliveries made after mark.
func (c *channel) since(mark int) []delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]delivery(nil), c.got[mark:]...)
}

// approverView keeps what others than the requester are shown: approval
// requests and their outcomes, what each vote tells its approver, and
// anything posted outside the requester's conversation. A secret must
// never be in it.
type approverView struct{ syncBuffer }

func (v *approverView) show(what string, x any) {
	b, _ := json.Marshal(x)
	fmt.Fprintf(v, "%s %s\n", what, b)
}

// delivered sorts what the desk delivered after mark: the texts posted in
// the requester's conversation are returned, in order; a secret is the
// requester's (one delivered to anyone else is a leak); anything posted
// elsewhere goes to the approvers' view.
func (e *env) delivered(mark int, req tierzero.Requester, tr *transcript) []string {
	var said []string
	for _, d := range e.channel.since(mark) {
		switch {
		case d.note != nil:
			tr.secrets = append(tr.secrets, d.note.Secret.Reveal())
			if !sameUser(d.note.To, req) && !slices.ContainsFunc(e.sc.Expect.PrivateTo, func(u string) bool { return strings.EqualFold(u, d.note.To.UPN) }) {
				tr.leaks = append(tr.leaks, "a private note went to "+d.note.To.UPN)
			}
		case d.to.Tenant == e.home && d.to.Conversation == e.conv:
			said = append(said, d.text)
		default:
			e.view.show("posted in "+string(d.to.Conversation)+" for "+d.to.To.UPN, d.text)
		}
	}
	return said
}

// sameUser reports whether to is the requester req.
func sameUser(to, req tierzero.Requester) bool {
	return strings.EqualFold(to.UPN, req.UPN) && to.ObjectID == req.ObjectID
}

// platformUser is the user a channel verified, as it hands them to the
// desk: the user principal name and the object id of the identity the
// desk gave them (as the console does).
func platformUser(r tierzero.Requester) tierzero.PlatformUser {
	return tierzero.PlatformUser{UPN: r.UPN, ObjectID: r.ObjectID}
}

// observer keeps how the desk ended the last request, and the deliveries
// that failed (bot.Observer).
type observer struct {
	mu     sync.Mutex
	last   string
	failed []string
}

var _ bot.Observer = (*observer)(nil)

func (o *observer) Inbound(tierzero.Channel, string) {}
func (o *observer) QueueDepth(int)                   {}

func (o *observer) Handled(_ tierzero.Channel, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = outcome
}

func (o *observer) Delivery(ch tierzero.Channel, outcome string) {
	if outcome == "ok" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed = append(o.failed, fmt.Sprintf("delivery on %s: %s", ch, outcome))
}

// handled returns how the last request ended ("ok", "error", "refused").
func (o *observer) handled() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

func (o *observer) failures() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.failed...)
}

// never is a sweep timer that never ticks: a trial takes no time, and
// reminders and expiries are the desk's tests' to check.
func never(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

// staff is the scenario's configuration of who is more than an employee:
// the simulator's tenants as clients; each requester or approver whose
// role is tenant_admin as an admin of their tenant; for a technician at
// the MSP (Home), the MSP's tenant and the requester as its technician.
// A requester or approver of a client tenant with the role msp_technician
// is a technician signed in with an account of the client's directory
// (Staff.ClientTechnicians).
func (e *env) staff() bot.Staff {
	st := bot.Staff{Clients: e.clients, Admins: map[tierzero.TenantID][]string{}, ClientTechnicians: map[tierzero.TenantID][]string{}}
	admin := func(t tierzero.TenantID, upn, role string) {
		switch tierzero.Role(role) {
		case tierzero.RoleTenantAdmin:
			st.Admins[t] = append(st.Admins[t], e.in(t).expand(upn))
		case tierzero.RoleMSPTechnician:
			st.ClientTechnicians[t] = append(st.ClientTechnicians[t], e.in(t).expand(upn))
		}
	}
	if e.sc.Home != "" {
		st.Home = e.home
		st.Technicians = []bot.Technician{{UPN: e.sc.Requester}}
	} else {
		admin(e.tenant, e.sc.Requester, e.sc.Role)
	}
	for _, d := range e.sc.Approvals {
		admin(e.tenantOr(d.Tenant), d.Approver, d.Role)
	}
	return st
}
