package graph

// This file: deleting authentication methods in the order Graph requires,
// reading a user's default method, and the tenant's Temporary Access Pass
// policy. Graph refuses (400) to delete the default MFA method while the
// user has other methods, and the mobile phone while an alternate mobile
// exists; user.reset_mfa deletes in that order, retries what Graph refused
// for ordering once the rest is gone, and reports what was removed, what
// remains and why.

import (
	"context"
	"slices"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/policies"
	"github.com/microsoftgraph/msgraph-sdk-go/reports"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/tierzero/tierzero"
)

// Reasons a method is left, in plain words.
const (
	reasonDefault   = "it is the user's default sign-in method, which Microsoft 365 removes only after the others"
	reasonAlternate = "the mobile phone cannot be removed while an alternate mobile phone is registered"
	reasonCannot    = "tierzero cannot remove this kind of method"
)

// registration reads a user's authentication methods registration details
// (reports/authenticationMethods/userRegistrationDetails, by object id).
func (c *Client) registration(ctx context.Context, tenant tierzero.TenantID, id string) (models.UserRegistrationDetailsable, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return nil, err
	}
	b := reports.NewAuthenticationMethodsUserRegistrationDetailsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	r, err := b.ByUserRegistrationDetailsId(id).Get(ctx, nil)
	if err != nil {
		return nil, graphError("read the MFA registration", err)
	}
	return r, nil
}

// preferredMethod reads a user's default MFA method (push, oath,
// voiceMobile, ...), "" when it cannot be read (no Entra ID P1, no
// permission): the deletions then rely on Graph's refusals.
func (c *Client) preferredMethod(ctx context.Context, tenant tierzero.TenantID, user string) string {
	if c.lacks(ctx, tenant, hasP1) {
		return ""
	}
	u, err := c.getUser(ctx, tenant, user, "id")
	if err != nil {
		return ""
	}
	r, err := c.registration(ctx, tenant, str(u.GetId()))
	if err != nil {
		if isLicenseGap(err) {
			c.forgetCapabilities(tenant)
		}
		c.log.Info("default method unreadable; deleting in the usual order", "tenant", tenant, "err", err)
		return ""
	}
	if p := r.GetUserPreferredMethodForSecondaryAuthentication(); p != nil {
		return p.String()
	}
	return ""
}

// standsFor reports whether method m is the one a default-method value
// (userPreferredMethodForSecondaryAuthentication) names.
func standsFor(m methodInfo, preferred string) bool {
	switch preferred {
	case "push":
		return m.Type == kindAuthenticator
	case "oath":
		return m.Type == kindSoftwareOath
	case "voiceMobile", "sms":
		return m.Type == kindPhone && m.PhoneType == "mobile"
	case "voiceAlternateMobile":
		return m.Type == kindPhone && m.PhoneType == "alternateMobile"
	case "voiceOffice":
		return m.Type == kindPhone && m.PhoneType == "office"
	}
	return false
}

// deletionRank orders deletions: methods that are never the default
// first; the alternate mobile before the mobile; the default last (when
// unknown, the Authenticator app, the most common default, last).
func deletionRank(m methodInfo, preferred string) int {
	switch {
	case preferred != "" && standsFor(m, preferred):
		return 9
	case m.Type == kindPhone && m.PhoneType == "alternateMobile":
		return 2
	case m.Type == kindPhone && m.PhoneType == "office", m.Type == kindSoftwareOath:
		return 3
	case m.Type == kindPhone:
		return 4
	case m.Type == kindAuthenticator:
		return 5
	}
	return 1
}

// orderingRefusal returns the plain reason when err is Graph refusing a
// deletion for its order (400: the default method, or the mobile phone
// while an alternate exists), "" otherwise.
func orderingRefusal(err error) string {
	if !isStatus(err, 400) {
		return ""
	}
	msg := strings.ToLower(graphMessage(err))
	switch {
	case strings.Contains(msg, "default method") || strings.Contains(msg, "default authentication method"):
		return reasonDefault
	case strings.Contains(msg, "alternate"):
		return reasonAlternate
	}
	return ""
}

// leftMethod is a method a deletion left, and why.
type leftMethod struct {
	Type      string `json:"type"`
	PhoneType string `json:"phoneType,omitempty"`
	Reason    string `json:"reason"`
}

// deletion is the outcome of deleting methods: the kinds removed, the
// methods left with their reasons, and the first error that was not an
// ordering refusal.
type deletion struct {
	removed []string
	left    []leftMethod
	err     error
}

// deleteInOrder deletes ms (a user's methods) in the order Graph requires:
// a deletion refused for its order is tried again once the others are
// gone. Then it reads the methods back, so that what it reports as left
// is what Graph holds (an ambiguous answer may have been applied).
func (c *Client) deleteInOrder(ctx context.Context, tenant tierzero.TenantID, user string, ab *users.ItemAuthenticationRequestBuilder, ms []methodInfo, preferred string) deletion {
	pending := slices.Clone(ms)
	slices.SortStableFunc(pending, func(x, y methodInfo) int { return deletionRank(x, preferred) - deletionRank(y, preferred) })
	var d deletion
	why := map[string]string{} // method id+type -> reason
	key := func(m methodInfo) string { return m.Type + "/" + m.ID }
	for len(pending) > 0 {
		var retry []methodInfo
		progress := false
		for _, m := range pending {
			done, err := c.deleteMethod(ctx, ab, m)
			switch {
			case err == nil && done:
				progress = true
				delete(why, key(m))
			case err == nil:
				why[key(m)] = reasonCannot
			case orderingRefusal(err) != "":
				why[key(m)] = orderingRefusal(err)
				retry = append(retry, m)
			default:
				why[key(m)] = tierzero.ErrorMessage(err)
				if d.err == nil {
					d.err = err
				}
			}
		}
		if !progress {
			break
		}
		pending = retry
	}
	after, err := c.listMethods(ctx, tenant, user)
	if err != nil {
		if d.err == nil {
			d.err = err
		}
		return d
	}
	d.removed, d.left = []string{}, []leftMethod{}
	for _, m := range ms {
		i := slices.IndexFunc(after, func(x methodInfo) bool { return key(x) == key(m) })
		if i < 0 {
			d.removed = appendUnique(d.removed, m.Type)
			continue
		}
		reason := why[key(m)]
		if reason == "" {
			reason = "not removed"
		}
		d.left = append(d.left, leftMethod{Type: m.Type, PhoneType: m.PhoneType, Reason: reason})
	}
	return d
}

// Temporary Access Pass policy.

// tapPolicy is what the tenant's authentication methods policy allows of
// Temporary Access Passes.
type tapPolicy struct {
	Enabled                          bool
	MinLifetime, MaxLifetime, DefLen int32
	DefaultLifetime                  int32
	UsableOnce                       bool
}

// readTAPPolicy reads policies/authenticationMethodsPolicy/
// authenticationMethodConfigurations/TemporaryAccessPass.
func (c *Client) readTAPPolicy(ctx context.Context, tenant tierzero.TenantID) (tapPolicy, error) {
	a, err := c.adapter(tenant)
	if err != nil {
		return tapPolicy{}, err
	}
	b := policies.NewAuthenticationMethodsPolicyAuthenticationMethodConfigurationsRequestBuilderInternal(map[string]string{"baseurl": a.GetBaseUrl()}, a)
	got, err := b.ByAuthenticationMethodConfigurationId("TemporaryAccessPass").Get(ctx, nil)
	if err != nil {
		return tapPolicy{}, graphError("read the Temporary Access Pass policy", err)
	}
	conf, ok := got.(*models.TemporaryAccessPassAuthenticationMethodConfiguration)
	if !ok {
		return tapPolicy{}, tierzero.Errorf(tierzero.EInternal, "Graph returned the Temporary Access Pass policy as another type")
	}
	p := tapPolicy{MinLifetime: tapMinLifetime, MaxLifetime: 43200, DefaultLifetime: tapDefaultLifetime}
	if s := conf.GetState(); s != nil {
		p.Enabled = *s == models.ENABLED_AUTHENTICATIONMETHODSTATE
	}
	if v := conf.GetMinimumLifetimeInMinutes(); v != nil {
		p.MinLifetime = *v
	}
	if v := conf.GetMaximumLifetimeInMinutes(); v != nil {
		p.MaxLifetime = *v
	}
	if v := conf.GetDefaultLifetimeInMinutes(); v != nil {
		p.DefaultLifetime = *v
	}
	if v := conf.GetIsUsableOnce(); v != nil {
		p.UsableOnce = *v
	}
	if v := conf.GetDefaultLength(); v != nil {
		p.DefLen = *v
	}
	return p, nil
}
