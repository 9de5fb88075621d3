package slack

import (
	"context"
	"strings"

	"github.com/slack-go/slack"

	"github.com/tierzero/tierzero"
)

// Who may talk to tierzero in Slack: a full member of the tenant's own
// workspace, whose profile shows a verified e-mail (scopes users:read and
// users:read.email), which names their Entra user. The desk then looks that
// user up in the tenant's directory. Everyone else gets a polite refusal and
// nothing else.
const (
	refuseGuest    = "Sorry, I can only help full members of this workspace. Guest accounts should ask their own IT contact."
	refuseExternal = "Sorry, I can only help members of this organisation's own Slack workspace. If you are with another organisation (Slack Connect), please ask your own IT team."
	refuseDeleted  = "Sorry, I can't help this account: it is deactivated in this workspace."
	refuseBot      = "Sorry, I only help people, not bots or apps."
	refuseNoEmail  = "Sorry, I can't tell who you are: your Slack profile shows me no e-mail address. Please ask your Slack admin."
)

// person is a Slack user as verified: the platform user they are, or why
// they are refused; kept until expires.
type person struct {
	user    tierzero.PlatformUser
	refusal string
	expires int64 // unix nanoseconds
}

// identify returns the platform user a Slack user of w is, or the polite
// refusal they get. fresh skips the cache (a decision that may write). An
// error is a failure to ask Slack.
func (a *Adapter) identify(ctx context.Context, w *Workspace, userID string, fresh bool) (tierzero.PlatformUser, string, error) {
	key := w.TeamID + "/" + userID
	now := a.cfg.Now()
	if !fresh {
		a.mu.Lock()
		p, ok := a.people[key]
		a.mu.Unlock()
		if ok && now.UnixNano() < p.expires {
			return p.user, p.refusal, nil
		}
	}
	c, err := a.client(ctx, w)
	if err != nil {
		return tierzero.PlatformUser{}, "", err
	}
	var u *slack.User
	err = a.call(ctx, "users.info", func() (err error) {
		u, err = c.GetUserInfoContext(ctx, userID)
		return err
	})
	var p person
	switch {
	case slackError(err) == "user_not_found":
		p.refusal = refuseExternal
	case err != nil:
		return tierzero.PlatformUser{}, "", err
	default:
		p.user, p.refusal = verdictOn(w, u)
	}
	p.expires = now.Add(a.cfg.UserTTL).UnixNano()
	a.mu.Lock()
	if len(a.people) > 10000 {
		for k, q := range a.people {
			if q.expires <= now.UnixNano() {
				delete(a.people, k)
			}
		}
	}
	a.people[key] = p
	a.mu.Unlock()
	return p.user, p.refusal, nil
}

// verdictOn says who u is for workspace w, or why they are refused.
func verdictOn(w *Workspace, u *slack.User) (tierzero.PlatformUser, string) {
	email := strings.TrimSpace(u.Profile.Email)
	switch {
	case u.Deleted:
		return tierzero.PlatformUser{}, refuseDeleted
	case u.IsBot || u.IsAppUser || u.IsWorkflowBot || u.ID == "USLACKBOT":
		return tierzero.PlatformUser{}, refuseBot
	case u.IsRestricted || u.IsUltraRestricted:
		return tierzero.PlatformUser{}, refuseGuest
	case u.IsStranger || (u.TeamID != "" && u.TeamID != w.TeamID):
		return tierzero.PlatformUser{}, refuseExternal
	case email == "" || !strings.Contains(email, "@"):
		return tierzero.PlatformUser{}, refuseNoEmail
	}
	name := u.RealName
	if name == "" {
		name = u.Profile.RealName
	}
	return tierzero.PlatformUser{ID: u.ID, UPN: email, DisplayName: name}, ""
}

// slackUserOf finds the Slack user of w that an Entra user principal name
// belongs to (users.lookupByEmail), when they are a full member of w; ""
// when there is none.
func (a *Adapter) slackUserOf(ctx context.Context, w *Workspace, upn string) (string, error) {
	c, err := a.client(ctx, w)
	if err != nil {
		return "", err
	}
	var u *slack.User
	err = a.call(ctx, "users.lookupByEmail", func() (err error) {
		u, err = c.GetUserByEmailContext(ctx, upn)
		return err
	})
	if slackError(err) == "users_not_found" || slackError(err) == "user_not_found" {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	pu, refusal := verdictOn(w, u)
	if refusal != "" || !strings.EqualFold(pu.UPN, upn) {
		return "", nil
	}
	return u.ID, nil
}
