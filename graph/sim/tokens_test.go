package sim

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Delegated MailboxSettings.ReadWrite reaches only the signed-in user's own
// mailbox: another user's answers 403 ErrorAccessDenied, "Access is denied.
// Check credentials and try again."; the application permission reaches
// every mailbox
// (https://learn.microsoft.com/en-us/graph/api/user-update-mailboxsettings,
// https://learn.microsoft.com/en-us/graph/permissions-reference#mailboxsettingsreadwrite,
// reported in github.com/microsoftgraph/microsoft-graph-docs-contrib/issues/7656).
func TestDelegatedMailboxSettings(t *testing.T) {
	srv, sim := newTest(t)
	megan := bearer(DelegatedToken("contoso", "megan.bowen@contoso.com"))
	body := `{"automaticRepliesSetting": {"status": "alwaysEnabled", "internalReplyMessage": "Away until Monday"}}`
	for _, method := range []string{http.MethodGet, http.MethodPatch} {
		res := do(t, srv, request{method: method, path: "/v1.0/users/adele.vance@contoso.com/mailboxSettings", body: body, header: megan})
		if res.status != http.StatusForbidden || !strings.Contains(string(res.raw), `"ErrorAccessDenied"`) || !strings.Contains(string(res.raw), "Access is denied. Check credentials and try again.") {
			t.Fatalf("%s another's mailbox: %d %s", method, res.status, res.raw)
		}
	}
	if st, _ := sim.State("contoso"); slices.ContainsFunc(st.Users, func(u User) bool { return u.AutomaticReplies.InternalReplyMessage == "Away until Monday" }) {
		t.Fatal("the refused write was applied")
	}
	// her own, and anyone's with the application token
	if res := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/megan.bowen@contoso.com/mailboxSettings", body: body, header: megan}); res.status != http.StatusOK {
		t.Fatalf("own mailbox: %d %s", res.status, res.raw)
	}
	if res := do(t, srv, request{method: http.MethodPatch, path: "/v1.0/users/adele.vance@contoso.com/mailboxSettings", body: body, tenant: "contoso"}); res.status != http.StatusOK {
		t.Fatalf("application: %d %s", res.status, res.raw)
	}
	// a GDAP technician has no mailbox in the customer tenant
	if res := do(t, srv, request{path: "/v1.0/users/adele.vance@contoso.com/mailboxSettings", header: bearer(GDAPToken("msp", "tess@msp.example", "contoso"))}); res.status != http.StatusForbidden {
		t.Fatalf("gdap: %d %s", res.status, res.raw)
	}
	// a delegated token must name a user of its tenant
	if res := do(t, srv, request{path: "/v1.0/users", header: bearer(DelegatedToken("contoso", "nobody@contoso.com"))}); res.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", res.status)
	}
	if got := sim.Requests("contoso"); len(got) == 0 || got[0].Caller != "user:megan.bowen@contoso.com" {
		t.Fatalf("request log %+v", got)
	}
}
