package graph

// This file: what a tenant's subscriptions let Graph do for it. Graph gates
// features on the tenant's service plans: sign-in logs and the
// authentication methods registration report need Entra ID P1
// (AAD_PREMIUM), Identity Protection (riskyUsers) needs Entra ID P2
// (AAD_PREMIUM_P2). Most MSP clients run Microsoft 365 Business Premium,
// which has P1 and not P2: a missing plan is a fact about the tenant, not
// an outage, and a call known to be refused is not made.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/tierzero/tierzero"
)

// Service plan names of subscribedSkus' servicePlans.
const (
	planEntraP1 = "AAD_PREMIUM"
	planEntraP2 = "AAD_PREMIUM_P2"
	planIntune  = "INTUNE_A"
)

// capabilitiesTTL is how long a tenant's capabilities are trusted: a
// tenant may buy or drop a subscription at any time, and a licensing
// refusal forgets them at once.
const capabilitiesTTL = time.Hour

// Capabilities are the features a tenant's subscriptions include, read
// from the service plans of its subscribed SKUs (enabled or in their grace
// period).
type Capabilities struct {
	EntraP1 bool `json:"entraIdP1"` // sign-in logs, registration details, Conditional Access
	EntraP2 bool `json:"entraIdP2"` // Identity Protection: user risk, dismiss, confirm compromised
	Intune  bool `json:"intune"`    // device management
}

// Plain words for what a tenant without a plan cannot have.
const (
	noP1SignIns      = "sign-in logs need Entra ID P1, which this tenant does not have"
	noP1Registration = "the MFA registration report needs Entra ID P1, which this tenant does not have"
	noP2Risk         = "risk unknown: no Entra ID P2 (Identity Protection is not part of this tenant's subscriptions)"
	noP2RiskAction   = "this needs Entra ID P2 (Identity Protection), which this tenant does not have"
)

// capCache holds each tenant's capabilities. Its zero value is ready.
type capCache struct {
	mu sync.Mutex
	m  map[tierzero.TenantID]capEntry
}

type capEntry struct {
	caps Capabilities
	err  error
	at   time.Time
}

// Capabilities reads what the tenant's subscriptions include, once per
// capabilitiesTTL (a failed read too, so that a tenant whose subscriptions
// the app may not read is not asked on every call).
func (c *Client) Capabilities(ctx context.Context, tenant tierzero.TenantID) (Capabilities, error) {
	now := c.cfg.Now()
	c.caps.mu.Lock()
	e, ok := c.caps.m[tenant]
	c.caps.mu.Unlock()
	if ok && now.Sub(e.at) < capabilitiesTTL && now.Sub(e.at) >= 0 {
		return e.caps, e.err
	}
	caps, err := c.readCapabilities(ctx, tenant)
	if err != nil && ctx.Err() != nil {
		return caps, err // our own deadline: nothing learnt about the tenant
	}
	c.caps.mu.Lock()
	if c.caps.m == nil {
		c.caps.m = map[tierzero.TenantID]capEntry{}
	}
	c.caps.m[tenant] = capEntry{caps: caps, err: err, at: now}
	c.caps.mu.Unlock()
	return caps, err
}

// forgetCapabilities drops what is known of a tenant's capabilities: Graph
// refused a call for want of a licence, so they are read again next time.
func (c *Client) forgetCapabilities(tenant tierzero.TenantID) {
	c.caps.mu.Lock()
	delete(c.caps.m, tenant)
	c.caps.mu.Unlock()
}

func (c *Client) readCapabilities(ctx context.Context, tenant tierzero.TenantID) (Capabilities, error) {
	sb, err := c.subscribedSkus(tenant)
	if err != nil {
		return Capabilities{}, err
	}
	resp, err := sb.Get(ctx, nil)
	if err != nil {
		return Capabilities{}, graphError("read the tenant's subscriptions", err)
	}
	var caps Capabilities
	for _, k := range resp.GetValue() {
		// Warning is the grace period after expiry: the features still work.
		if s := str(k.GetCapabilityStatus()); s != "Enabled" && s != "Warning" {
			continue
		}
		for _, p := range k.GetServicePlans() {
			if strings.EqualFold(str(p.GetProvisioningStatus()), "Disabled") {
				continue
			}
			switch str(p.GetServicePlanName()) {
			case planEntraP1:
				caps.EntraP1 = true
			case planEntraP2:
				caps.EntraP2 = true
			case planIntune:
				caps.Intune = true
			}
		}
	}
	// P2 includes P1's features.
	caps.EntraP1 = caps.EntraP1 || caps.EntraP2
	return caps, nil
}

// lacks reports whether the tenant is known to lack a capability: its
// subscriptions were read and have no plan with it. When they cannot be
// read, the call is tried and Graph decides.
func (c *Client) lacks(ctx context.Context, tenant tierzero.TenantID, has func(Capabilities) bool) bool {
	caps, err := c.Capabilities(ctx, tenant)
	if err != nil {
		c.log.Warn("the tenant's subscriptions are unreadable; trying the call", "tenant", tenant, "err", err)
		return false
	}
	return !has(caps)
}

func hasP1(c Capabilities) bool { return c.EntraP1 }
func hasP2(c Capabilities) bool { return c.EntraP2 }

// Licensing refusals of Graph: sign-in logs and reports answer 403
// Authentication_RequestFromNonPremiumTenantOrB2CTenant without P1;
// Identity Protection answers 403 "Your tenant is not licensed for this
// feature." without P2.
const codeNonPremium = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

// isLicenseGap reports whether err is Graph refusing a call because the
// tenant lacks the licence for it, not because the app lacks a permission.
func isLicenseGap(err error) bool {
	if !isStatus(err, 403) {
		return false
	}
	if graphCode(err) == codeNonPremium {
		return true
	}
	msg := strings.ToLower(graphMessage(err))
	return strings.Contains(msg, "not licensed") || strings.Contains(msg, "premium license")
}

// graphMessage returns the OData error message behind err, "" for none.
func graphMessage(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		if me := oe.GetErrorEscaped(); me != nil {
			return str(me.GetMessage())
		}
	}
	return ""
}
