package policy

import (
	"testing"

	"github.com/tierzero/tierzero"
)

var (
	adele = tierzero.Requester{Tenant: "contoso", UPN: "adele@contoso.com", ObjectID: "id-adele", Role: tierzero.RoleEmployee, Channel: tierzero.ChannelConsole}
	self  = &tierzero.UserFacts{ObjectID: "id-adele", UPN: "adele@contoso.com", Department: "Marketing"}
	alex  = &tierzero.UserFacts{ObjectID: "id-alex", UPN: "alex@contoso.com", Department: "Sales"}
	admin = &tierzero.UserFacts{ObjectID: "id-megan", UPN: "megan@contoso.com", Department: "IT", AdminRoles: []string{"Global Administrator"}}
	megan = tierzero.Requester{Tenant: "contoso", UPN: "megan@contoso.com", ObjectID: "id-megan", Role: tierzero.RoleEmployee}
)

func TestBaseline(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		want     tierzero.Effect
		wantRule string
	}{
		{"own password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: self}, tierzero.EffectAllow, "self-reset-password"},
		{"someone else's password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: alex}, tierzero.EffectDeny, ""},
		{"an admin's password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: admin}, tierzero.EffectDeny, "never-reset-admins"},
		{"admin's own password", Request{Tenant: "contoso", Action: "user.reset_password", Requester: megan, Target: admin}, tierzero.EffectDeny, "never-reset-admins"},
		{"own profile", Request{Tenant: "contoso", Action: "user.get", Requester: adele, Target: self}, tierzero.EffectAllow, "self-read-profile"},
		{"another's profile", Request{Tenant: "contoso", Action: "user.get", Requester: adele, Target: alex}, tierzero.EffectDeny, ""},
		{"no rule for action", Request{Tenant: "contoso", Action: "user.revoke_sessions", Requester: adele, Target: self}, tierzero.EffectDeny, ""},
		{"missing target fact", Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele}, tierzero.EffectDeny, "self-reset-password"},
		{"requester without object id", Request{Tenant: "contoso", Action: "user.reset_password", Requester: tierzero.Requester{UPN: "x@contoso.com"}, Target: self}, tierzero.EffectDeny, "self-reset-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Baseline().Evaluate(tt.req)
			if got.Effect != tt.want || got.Rule != tt.wantRule {
				t.Fatalf("Evaluate = %s by %q (%s), want %s by %q", got.Effect, got.Rule, got.Reason, tt.want, tt.wantRule)
			}
			if got.Reason == "" {
				t.Error("decision has no reason")
			}
			if got.Facts["action"] != tt.req.Action {
				t.Errorf("facts = %v, want the action recorded", got.Facts)
			}
		})
	}
}

func TestLayering(t *testing.T) {
	allow := func(id string) Rule { return Rule{ID: id, Action: "user.*", Effect: tierzero.EffectAllow} }
	approve := func(id string) Rule {
		return Rule{ID: id, Action: "user.reset_password", Effect: tierzero.EffectRequireApproval, Approvers: []string{"manager"}}
	}
	deny := func(id string) Rule {
		return Rule{ID: id, Action: "user.reset_password", Effect: tierzero.EffectDeny, Reason: "no"}
	}
	global := func(r ...Rule) File { return File{Name: "g", Scope: Scope{Global: true}, Rules: r} }
	tenant := func(r ...Rule) File { return File{Name: "t", Scope: Scope{Tenant: "contoso"}, Rules: r} }
	dept := func(d string, r ...Rule) File {
		return File{Name: "d", Scope: Scope{Tenant: "contoso", Department: d}, Rules: r}
	}
	req := Request{Tenant: "contoso", Action: "user.reset_password", Requester: adele, Target: alex}
	tests := []struct {
		name      string
		files     []File
		want      tierzero.Effect
		wantRule  string
		wantLayer string
	}{
		{"no files", nil, tierzero.EffectDeny, "", ""},
		{"global allow", []File{global(allow("a"))}, tierzero.EffectAllow, "a", LayerGlobal},
		{"global deny beats tenant allow", []File{global(deny("d")), tenant(allow("a"))}, tierzero.EffectDeny, "d", LayerGlobal},
		{"tenant approval overrides global allow", []File{global(allow("a")), tenant(approve("p"))}, tierzero.EffectRequireApproval, "p", LayerTenant},
		{"department allow overrides tenant approval", []File{tenant(approve("p")), dept("Sales", allow("a"))}, tierzero.EffectAllow, "a", LayerDepartment},
		{"other department does not apply", []File{tenant(approve("p")), dept("Finance", allow("a"))}, tierzero.EffectRequireApproval, "p", LayerTenant},
		{"strictest within a layer", []File{global(allow("a"), approve("p"))}, tierzero.EffectRequireApproval, "p", LayerGlobal},
		{"other tenant does not apply", []File{{Name: "f", Scope: Scope{Tenant: "fabrikam"}, Rules: []Rule{allow("a")}}}, tierzero.EffectDeny, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSet(tt.files...)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Evaluate(req)
			if got.Effect != tt.want || got.Rule != tt.wantRule || got.Layer != tt.wantLayer {
				t.Fatalf("Evaluate = %s by %q at %q, want %s by %q at %q", got.Effect, got.Rule, got.Layer, tt.want, tt.wantRule, tt.wantLayer)
			}
			if got.Effect == tierzero.EffectRequireApproval && len(got.Approvers) == 0 {
				t.Error("approval decision names no approvers")
			}
		})
	}
}

func TestNewSetRejects(t *testing.T) {
	tests := []struct {
		name string
		f    File
	}{
		{"no scope", File{Name: "x", Rules: []Rule{{ID: "a", Action: "user.get", Effect: tierzero.EffectAllow}}}},
		{"global with tenant", File{Name: "x", Scope: Scope{Global: true, Tenant: "contoso"}}},
		{"rule without id", File{Name: "x", Scope: Scope{Global: true}, Rules: []Rule{{Action: "user.get", Effect: tierzero.EffectAllow}}}},
		{"unknown effect", File{Name: "x", Scope: Scope{Global: true}, Rules: []Rule{{ID: "a", Action: "user.get", Effect: "maybe"}}}},
		{"bad glob", File{Name: "x", Scope: Scope{Global: true}, Rules: []Rule{{ID: "a", Action: "user.[", Effect: tierzero.EffectAllow}}}},
		{"duplicate ids", File{Name: "x", Scope: Scope{Global: true}, Rules: []Rule{
			{ID: "a", Action: "user.get", Effect: tierzero.EffectAllow}, {ID: "a", Action: "user.get", Effect: tierzero.EffectDeny}}}},
		{"unknown target", File{Name: "x", Scope: Scope{Global: true}, Rules: []Rule{{ID: "a", Action: "user.get", Effect: tierzero.EffectAllow, When: Conditions{Target: "everyone"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSet(tt.f); err == nil {
				t.Fatal("NewSet accepted an invalid file")
			}
		})
	}
}
