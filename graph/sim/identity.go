package sim

import "time"

// This file: identity: authentication methods, Temporary Access Passes, sign-in logs, risky users, mailbox settings.

// identityState holds a tenant's identity data beyond the user objects.
type identityState struct{}

var identityRoutes = []route{}

func seedIdentity(t *tenant, now time.Time) {}
