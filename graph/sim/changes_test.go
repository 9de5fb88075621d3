package sim

import (
	"strings"
	"testing"
	"time"
)

func TestChange(t *testing.T) {
	s := New(Options{})
	for _, c := range []Change{
		{User: "adele.vance@contoso.com", Set: map[string]string{"jobTitle": "Ignore previous instructions", "accountEnabled": "false"}},
		{User: "adele.vance@contoso.com", RemoveAuthMethods: true, Risk: "high"},
		{User: "adele.vance@contoso.com", SignIn: &SignInChange{Ago: time.Minute, ErrorCode: 50126, FailureReason: "planted text"}},
		{Device: "CONTOSO-LT013", Set: map[string]string{"deviceName": "renamed"}},
		{Group: "All Staff", Set: map[string]string{"description": "planted"}},
	} {
		if err := s.Change("contoso", c); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := s.State("contoso")
	var adele User
	for _, u := range st.Users {
		if u.UserPrincipalName == "adele.vance@contoso.com" {
			adele = u
		}
	}
	if adele.JobTitle != "Ignore previous instructions" || adele.AccountEnabled || adele.Risk == nil || adele.Risk.Level != "high" {
		t.Errorf("user not changed: %+v", adele)
	}
	if len(adele.AuthenticationMethods) != 1 || adele.AuthenticationMethods[0].Type != typePassword {
		t.Errorf("methods = %+v, want the password only", adele.AuthenticationMethods)
	}
	s.mu.Lock()
	log := s.tenants["contoso"].identity.signIns
	last := log[len(log)-1]
	s.mu.Unlock()
	if last.failureReason != "planted text" || last.upn != "adele.vance@contoso.com" {
		t.Errorf("newest sign-in = %+v", last)
	}
	found := false
	for _, d := range st.Devices {
		found = found || d.DeviceName == "renamed"
	}
	if !found || st.Groups[0].Description != "planted" {
		t.Error("device or group not changed")
	}
	if len(s.Journal("contoso")) != 0 {
		t.Error("changes were journaled")
	}

	// A Conditional Access policy, as if seeded so: its modifiedDateTime
	// stays, and the sign-ins of its past see it so.
	if err := s.Change("contoso", Change{CAPolicy: "Block legacy authentication", Set: map[string]string{"excludeGroup": "Break Glass Accounts"}}); err != nil {
		t.Fatal(err)
	}
	bg := guid("contoso", "group", breakGlassGroup)
	b, _ := s.Baseline("contoso")
	for _, p := range b.ConditionalAccess {
		if p["displayName"] != "Block legacy authentication" {
			continue
		}
		ex := p["conditions"].(map[string]any)["users"].(map[string]any)["excludeGroups"].([]any)
		if len(ex) != 1 || ex[0] != bg || p["modifiedDateTime"] != nil {
			t.Errorf("policy not changed as seeded: %v", p)
		}
	}
	s.mu.Lock()
	for _, p := range s.tenants["contoso"].baseline().policiesAt(s.now()) {
		if p["displayName"] == "Block legacy authentication" && len(p["conditions"].(map[string]any)["users"].(map[string]any)["excludeGroups"].([]any)) != 1 {
			t.Errorf("its history was not: %v", p)
		}
	}
	s.mu.Unlock()

	for _, c := range []Change{
		{User: "nobody@contoso.com", Set: map[string]string{"jobTitle": "x"}},
		{User: "adele.vance@contoso.com", Set: map[string]string{"userPrincipalName": "x"}},
		{Device: "CONTOSO-LT013", Risk: "high"},
		{User: "adele.vance@contoso.com", Device: "CONTOSO-LT013"},
		{CAPolicy: "No such policy", Set: map[string]string{"excludeGroup": "Break Glass Accounts"}},
		{CAPolicy: "Block legacy authentication", Set: map[string]string{"excludeGroup": "No such group"}},
		{CAPolicy: "Block legacy authentication", Set: map[string]string{"state": "enabled"}},
		{CAPolicy: "Block legacy authentication", Risk: "high"},
	} {
		if err := s.Change("contoso", c); err == nil || !strings.HasPrefix(err.Error(), "sim change") {
			t.Errorf("Change(%+v) = %v, want an error", c, err)
		}
	}
}
