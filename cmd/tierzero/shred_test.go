package main

import (
	"strings"
	"testing"
)

// TestShredClientDestroysItsDataInTheMSPTenant (issue 15, item 10): what a
// technician fetched from a client tenant, kept in the MSP tenant's file
// (the conversation's audit: proposals, replies, the escalation's
// summary), is unreadable after the client is shredded; the MSP's chain
// still verifies and the other client's own records are untouched.
func TestShredClientDestroysItsDataInTheMSPTenant(t *testing.T) {
	base := startGraphsim(t)
	config, policies := mspSetup(t, base)
	data := t.TempDir()
	hacked := "I think noah.bennett@fabrikam.com and alex.wilber@contoso.com were hacked\n"
	r := run(t, noEnv, hacked+"yes\nyes\nyes\n", "chat", "--config", config, "--policy", policies, "--data", data, "--as", "tess@msp.example")
	const fromContoso = "alex.wilber@contoso.com's recent sign-ins: all 3 succeeded"
	if r.code != 0 || !strings.Contains(r.stdout, fromContoso) {
		t.Fatalf("chat: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	export := func(tenant string) string {
		t.Helper()
		r := run(t, noEnv, "", "audit", "export", "--tenant", tenant, "--data", data)
		if r.code != 0 {
			t.Fatalf("export %s: %d %s", tenant, r.code, r.stderr)
		}
		return r.stdout
	}
	if msp := export("msp"); !strings.Contains(msp, fromContoso) || !strings.Contains(msp, `"user":"alex.wilber@contoso.com"`) {
		t.Fatalf("before the shred, the MSP's audit holds what was fetched from contoso:\n%s", msp)
	}
	fab := export("fabrikam")

	if r := run(t, noEnv, "", "tenant", "shred", "contoso", "--yes", "--data", data); r.code != 0 {
		t.Fatalf("shred: %d %s", r.code, r.stderr)
	}
	msp := export("msp")
	for _, gone := range []string{fromContoso, "all 3 succeeded", `"user":"alex.wilber@contoso.com"`} {
		if strings.Contains(msp, gone) {
			t.Errorf("after contoso was shredded, the MSP's audit still holds %q", gone)
		}
	}
	if !strings.Contains(msp, "since shredded") || !strings.Contains(msp, `"user":"noah.bennett@fabrikam.com"`) {
		t.Errorf("the MSP's audit lost more than contoso's data:\n%s", msp)
	}
	if got := export("fabrikam"); got != fab {
		t.Errorf("fabrikam's audit changed")
	}
	for _, tenant := range []string{"msp", "contoso", "fabrikam"} {
		if r := run(t, noEnv, "", "audit", "verify", "--tenant", tenant, "--data", data); r.code != 0 {
			t.Errorf("audit verify --tenant %s: %d %s%s", tenant, r.code, r.stdout, r.stderr)
		}
	}
	// The technician carries on.
	if r := run(t, noEnv, "I think noah.bennett@fabrikam.com was hacked\nyes\n", "chat", "--config", config, "--policy", policies, "--data", data, "--as", "tess@msp.example"); r.code != 0 || !strings.Contains(r.stdout, "noah.bennett@fabrikam.com") {
		t.Errorf("chat after the shred: %d %s%s", r.code, r.stdout, r.stderr)
	}
}
