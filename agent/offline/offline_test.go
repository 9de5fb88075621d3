package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierzero/tierzero"
	"github.com/tierzero/tierzero/agent"
	"github.com/tierzero/tierzero/agent/agenttest"
)

const me = "adele.vance@contoso.com"

var (
	employee = tierzero.Requester{Tenant: "contoso", UPN: me, ObjectID: "id-adele", Role: tierzero.RoleEmployee}
	tech     = tierzero.Requester{Tenant: "contoso", UPN: "tom.tech@msp.example", Role: tierzero.RoleMSPTechnician}
	now      = time.Date(2026, 6, 20, 9, 30, 0, 0, time.UTC)
)

// allTools offers every catalog tool and the agent's pseudo-tools.
func allTools() []agent.Tool {
	var ts []agent.Tool
	for _, s := range agenttest.Catalog() {
		ts = append(ts, agent.Tool{Name: agent.ToolName(s.Action)})
	}
	return append(ts, agent.Tool{Name: agent.DeclineTool}, agent.Tool{Name: agent.AskTool}, agent.Tool{Name: agent.EscalateTool})
}

// ending reports whether calls hold a pseudo-tool that ends the request.
func ending(calls []tierzero.ToolCall) bool {
	for _, c := range calls {
		switch c.Action {
		case agent.EscalateTool, agent.DeclineTool, agent.AskTool:
			return true
		}
	}
	return false
}

// said is what the user reads of a response: its text, or the reason or
// question of a decline or ask_user call without text (as the agent shows
// it).
func said(r agent.Response) string {
	if r.Text != "" {
		return r.Text
	}
	for _, c := range r.ToolCalls {
		var v struct{ Reason, Question string }
		json.Unmarshal(c.Args, &v)
		switch c.Action {
		case agent.DeclineTool:
			return v.Reason
		case agent.AskTool:
			return v.Question
		}
	}
	return ""
}

// Canned results, as the agent shows them to a model (the inner JSON).
const (
	signinsWrongPassword = `{"ok":true,"output":{"user":"adele.vance@contoso.com","userExists":true,"signIns":[{"time":"2026-06-20T08:55:00Z","errorCode":50126,"meaning":"wrong password (invalid user name or password)","country":"US"},{"time":"2026-06-20T08:54:00Z","errorCode":50126,"meaning":"wrong password (invalid user name or password)","country":"US"},{"time":"2026-06-19T17:00:00Z","errorCode":0,"meaning":"success","country":"US"}]}}`
	signinsLockout       = `{"ok":true,"output":{"user":"adele.vance@contoso.com","userExists":true,"signIns":[{"time":"2026-06-20T08:56:00Z","errorCode":50053,"meaning":"account locked by smart lockout after too many wrong passwords (or sign-ins from a malicious IP); it unlocks by itself after the lockout period"},{"time":"2026-06-20T08:55:00Z","errorCode":50126,"meaning":"wrong password (invalid user name or password)"}]}}`
	signinsDisabled      = `{"ok":true,"output":{"user":"adele.vance@contoso.com","userExists":true,"signIns":[{"time":"2026-06-20T08:56:00Z","errorCode":50057,"meaning":"the account is disabled"}]}}`
	signinsForeign       = `{"ok":true,"output":{"user":"adele.vance@contoso.com","userExists":true,"signIns":[{"time":"2026-06-20T03:12:00Z","errorCode":0,"meaning":"success","country":"RU","riskDuringSignIn":"high"},{"time":"2026-06-19T17:00:00Z","errorCode":0,"meaning":"success","country":"US"}]}}`
	resetOK              = `{"ok":true,"output":{"user":"adele.vance@contoso.com","passwordReset":true},"policy":{"effect":"allow","rule":"self-reset-password"},"secret":"delivered privately to the requester; you cannot see it"}`
	resetDenied          = `{"ok":false,"error":{"code":"denied","message":"denied by policy: accounts that hold an admin role are not reset through the bot; your MSP handles them"},"policy":{"effect":"deny","rule":"never-reset-admins"}}`
	methods              = `{"ok":true,"output":{"user":"adele.vance@contoso.com","methods":[{"type":"password"},{"type":"microsoftAuthenticator","deviceName":"iPhone 12"},{"type":"phone","phoneNumber":"+1 425 *** **45"}]}}`
	tapApproval          = `{"ok":false,"error":{"code":"denied","message":"user.issue_tap needs approval (rule self-issue-tap requires approval); nothing was changed"},"policy":{"effect":"require_approval","rule":"self-issue-tap","reason":"rule self-issue-tap requires approval"}}`
	tapPending           = `{"ok":false,"error":{"code":"pending_approval","message":"sent for approval to the manager (miriam.graham@contoso.com); nothing changes until it is approved"},"output":{"status":"pending_approval","approval":"a1b2","approvers":["manager"],"approver_text":"the manager (miriam.graham@contoso.com)"},"policy":{"effect":"require_approval","rule":"self-issue-tap","reason":"rule self-issue-tap requires approval"}}`
	tapNoApprovals       = `{"ok":false,"error":{"code":"denied","message":"user.issue_tap needs approval (x), and approvals are not enabled here; nothing was changed"},"policy":{"effect":"require_approval","rule":"self-issue-tap","reason":"the manager approves"}}`
	tapOK                = `{"ok":true,"output":{"user":"adele.vance@contoso.com","temporaryAccessPassIssued":true},"secret":"delivered privately to the requester; you cannot see it"}`
	groupsFound          = `{"ok":true,"output":{"prefix":"Marketing","groups":[{"id":"g-mkt","displayName":"Marketing Team","kind":"microsoft365","membershipType":"assigned"},{"id":"g-mkt-leads","displayName":"Marketing Leads","kind":"security","membershipType":"assigned"}]}}`
	groupsTwo            = `{"ok":true,"output":{"prefix":"Project","groups":[{"id":"g-1","displayName":"Project Falcon","kind":"security","membershipType":"assigned"},{"id":"g-2","displayName":"Project Eagle","kind":"security","membershipType":"assigned"}]}}`
	groupsDynamic        = `{"ok":true,"output":{"prefix":"All Staff","groups":[{"id":"g-all","displayName":"All Staff","kind":"microsoft365","membershipType":"dynamic"}]}}`
	groupsNone           = `{"ok":true,"output":{"prefix":"Nope","groups":[]}}`
	addOK                = `{"ok":true,"output":{"group":"g-mkt","groupDisplayName":"Marketing Team","user":"adele.vance@contoso.com","added":true}}`
	addAlready           = `{"ok":true,"output":{"group":"g-mkt","groupDisplayName":"Marketing Team","user":"adele.vance@contoso.com","alreadyMember":true}}`
	addDenied            = `{"ok":false,"error":{"code":"denied","message":"denied by policy: membership of administrative groups is not changed through the bot"},"policy":{"effect":"deny"}}`
	skus                 = `{"ok":true,"output":{"skus":[{"skuPartNumber":"ENTERPRISEPACK","skuId":"6fd2","free":3},{"skuPartNumber":"SPE_E3","skuId":"05e9","free":0},{"skuPartNumber":"EMS","skuId":"efcc","free":5},{"skuPartNumber":"POWER_BI_PRO","skuId":"f8a1","free":2}]}}`
	assignOK             = `{"ok":true,"output":{"user":"adele.vance@contoso.com","skuPartNumber":"POWER_BI_PRO","assigned":true,"freeUnits":1}}`
	devicesOneBad        = `{"ok":true,"output":{"user":"adele.vance@contoso.com","devices":[{"id":"d-phone","deviceName":"Adele's iPhone","operatingSystem":"iOS","complianceState":"compliant"},{"id":"d-lt","deviceName":"CONTOSO-LT013","operatingSystem":"Windows","complianceState":"noncompliant"}]}}`
	devicesAllGood       = `{"ok":true,"output":{"user":"adele.vance@contoso.com","devices":[{"id":"d-lt","deviceName":"CONTOSO-LT013","operatingSystem":"Windows","complianceState":"compliant"}]}}`
	complianceSync       = `{"ok":true,"output":{"device":{"id":"d-lt","deviceName":"CONTOSO-LT013"},"complianceState":"noncompliant","policies":[{"policy":"Windows baseline","state":"nonCompliant","failing":[{"requirement":"Antivirus signatures up to date","setting":"x","state":"nonCompliant","syncMayFix":true}]}]}}`
	complianceBitLocker  = `{"ok":true,"output":{"device":{"id":"d-lt","deviceName":"CONTOSO-LT013"},"complianceState":"noncompliant","policies":[{"policy":"Windows baseline","state":"nonCompliant","failing":[{"requirement":"BitLocker encryption required","setting":"x","state":"nonCompliant","currentValue":"off"}]}]}}`
	syncOK               = `{"ok":true,"output":{"device":{"id":"d-lt","deviceName":"CONTOSO-LT013"},"action":"syncDevice","requested":true}}`
	riskHigh             = `{"ok":true,"output":{"user":"adele.vance@contoso.com","flagged":true,"riskLevel":"high","riskState":"atRisk"}}`
	revokeOK             = `{"ok":true,"output":{"user":"adele.vance@contoso.com","revoked":true}}`
	autoReplyOK          = `{"ok":true,"output":{"user":"adele.vance@contoso.com","status":"scheduled"}}`
	escalated            = `{"ok":true,"output":{"escalated":true}}`
	profileUS            = `{"ok":true,"output":{"id":"id-adele","userPrincipalName":"adele.vance@contoso.com","accountEnabled":true,"usageLocation":"US","licenses":[]}}`
)

// converse runs the model as the agent would: it answers each tool call
// with results[name] and stops at the first text answer or escalation. It
// returns the calls made (name and arguments) and the final response.
func converse(t *testing.T, req tierzero.Requester, turns []tierzero.Turn, results map[string]string) ([]tierzero.ToolCall, agent.Response) {
	t.Helper()
	rounds, final := session{tools: allTools()}.run(t, req, turns, results)
	var made []tierzero.ToolCall
	for _, r := range rounds {
		made = append(made, r...)
	}
	return made, final
}

// session is how the agent serves the model in a test.
type session struct {
	tools []agent.Tool
	// confirm makes every call wait for the requester's "yes", as calls
	// into client tenants do: the plan (settled by the yes), the yes, then
	// the calls.
	confirm bool
}

// run runs the model as the agent would: it answers each tool call with
// results[name+" "+user], else results[name], and stops at the first text
// answer, escalation, decline or question. It returns the calls of each response and the
// final response. It checks the tenant argument of every call the way the
// agent does: present, and one of the enum, exactly when the tool has one.
func (ss session) run(t *testing.T, req tierzero.Requester, turns []tierzero.Turn, results map[string]string) ([][]tierzero.ToolCall, agent.Response) {
	t.Helper()
	m := Model{Now: func() time.Time { return now }}
	enums := map[string][]string{}
	for _, tool := range ss.tools {
		var v struct {
			Properties map[string]struct{ Enum []string } `json:"properties"`
		}
		json.Unmarshal(tool.Parameters, &v)
		if p, ok := v.Properties["tenant"]; ok {
			enums[tool.Name] = p.Enum
		}
	}
	var rounds [][]tierzero.ToolCall
	for range 10 {
		resp, err := m.Complete(context.Background(), agent.Request{Tenant: req.Tenant, Requester: req, Turns: turns, Tools: ss.tools})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.ToolCalls) == 0 {
			return rounds, resp
		}
		rounds = append(rounds, resp.ToolCalls)
		if ending(resp.ToolCalls) {
			return rounds, resp
		}
		if ss.confirm {
			turns = append(turns,
				tierzero.Turn{Role: tierzero.TurnAssistant, Content: "Here is what I'm about to do:\n- " + names(resp.ToolCalls) + "\nReply \"yes\" to go ahead; anything else cancels it.", Settled: true},
				tierzero.Turn{Role: tierzero.TurnUser, Content: "yes"})
			turns = append(turns, tierzero.Turn{Role: tierzero.TurnAssistant, ToolCalls: resp.ToolCalls})
		} else {
			turns = append(turns, tierzero.Turn{Role: tierzero.TurnAssistant, Content: resp.Text, ToolCalls: resp.ToolCalls})
		}
		for _, c := range resp.ToolCalls {
			var args struct{ User, Tenant *string }
			json.Unmarshal(c.Args, &args)
			enum, scoped := enums[c.Action]
			switch {
			case scoped && (args.Tenant == nil || !slices.Contains(enum, *args.Tenant)):
				t.Errorf("%s %s: tenant must be one of %v", c.Action, c.Args, enum)
			case !scoped && args.Tenant != nil:
				t.Errorf("%s %s: the tool takes no tenant", c.Action, c.Args)
			}
			user := ""
			if args.User != nil {
				user = *args.User
			}
			res, ok := results[c.Action+" "+user]
			if !ok {
				res, ok = results[c.Action]
			}
			if !ok {
				t.Fatalf("no canned result for %s %s", c.Action, c.Args)
			}
			turns = append(turns, tierzero.Turn{Role: tierzero.TurnTool, ToolCallID: c.ID, Content: `<tool_result name="` + c.Action + `">` + res + `</tool_result>`})
		}
	}
	t.Fatal("the model did not finish in 10 steps")
	return nil, agent.Response{}
}

func names(calls []tierzero.ToolCall) string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Action)
	}
	return strings.Join(out, ",")
}

func argsOf(calls []tierzero.ToolCall, name string) string {
	for _, c := range calls {
		if c.Action == name {
			return string(c.Args)
		}
	}
	return ""
}

func userSays(text string) []tierzero.Turn {
	return []tierzero.Turn{{Role: tierzero.TurnUser, Content: text}}
}

func TestFlows(t *testing.T) {
	tests := []struct {
		name    string
		req     tierzero.Requester
		text    string
		results map[string]string
		calls   string            // the tools called, in order
		args    map[string]string // arguments of some calls
		want    []string          // in the final text
	}{
		// Forgot password.
		{"forgot password", employee, "I forgot my password",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password", map[string]string{"user_reset_password": `{"user":"adele.vance@contoso.com"}`, "user_signins": `{"top":10,"user":"adele.vance@contoso.com"}`},
			[]string{"2 of the last 3 failed: wrong password (2)", "delivered to you privately"}},
		{"forgot password, policy refuses", employee, "i cant remember my password!!",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetDenied},
			"user_signins,user_reset_password", nil, []string{"I can't do that: accounts that hold an admin role", "Nothing was changed"}},
		{"another user's password is not the employee's to ask for", employee, "Please reset the password of alex.wilber@contoso.com",
			nil, "decline", nil, []string{"only reset passwords for your own account", "alex.wilber@contoso.com can ask me"}},
		{"a technician investigates another user", tech, "reset the password of alex.wilber@contoso.com",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password", map[string]string{"user_signins": `{"top":10,"user":"alex.wilber@contoso.com"}`}, []string{"alex.wilber@contoso.com's recent sign-ins"}},
		{"someone without an address", employee, "Reset the password for Alex Wilber", nil, "decline", nil, []string{"Alex Wilber can ask me"}},
		{"a technician names someone without an address", tech, "Reset the password for Alex Wilber", nil, "ask_user", nil, []string{"email address"}},
		{"a disabled account escalates", employee, "My password expired",
			map[string]string{"user_signins": signinsDisabled},
			"user_signins,escalate", nil, []string{"disabled"}},

		// Locked out.
		{"locked out by smart lockout", employee, "I'm locked out of my account",
			map[string]string{"user_signins": signinsLockout},
			"user_signins", nil, []string{"smart lockout", "unlocks by itself", "reset my password"}},
		{"locked out and forgot", employee, "I'm locked out and I forgot my password",
			map[string]string{"user_signins": signinsLockout, "user_reset_password": resetOK},
			"user_signins,user_reset_password", nil, []string{"delivered to you privately"}},
		{"cannot sign in, no lockout", employee, "I can't sign in to Outlook",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password", nil, []string{"wrong password", "delivered to you privately"}},

		// New phone / lost MFA.
		{"new phone: approval needed", employee, "I got a new phone and the Authenticator app is gone",
			map[string]string{"user_auth_methods": methods, "user_issue_tap": tapApproval},
			"user_auth_methods,user_issue_tap", map[string]string{"user_issue_tap": `{"user":"adele.vance@contoso.com"}`},
			[]string{`microsoftAuthenticator on "iPhone 12"`, "phone +1 425 *** **45", "needs approval", "sent it for approval"}},
		{"new phone: sent to the manager", employee, "I got a new phone and lost my authenticator",
			map[string]string{"user_auth_methods": methods, "user_issue_tap": tapPending},
			"user_auth_methods,user_issue_tap", nil, []string{"sent it for approval to the manager (miriam.graham@contoso.com)", "nothing changes until it is approved"}},
		{"lost phone: approvals not available", employee, "I lost my phone, can't do MFA",
			map[string]string{"user_auth_methods": methods, "user_issue_tap": tapNoApprovals},
			"user_auth_methods,user_issue_tap", nil, []string{"needs approval (the manager approves)", "can't request approvals here yet"}},
		{"new phone: pass issued", employee, "new phone, need to set up 2FA again",
			map[string]string{"user_auth_methods": methods, "user_issue_tap": tapOK},
			"user_auth_methods,user_issue_tap", nil, []string{"delivered it to you privately", "aka.ms/mysecurityinfo"}},

		// Groups.
		{"add me to a group", employee, "Please add me to the Marketing Team group",
			map[string]string{"group_find": groupsFound, "group_add_member": addOK},
			"group_find,group_add_member", map[string]string{"group_find": `{"prefix":"Marketing Team"}`, "group_add_member": `{"group":"g-mkt","user":"adele.vance@contoso.com"}`},
			[]string{`member of "Marketing Team"`}},
		{"already a member", employee, `add me to "Marketing Team"`,
			map[string]string{"group_find": groupsFound, "group_add_member": addAlready},
			"group_find,group_add_member", nil, []string{"already a member"}},
		{"an admin group is refused by policy", employee, "add me to the Marketing Team group",
			map[string]string{"group_find": groupsFound, "group_add_member": addDenied},
			"group_find,group_add_member", nil, []string{"I can't do that: membership of administrative groups"}},
		{"ambiguous group", employee, "add me to the Project group",
			map[string]string{"group_find": groupsTwo},
			"group_find,ask_user", nil, []string{"Which group do you mean?", `"Project Falcon"`, `"Project Eagle"`}},
		{"dynamic group", employee, "I need access to the All Staff group",
			map[string]string{"group_find": groupsDynamic},
			"group_find,decline", nil, []string{"automatic"}},
		{"no such group", employee, "add me to the Nope group",
			map[string]string{"group_find": groupsNone}, "group_find", nil, []string{"couldn't find a group"}},
		{"policy refuses the lookup: escalate", employee, "add me to the Sales Team group",
			map[string]string{"group_find": `{"ok":false,"error":{"code":"denied","message":"denied by policy: no policy allows group.find here"},"policy":{"effect":"deny"}}`},
			"group_find,escalate", nil, []string{"couldn't look up groups (no policy allows group.find here)"}},
		// Microsoft Graph's own words are for IT staff: an employee reads
		// plain words.
		{"the lookup fails: escalate in plain words", employee, "add me to the Sales Team group",
			map[string]string{"group_find": `{"ok":false,"error":{"code":"unavailable","message":"graph: 503 ServiceUnavailable (request-id 7f3a)"}}`},
			"group_find,escalate", nil, []string{"couldn't look up groups (Microsoft 365 could not be reached or did not confirm it"}},
		{"someone else", employee, "add alex.wilber@contoso.com to the Marketing Team group", nil, "decline", nil, []string{"only add people to groups for your own account"}},

		// Licenses.
		{"license", employee, "I need a Power BI Pro license",
			map[string]string{"license_available": skus, "license_assign": assignOK},
			"license_available,license_assign", map[string]string{"license_assign": `{"sku":"POWER_BI_PRO","user":"adele.vance@contoso.com"}`},
			[]string{"you now have Power BI Pro (POWER_BI_PRO)"}},
		{"license by part number", employee, "can you assign me the license for ENTERPRISEPACK",
			map[string]string{"license_available": skus, "license_assign": assignOK},
			"license_available,license_assign", map[string]string{"license_assign": `{"sku":"ENTERPRISEPACK","user":"adele.vance@contoso.com"}`}, nil},
		{"no free unit escalates", employee, "I need a Microsoft 365 E3 license",
			map[string]string{"license_available": skus},
			"license_available,escalate", nil, []string{"Every Microsoft 365 E3 (SPE_E3) license is in use"}},
		{"ambiguous license", employee, "I need an E3 license",
			map[string]string{"license_available": skus},
			"license_available,ask_user", nil, []string{"Which license do you need?", "Office 365 E3 (ENTERPRISEPACK)", "Microsoft 365 E3 (SPE_E3)"}},
		{"unknown license", employee, "I need a Visio license",
			map[string]string{"license_available": skus},
			"license_available,ask_user", nil, []string{`couldn't find a license matching "Visio"`, "Power BI Pro (POWER_BI_PRO)"}},

		// Device compliance.
		{"not compliant, a sync fixes it", employee, "My laptop says it's not compliant",
			map[string]string{"user_devices": devicesOneBad, "device_compliance": complianceSync, "device_sync": syncOK},
			"user_devices,device_compliance,device_sync", map[string]string{"device_compliance": `{"device":"d-lt"}`, "device_sync": `{"device":"d-lt"}`},
			[]string{`"CONTOSO-LT013" is not compliant: Antivirus signatures up to date`, "check in"}},
		{"not compliant, needs the user", employee, "why is my laptop non-compliant?",
			map[string]string{"user_devices": devicesOneBad, "device_compliance": complianceBitLocker},
			"user_devices,device_compliance", nil, []string{"BitLocker encryption required (currently off)", "These need a change on the device itself (turn on disk encryption (BitLocker on Windows, FileVault on a Mac))"}},
		{"everything compliant", employee, "Company Portal says my device isn't compliant",
			map[string]string{"user_devices": devicesAllGood}, "user_devices", nil, []string{"All your devices show as compliant"}},

		// Hacked.
		{"hacked", employee, "I think I was hacked, there are emails I didn't send",
			map[string]string{"user_signins": signinsForeign, "user_risk": riskHigh, "user_revoke_sessions": revokeOK},
			"user_signins,user_risk,user_revoke_sessions,escalate", map[string]string{"user_revoke_sessions": `{"user":"adele.vance@contoso.com"}`},
			[]string{"RU", "risk as high", "signed you out of every session", "Change your password"}},

		// Out of office.
		{"out of office with dates", employee, `Set my out of office from 1 July to 14 July, message: "I'm on vacation. For urgent matters contact alex.wilber@contoso.com."`,
			map[string]string{"user_get": profileUS, "user_set_auto_reply": autoReplyOK},
			"user_get,user_set_auto_reply", map[string]string{"user_set_auto_reply": `{"end":"2026-07-14T23:59:00Z","externalMessage":"I'm on vacation. For urgent matters contact alex.wilber@contoso.com.","internalMessage":"I'm on vacation. For urgent matters contact alex.wilber@contoso.com.","start":"2026-07-01T00:00:00Z","status":"scheduled","user":"adele.vance@contoso.com"}`},
			[]string{"on from Wed 1 July 2026 (UTC) until the end of Tue 14 July 2026 (UTC)"}},
		{"out of office until, ISO", employee, "turn on my automatic replies until 2026-06-26: Away at a conference",
			map[string]string{"user_get": profileUS, "user_set_auto_reply": autoReplyOK},
			"user_get,user_set_auto_reply", map[string]string{"user_set_auto_reply": `{"end":"2026-06-26T23:59:00Z","externalMessage":"Away at a conference","internalMessage":"Away at a conference","start":"2026-06-20T09:30:00Z","status":"scheduled","user":"adele.vance@contoso.com"}`}, nil},
		{"out of office, no dates", employee, `set my OOO saying "Out today, back tomorrow"`,
			map[string]string{"user_set_auto_reply": autoReplyOK},
			"user_set_auto_reply", map[string]string{"user_set_auto_reply": `{"externalMessage":"Out today, back tomorrow","internalMessage":"Out today, back tomorrow","status":"alwaysEnabled","user":"adele.vance@contoso.com"}`}, nil},
		{"out of office off", employee, "I'm back, please turn off my out of office",
			map[string]string{"user_set_auto_reply": autoReplyOK},
			"user_set_auto_reply", map[string]string{"user_set_auto_reply": `{"status":"disabled","user":"adele.vance@contoso.com"}`}, nil},
		{"out of office without a message asks", employee, "Please set my out-of-office", nil, "ask_user", nil, []string{"What should your automatic reply say?"}},

		// Everything else.
		{"greeting", employee, "hello", nil, "", nil, []string{"forgot my password"}},
		{"thanks", employee, "thanks!", nil, "", nil, []string{"welcome"}},
		{"anything else escalates", employee, "The printer on floor 3 is jammed", nil, "escalate", nil, []string{"without a language model"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			made, final := converse(t, tt.req, userSays(tt.text), tt.results)
			if got := names(made); got != tt.calls {
				t.Fatalf("calls = %s, want %s", got, tt.calls)
			}
			for name, want := range tt.args {
				if got := argsOf(made, name); got != want {
					t.Errorf("%s args = %s, want %s", name, got, want)
				}
			}
			for _, want := range tt.want {
				if !strings.Contains(said(final), want) {
					t.Errorf("text = %q, want it to contain %q", said(final), want)
				}
			}
		})
	}
}

func TestFollowUps(t *testing.T) {
	t.Run("out-of-office message in the next turn", func(t *testing.T) {
		_, ask := converse(t, employee, userSays("set my out of office until 3 July"), nil)
		turns := append(userSays("set my out of office until 3 July"),
			tierzero.Turn{Role: tierzero.TurnAssistant, Content: said(ask)},
			tierzero.Turn{Role: tierzero.TurnUser, Content: "Away until July 3rd, ask Alex for anything urgent."})
		made, final := converse(t, employee, turns, map[string]string{"user_get": profileUS, "user_set_auto_reply": autoReplyOK})
		want := `{"end":"2026-07-03T23:59:00Z","externalMessage":"Away until July 3rd, ask Alex for anything urgent.","internalMessage":"Away until July 3rd, ask Alex for anything urgent.","start":"2026-06-20T09:30:00Z","status":"scheduled","user":"adele.vance@contoso.com"}`
		if got := argsOf(made, "user_set_auto_reply"); got != want {
			t.Fatalf("args = %s\nwant   %s", got, want)
		}
		if !strings.Contains(final.Text, "Done") {
			t.Fatalf("text = %q", final.Text)
		}
	})
	t.Run("group named in the next turn", func(t *testing.T) {
		turns := append(userSays("add me to the Project group"),
			tierzero.Turn{Role: tierzero.TurnAssistant, Content: `Which group do you mean? I found: "Project Falcon", "Project Eagle".`},
			tierzero.Turn{Role: tierzero.TurnUser, Content: "Project Falcon"})
		made, _ := converse(t, employee, turns, map[string]string{"group_find": groupsTwo, "group_add_member": addOK})
		if got := argsOf(made, "group_add_member"); got != `{"group":"g-1","user":"adele.vance@contoso.com"}` {
			t.Fatalf("calls %s, add args %s", names(made), got)
		}
	})
	t.Run("a confirmed plan continues the request", func(t *testing.T) {
		// What a technician's conversation looks like after "yes": the
		// reads before the plan, the plan (settled by the yes), the yes,
		// the confirmed call.
		turns := []tierzero.Turn{
			{Role: tierzero.TurnUser, Content: "reset the password of alex.wilber@contoso.com"},
			{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "1", Action: "user_signins", Args: json.RawMessage(`{"user":"alex.wilber@contoso.com","top":10}`)}}},
			{Role: tierzero.TurnTool, ToolCallID: "1", Content: `<tool_result name="user_signins">` + signinsWrongPassword + `</tool_result>`},
			{Role: tierzero.TurnAssistant, Content: "Here is what I'm about to do:\n- reset the password of alex.wilber@contoso.com\nReply \"yes\" to go ahead; anything else cancels it.", Settled: true},
			{Role: tierzero.TurnUser, Content: "yes"},
			{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "2", Action: "user_reset_password", Args: json.RawMessage(`{"user":"alex.wilber@contoso.com"}`)}}},
			{Role: tierzero.TurnTool, ToolCallID: "2", Content: `<tool_result name="user_reset_password">` + resetOK + `</tool_result>`},
		}
		made, final := converse(t, tech, turns, nil)
		if len(made) != 0 || !strings.Contains(final.Text, "Done: I reset the password of alex.wilber@contoso.com") {
			t.Fatalf("calls %s, text %q", names(made), final.Text)
		}
	})
}

func TestToolsNotOffered(t *testing.T) {
	m := Model{}
	for _, text := range []string{"I forgot my password", "I need a Power BI Pro license", "my laptop is not compliant", "add me to the Sales Team group"} {
		got, _ := m.Complete(context.Background(), agent.Request{Requester: employee, Turns: userSays(text)})
		if len(got.ToolCalls) != 0 || !strings.Contains(got.Text, "contact your IT support") {
			t.Errorf("%q: got %+v, want no call and a pointer to IT", text, got)
		}
	}
}

func TestUnreadableResult(t *testing.T) {
	turns := append(userSays("I forgot my password"),
		tierzero.Turn{Role: tierzero.TurnAssistant, ToolCalls: []tierzero.ToolCall{{ID: "1", Action: "user_reset_password", Args: json.RawMessage(`{"user":"` + me + `"}`)}}},
		tierzero.Turn{Role: tierzero.TurnTool, ToolCallID: "1", Content: "not json"})
	got, _ := Model{}.Complete(context.Background(), agent.Request{Requester: employee, Turns: turns, Tools: []agent.Tool{{Name: "user_reset_password"}}})
	if len(got.ToolCalls) != 0 || !strings.Contains(got.Text, "could not read") {
		t.Fatalf("got %+v", got)
	}
}

// classify says what text asks for first; intentNone when nothing.
func classify(text string) intent {
	if its := intentsOf(canon(text)); len(its) > 0 {
		return its[0]
	}
	return intentNone
}

func TestClassify(t *testing.T) {
	tests := []struct {
		text string
		want intent
	}{
		{"I forgot my password for outlook on my phone", intentPassword},
		{"I think someone logged in to my account", intentHacked},
		{"I got phished, I entered my password on a weird site", intentHacked},
		{"my account is locked", intentLocked},
		{"set up my new iPhone for MFA", intentMFA},
		{"I need the Visio license", intentLicense},
		{"Can you add me to the VPN Users group?", intentGroup},
		{"my iPhone is not compliant", intentCompliance},
		{"Set my automatic replies", intentAutoReply},
		{"Hi!", intentGreeting},
		{"order me a new monitor", intentNone},
	}
	for _, tt := range tests {
		if got := classify(tt.text); got != tt.want {
			t.Errorf("classify(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestDates(t *testing.T) {
	tests := []struct {
		text       string
		start, end string // "" when no period
	}{
		{"from 1 July to 14 July", "2026-07-01T00:00:00Z", "2026-07-14T23:59:00Z"},
		{"July 1st - July 14th, 2026", "2026-07-01T00:00:00Z", "2026-07-14T23:59:00Z"},
		{"until 2026-06-26", "2026-06-20T09:30:00Z", "2026-06-26T23:59:00Z"},
		{"I'm back on 29 June", "2026-06-20T09:30:00Z", "2026-06-29T00:00:00Z"},
		{"on 3 March", "2027-03-03T00:00:00Z", "2027-03-03T23:59:00Z"}, // the next 3 March
		{"off on 2026-06-20", "2026-06-20T09:30:00Z", "2026-06-20T23:59:00Z"},
		{"31 June", "", ""},
		{"no dates here, may I?", "", ""},
	}
	for _, tt := range tests {
		start, end, ok, _ := absence(tt.text, now, time.UTC)
		got := fmt.Sprintf("%v %s %s", ok, start.Format(rfc3339), end.Format(rfc3339))
		want := fmt.Sprintf("%v %s %s", tt.start != "", tt.start, tt.end)
		if tt.start == "" {
			got, want = fmt.Sprint(ok), "false"
		}
		if got != want {
			t.Errorf("absence(%q) = %s, want %s", tt.text, got, want)
		}
	}
}

// TestThroughTheAgent runs the offline model inside the real agent loop,
// with the fake policy runner.
func TestThroughTheAgent(t *testing.T) {
	run := func(t *testing.T, req tierzero.Requester, texts ...string) (*agenttest.Runner, *agenttest.Escalator, tierzero.Reply) {
		r, st, esc := &agenttest.Runner{}, &agenttest.Store{}, &agenttest.Escalator{}
		a, err := agent.New(agent.Config{Model: Model{Now: func() time.Time { return now }}, Runner: r, Tools: agenttest.Catalog(), Store: st, Audit: st, Escalator: esc})
		if err != nil {
			t.Fatal(err)
		}
		var reply tierzero.Reply
		for _, text := range texts {
			reply, err = a.Handle(context.Background(), tierzero.Message{Tenant: "contoso", Conversation: "c", Requester: req, Text: text})
			if err != nil {
				t.Fatal(err)
			}
		}
		return r, esc, reply
	}
	t.Run("employee resets their password", func(t *testing.T) {
		r, _, reply := run(t, employee, "I forgot my password")
		if got := strings.Join(r.Actions(), ","); got != "user.signins,user.reset_password" || len(reply.Private) != 1 {
			t.Fatalf("runner %s, reply %+v", got, reply)
		}
		if !strings.Contains(reply.Text, "privately") {
			t.Fatalf("reply = %q", reply.Text)
		}
	})
	t.Run("technician confirms", func(t *testing.T) {
		r, _, reply := run(t, tech, "reset the password of alex.wilber@contoso.com", "yes")
		if got := strings.Join(r.Actions(), ","); got != "user.signins,user.reset_password" || len(reply.Private) != 1 {
			t.Fatalf("runner %s, reply %+v", got, reply)
		}
		if !strings.Contains(reply.Text, "Done: I reset the password of alex.wilber@contoso.com") {
			t.Fatalf("reply = %q", reply.Text)
		}
	})
	t.Run("hacked escalates with context", func(t *testing.T) {
		r, esc, reply := run(t, employee, "I think my account was hacked")
		if got := strings.Join(r.Actions(), ","); got != "user.signins,user.risk,user.revoke_sessions" {
			t.Fatalf("runner %s", got)
		}
		got := esc.Got()
		if len(got) != 1 || got[0].Cause != tierzero.CauseModelRequest || len(got[0].Checked) != 2 || len(got[0].Tried) != 1 {
			t.Fatalf("escalations %+v", got)
		}
		if !strings.Contains(reply.Text, "They will contact you") {
			t.Fatalf("reply = %q", reply.Text)
		}
	})
}

// technician is an MSP technician: their own tenant is the MSP's, not a
// client's.
var technician = tierzero.Requester{Tenant: "msp", UPN: "tess@msp.example", Role: tierzero.RoleMSPTechnician}

// acrossTools offers the catalog's tools as the agent offers them to a
// technician who acts in client tenants: each (but escalate) with a
// required "tenant" property whose enum lists the tenants.
func acrossTools(t *testing.T, tenants ...string) []agent.Tool {
	t.Helper()
	var ts []agent.Tool
	for _, spec := range agenttest.Catalog() {
		var schema map[string]any
		if err := json.Unmarshal(spec.Schema, &schema); err != nil {
			t.Fatal(err)
		}
		props, _ := schema["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
		}
		props["tenant"] = map[string]any{"type": "string", "enum": tenants, "description": "the client tenant to act in"}
		schema["properties"] = props
		required, _ := schema["required"].([]any)
		schema["required"] = append(required, "tenant")
		b, err := json.Marshal(schema)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, agent.Tool{Name: agent.ToolName(spec.Action), Description: spec.Description, Parameters: b})
	}
	return append(ts, agent.Tool{Name: agent.DeclineTool, Parameters: json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string"}},"required":["reason"]}`)},
		agent.Tool{Name: agent.AskTool, Parameters: json.RawMessage(`{"type":"object","properties":{"question":{"type":"string"}},"required":["question"]}`)},
		agent.Tool{Name: agent.EscalateTool, Parameters: json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string"}},"required":["reason"]}`)})
}

func TestAcrossTenants(t *testing.T) {
	two := []string{"contoso", "fabrikam"}
	tests := []struct {
		name    string
		tenants []string // nil: contoso and fabrikam
		text    string
		results map[string]string
		calls   string            // the tools called, in order
		args    map[string]string // arguments of some calls
		want    []string          // in the final text
	}{
		// The tenant of the user's domain.
		{"password reset in the user's tenant", nil, "reset the password of alex@fabrikam.com",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password",
			map[string]string{"user_signins": `{"tenant":"fabrikam","top":10,"user":"alex@fabrikam.com"}`, "user_reset_password": `{"tenant":"fabrikam","user":"alex@fabrikam.com"}`},
			[]string{"alex@fabrikam.com's recent sign-ins", "Done: I reset the password of alex@fabrikam.com"}},
		{"an onmicrosoft.com domain", nil, "Please reset the password of x@contoso.onmicrosoft.com",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password", map[string]string{"user_reset_password": `{"tenant":"contoso","user":"x@contoso.onmicrosoft.com"}`}, nil},
		{"a domain and a named tenant that disagree: ask", nil, "reset the password of alex@fabrikam.com in contoso",
			nil, "ask_user", nil, []string{"Which client tenant is alex@fabrikam.com in?"}},

		// The tenant named as a word.
		{"in contoso", nil, "reset the password of alex@alexcorp.com in contoso",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password",
			map[string]string{"user_signins": `{"tenant":"contoso","top":10,"user":"alex@alexcorp.com"}`, "user_reset_password": `{"tenant":"contoso","user":"alex@alexcorp.com"}`}, nil},
		{"a possessive names the tenant", nil, "Fabrikam's alex@alexcorp.com forgot her password",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password", map[string]string{"user_reset_password": `{"tenant":"fabrikam","user":"alex@alexcorp.com"}`}, nil},
		{"the only tenant", []string{"contoso"}, "reset the password of alex@alexcorp.com",
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK},
			"user_signins,user_reset_password", map[string]string{"user_reset_password": `{"tenant":"contoso","user":"alex@alexcorp.com"}`}, nil},

		// No tenant to be told: ask, call nothing.
		{"unknown tenant asks", nil, "reset the password of alex@alexcorp.com", nil, "ask_user", nil,
			[]string{"Which client tenant is alex@alexcorp.com in?", "I can work in contoso and fabrikam", "alex@fabrikam.com"}},
		{"two tenants named asks", nil, "reset the password of alex@alexcorp.com, in contoso or in fabrikam", nil, "ask_user", nil,
			[]string{"Which client tenant is alex@alexcorp.com in?"}},
		{"a tenant that is not offered asks", nil, "reset the password of alex@northwind.com in northwind", nil, "ask_user", nil,
			[]string{"Which client tenant"}},

		// The technician has no account in the client tenants.
		{"forgot my password asks whose", nil, "I forgot my password", nil, "ask_user", nil, []string{"Which user do you mean?", "email address", "@fabrikam.com"}},
		{"locked out asks whose", nil, "I'm locked out of my account", nil, "ask_user", nil, []string{"Which user do you mean?"}},
		{"add me to a group asks whose", nil, "Please add me to the Marketing Team group", nil, "ask_user", nil, []string{"Which user do you mean?", "Marketing Team"}},
		{"my license asks whose", nil, "I need a Power BI Pro license", nil, "ask_user", nil, []string{"Which user do you mean?"}},
		{"my out of office asks whose", nil, `set my out of office saying "Out today, back tomorrow"`, nil, "ask_user", nil, []string{"Which user do you mean?"}},
		{"my new phone asks whose", nil, "I got a new phone, need to set up MFA again", nil, "ask_user", nil, []string{"Which user do you mean?"}},
		{"my laptop asks whose", nil, "My laptop says it's not compliant", nil, "ask_user", nil, []string{"Which user do you mean?"}},
		{"hacked me asks whose", nil, "I think my account was hacked", nil, "ask_user", nil, []string{"Which user do you mean?"}},
		{"the technician's own address asks whose", nil, "reset the password of tess@msp.example", nil, "ask_user", nil, []string{"Which user do you mean?"}},

		// Other flows, for the user named.
		{"group for a named user", nil, "add alex@fabrikam.com to the Marketing Team group",
			map[string]string{"group_find": groupsFound, "group_add_member": addOK},
			"group_find,group_add_member",
			map[string]string{"group_find": `{"prefix":"Marketing Team","tenant":"fabrikam"}`, "group_add_member": `{"group":"g-mkt","tenant":"fabrikam","user":"alex@fabrikam.com"}`},
			[]string{`alex@fabrikam.com is now a member of "Marketing Team"`}},
		{"group lookup in the tenant named", nil, "add alex@alexcorp.com to the Marketing Team group in contoso",
			map[string]string{"group_find": groupsFound, "group_add_member": addOK},
			"group_find,group_add_member",
			map[string]string{"group_find": `{"prefix":"Marketing Team","tenant":"contoso"}`, "group_add_member": `{"group":"g-mkt","tenant":"contoso","user":"alex@alexcorp.com"}`}, nil},
		{"license for a named user", nil, "assign a Power BI Pro license to ben@contoso.com",
			map[string]string{"license_available": skus, "license_assign": assignOK},
			"license_available,license_assign",
			map[string]string{"license_available": `{"tenant":"contoso"}`, "license_assign": `{"sku":"POWER_BI_PRO","tenant":"contoso","user":"ben@contoso.com"}`},
			[]string{"ben@contoso.com now has Power BI Pro"}},
		{"license in the tenant named", nil, "I need a Power BI Pro license for ben@alexcorp.com in the contoso tenant",
			map[string]string{"license_available": skus, "license_assign": assignOK},
			"license_available,license_assign",
			map[string]string{"license_available": `{"tenant":"contoso"}`, "license_assign": `{"sku":"POWER_BI_PRO","tenant":"contoso","user":"ben@alexcorp.com"}`}, nil},
		{"new phone for a named user", nil, "ben@fabrikam.com got a new phone and needs MFA set up",
			map[string]string{"user_auth_methods": methods, "user_issue_tap": tapOK},
			"user_auth_methods,user_issue_tap", map[string]string{"user_issue_tap": `{"tenant":"fabrikam","user":"ben@fabrikam.com"}`}, nil},
		{"a device in the user's tenant", nil, "the laptop of ben@fabrikam.com is not compliant",
			map[string]string{"user_devices": devicesOneBad, "device_compliance": complianceSync, "device_sync": syncOK},
			"user_devices,device_compliance,device_sync",
			map[string]string{"user_devices": `{"tenant":"fabrikam","user":"ben@fabrikam.com"}`, "device_compliance": `{"device":"d-lt","tenant":"fabrikam"}`, "device_sync": `{"device":"d-lt","tenant":"fabrikam"}`}, nil},
		{"out of office of a named user", nil, `set the out of office of ben@contoso.com saying "Away, ask alex@fabrikam.com"`,
			map[string]string{"user_set_auto_reply": autoReplyOK},
			"user_set_auto_reply",
			map[string]string{"user_set_auto_reply": `{"externalMessage":"Away, ask alex@fabrikam.com","internalMessage":"Away, ask alex@fabrikam.com","status":"alwaysEnabled","tenant":"contoso","user":"ben@contoso.com"}`},
			[]string{"ben@contoso.com's automatic replies are on"}},

		// One account reported hacked: as for an employee, on that account.
		{"hacked, one user", nil, "I think alex@contoso.com was hacked",
			map[string]string{"user_signins": signinsForeign, "user_risk": riskHigh, "user_revoke_sessions": revokeOK},
			"user_signins,user_risk,user_revoke_sessions,escalate",
			map[string]string{"user_signins": `{"tenant":"contoso","top":20,"user":"alex@contoso.com"}`, "user_risk": `{"tenant":"contoso","user":"alex@contoso.com"}`, "user_revoke_sessions": `{"tenant":"contoso","user":"alex@contoso.com"}`},
			[]string{"RU", "risk as high", "I signed alex@contoso.com out of every session"}},
		{"revoke the sessions", nil, "revoke the sessions of ben@fabrikam.com",
			map[string]string{"user_signins": signinsForeign, "user_risk": riskHigh, "user_revoke_sessions": revokeOK},
			"user_signins,user_risk,user_revoke_sessions,escalate", map[string]string{"user_revoke_sessions": `{"tenant":"fabrikam","user":"ben@fabrikam.com"}`}, nil},
		{"sign out everywhere", nil, "please sign ben@fabrikam.com out everywhere",
			map[string]string{"user_signins": signinsForeign, "user_risk": riskHigh, "user_revoke_sessions": revokeOK},
			"user_signins,user_risk,user_revoke_sessions,escalate", map[string]string{"user_revoke_sessions": `{"tenant":"fabrikam","user":"ben@fabrikam.com"}`}, nil},
		{"hacked, unknown tenant asks", nil, "I think alex@contoso.com and ben@alexcorp.com were hacked", nil, "ask_user", nil,
			[]string{"Which client tenant is ben@alexcorp.com in?"}},
		{"no client tenant to act in: decline", []string{}, "reset the password of alex@alexcorp.com", nil, "decline", nil,
			[]string{"I can't act in any client tenant for you here"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenants := tt.tenants
			if tenants == nil {
				tenants = two
			}
			rounds, final := session{tools: acrossTools(t, tenants...)}.run(t, technician, userSays(tt.text), tt.results)
			var made []tierzero.ToolCall
			for _, r := range rounds {
				made = append(made, r...)
			}
			if got := names(made); got != tt.calls {
				t.Fatalf("calls = %s, want %s (text %q)", got, tt.calls, said(final))
			}
			for name, want := range tt.args {
				if got := argsOf(made, name); got != want {
					t.Errorf("%s args = %s, want %s", name, got, want)
				}
			}
			for _, want := range tt.want {
				if !strings.Contains(said(final), want) {
					t.Errorf("text = %q, want it to contain %q", said(final), want)
				}
			}
		})
	}
}

// TestHackedAcrossTenants: two users in two tenants are handled together,
// each step one response with a call per user, each in its own tenant;
// every call waits for the technician's yes, as the agent has it.
func TestHackedAcrossTenants(t *testing.T) {
	results := map[string]string{
		"user_signins alex@contoso.com": signinsForeign,
		"user_signins ben@fabrikam.com": signinsWrongPassword,
		"user_risk":                     riskHigh,
		"user_revoke_sessions":          revokeOK,
	}
	for _, confirm := range []bool{false, true} {
		t.Run(fmt.Sprintf("confirm=%v", confirm), func(t *testing.T) {
			rounds, final := session{tools: acrossTools(t, "contoso", "fabrikam"), confirm: confirm}.run(t, technician,
				userSays("I think alex@contoso.com and ben@fabrikam.com were hacked"), results)
			var got []string
			for _, r := range rounds {
				var calls []string
				for _, c := range r {
					calls = append(calls, c.Action+" "+string(c.Args))
				}
				got = append(got, strings.Join(calls, " | "))
			}
			want := []string{
				`user_signins {"tenant":"contoso","top":20,"user":"alex@contoso.com"} | user_signins {"tenant":"fabrikam","top":20,"user":"ben@fabrikam.com"}`,
				`user_risk {"tenant":"contoso","user":"alex@contoso.com"} | user_risk {"tenant":"fabrikam","user":"ben@fabrikam.com"}`,
				`user_revoke_sessions {"tenant":"contoso","user":"alex@contoso.com"} | user_revoke_sessions {"tenant":"fabrikam","user":"ben@fabrikam.com"}`,
			}
			if len(got) != 4 || !slices.Equal(got[:3], want) {
				t.Fatalf("responses:\n%s\nwant:\n%s\nthen escalate", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			last := rounds[3]
			if len(last) != 1 || last[0].Action != agent.EscalateTool {
				t.Fatalf("last response = %v, want one escalate", names(last))
			}
			var esc struct{ Reason string }
			json.Unmarshal(last[0].Args, &esc)
			for _, want := range []string{"alex@contoso.com in contoso", "ben@fabrikam.com in fabrikam", "sessions revoked: yes"} {
				if !strings.Contains(esc.Reason, want) {
					t.Errorf("reason = %q, want it to contain %q", esc.Reason, want)
				}
			}
			for _, want := range []string{"alex@contoso.com in contoso:", "They came from: RU, US", "ben@fabrikam.com in fabrikam:", "2 of the last 3 failed",
				"I signed alex@contoso.com out of every session", "I signed ben@fabrikam.com out of every session"} {
				if !strings.Contains(said(final), want) {
					t.Errorf("text = %q, want it to contain %q", said(final), want)
				}
			}
		})
	}
}

// TestAcrossTenantsFollowUps: the technician answers our question, and
// confirms every call.
func TestAcrossTenantsFollowUps(t *testing.T) {
	ss := session{tools: acrossTools(t, "contoso", "fabrikam"), confirm: true}
	ask := func(t *testing.T, text string) []tierzero.Turn {
		rounds, q := ss.run(t, technician, userSays(text), nil)
		if len(rounds) != 1 || names(rounds[0]) != agent.AskTool {
			t.Fatalf("%q: calls before the answer: %v, want the question only", text, rounds)
		}
		return append(userSays(text), tierzero.Turn{Role: tierzero.TurnAssistant, Content: said(q)})
	}
	password := map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK}
	tests := []struct {
		name     string
		text     string
		answer   string
		results  map[string]string
		call     string // the last call before the answer
		wantArgs string
		want     string
	}{
		{"the tenant", "reset the password of alex@alexcorp.com", "contoso", password,
			"user_reset_password", `{"tenant":"contoso","user":"alex@alexcorp.com"}`, "Done: I reset the password of alex@alexcorp.com"},
		{"whose password", "I forgot my password", "it's alex@fabrikam.com", password,
			"user_reset_password", `{"tenant":"fabrikam","user":"alex@fabrikam.com"}`, "Done: I reset the password of alex@fabrikam.com"},
		{"whose group", "add me to the Marketing Team group", "ben@contoso.com", map[string]string{"group_find": groupsFound, "group_add_member": addOK},
			"group_add_member", `{"group":"g-mkt","tenant":"contoso","user":"ben@contoso.com"}`, "ben@contoso.com is now a member"},
		{"whose account was hacked", "I think my account was hacked", "ben@fabrikam.com",
			map[string]string{"user_signins": signinsForeign, "user_risk": riskHigh, "user_revoke_sessions": revokeOK},
			"user_revoke_sessions", `{"tenant":"fabrikam","user":"ben@fabrikam.com"}`, "I signed ben@fabrikam.com out of every session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turns := append(ask(t, tt.text), tierzero.Turn{Role: tierzero.TurnUser, Content: tt.answer})
			rounds, final := ss.run(t, technician, turns, tt.results)
			var made []tierzero.ToolCall
			for _, r := range rounds {
				made = append(made, r...)
			}
			if got := argsOf(made, tt.call); got != tt.wantArgs {
				t.Fatalf("calls %s; %s args = %s, want %s", names(made), tt.call, got, tt.wantArgs)
			}
			if !strings.Contains(final.Text, tt.want) {
				t.Fatalf("text = %q, want it to contain %q", final.Text, tt.want)
			}
		})
	}
}

// TestTenantChoice covers how a call's tenant is chosen.
func TestTenantChoice(t *testing.T) {
	enum := []string{"contoso", "fabrikam"}
	tests := []struct {
		text, user string
		want       string // "" when it cannot be told
	}{
		{"reset alex@fabrikam.com", "alex@fabrikam.com", "fabrikam"},
		{"reset x@contoso.onmicrosoft.com", "x@contoso.onmicrosoft.com", "contoso"},
		{"reset X@CONTOSO.COM", "X@CONTOSO.COM", "contoso"},
		{"reset alex@fabrikam.com in contoso", "alex@fabrikam.com", ""}, // they disagree: ask
		{"reset alex@fabrikam.com in fabrikam", "alex@fabrikam.com", "fabrikam"},
		{"reset alex@alexcorp.com in Contoso", "alex@alexcorp.com", "contoso"},
		{"Fabrikam's alex@alexcorp.com", "alex@alexcorp.com", "fabrikam"},
		{"reset alex@alexcorp.com at contosoltd", "alex@alexcorp.com", ""},          // not a word of its own
		{"reset alex@alexcorp.com in contoso or fabrikam", "alex@alexcorp.com", ""}, // two named
		{"reset alex@alexcorp.com", "alex@alexcorp.com", ""},
		{"find the Sales group in fabrikam", "", "fabrikam"},
		{"add ben@contoso.com to the Sales group", "", "contoso"},                                    // the request's user
		{"add ben@contoso.com and alex@fabrikam.com to the Sales group", "", ""},                     // two tenants
		{"add ben@contoso.com and alex@fabrikam.com to the Sales group in fabrikam", "", "fabrikam"}, // named wins
	}
	for _, tt := range tests {
		s := &state{text: tt.text, tenants: map[string][]string{"user_reset_password": enum}}
		got, ok := s.tenantFor("user_reset_password", tt.user)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("tenantFor(%q, %q) = %q, %v, want %q", tt.text, tt.user, got, ok, tt.want)
		}
	}
}

// TestRevokeClassifiesOnlyAcrossTenants: "sign X out everywhere" is a
// compromise for a technician across tenants; everyone else's messages
// classify as before.
func TestRevokeClassifiesOnlyAcrossTenants(t *testing.T) {
	across := &state{tenants: map[string][]string{"user_revoke_sessions": {"contoso"}}}
	single := &state{tenants: map[string][]string{}}
	for _, text := range []string{"revoke the sessions of alex@contoso.com", "sign alex@contoso.com out everywhere",
		"sign out alex@contoso.com everywhere", "please sign ben@fabrikam.com out of all devices", "force a sign-out for ben@fabrikam.com"} {
		if got := across.classify(text); got != intentHacked {
			t.Errorf("across tenants: classify(%q) = %d, want %d", text, got, intentHacked)
		}
		if got, want := single.classify(text), classify(text); got != want || got == intentHacked {
			t.Errorf("in one tenant: classify(%q) = %d, want %d (not hacked)", text, got, want)
		}
	}
	if got := across.classify("reset the password of alex@contoso.com and end the sessions"); got != intentPassword {
		t.Errorf("a password reset stays one: got %d", got)
	}
}

// TestSchemasWithoutTenant: tools with their real schemas but no tenant
// property change nothing.
func TestSchemasWithoutTenant(t *testing.T) {
	var tools []agent.Tool
	for _, spec := range agenttest.Catalog() {
		tools = append(tools, agent.Tool{Name: agent.ToolName(spec.Action), Parameters: spec.Schema})
	}
	tools = append(tools, agent.Tool{Name: agent.EscalateTool})
	for _, req := range []tierzero.Requester{employee, tech} {
		rounds, final := session{tools: tools}.run(t, req, userSays("reset the password of alex.wilber@contoso.com"),
			map[string]string{"user_signins": signinsWrongPassword, "user_reset_password": resetOK})
		var made []tierzero.ToolCall
		for _, r := range rounds {
			made = append(made, r...)
		}
		want := map[tierzero.Role]string{tierzero.RoleEmployee: "", tierzero.RoleMSPTechnician: "user_signins,user_reset_password"}[req.Role]
		if got := names(made); got != want || req.Role != tierzero.RoleEmployee && argsOf(made, "user_reset_password") != `{"user":"alex.wilber@contoso.com"}` {
			t.Errorf("%s: calls %s, reset args %s, text %q", req.Role, got, argsOf(made, "user_reset_password"), final.Text)
		}
	}
}

// TestAcrossTenantsThroughTheAgent runs the offline model inside the real
// agent loop for a technician who acts in client tenants: the agent adds
// the tenant to the tools, takes it out of each call, and has every call
// confirmed.
func TestAcrossTenantsThroughTheAgent(t *testing.T) {
	run := func(t *testing.T, texts ...string) (*agenttest.Runner, *agenttest.Escalator, tierzero.Reply) {
		r, st, esc := &agenttest.Runner{}, &agenttest.Store{}, &agenttest.Escalator{}
		a, err := agent.New(agent.Config{Model: Model{Now: func() time.Time { return now }}, Runner: r, Tools: agenttest.Catalog(), Store: st, Audit: st, Escalator: esc,
			Tenants: func(tierzero.Requester) []tierzero.TenantID { return []tierzero.TenantID{"contoso", "fabrikam"} }})
		if err != nil {
			t.Fatal(err)
		}
		var reply tierzero.Reply
		for _, text := range texts {
			reply, err = a.Handle(context.Background(), tierzero.Message{Tenant: "msp", Conversation: "c", Requester: technician, Text: text})
			if err != nil {
				t.Fatal(err)
			}
		}
		return r, esc, reply
	}
	calls := func(r *agenttest.Runner) []string {
		var got []string
		for _, c := range r.Calls() {
			got = append(got, fmt.Sprintf("%s in %s %s", c.Action, c.Tenant, c.Args))
		}
		return got
	}
	t.Run("password", func(t *testing.T) {
		r, _, reply := run(t, "reset the password of alex@fabrikam.com", "yes", "yes")
		want := []string{`user.signins in fabrikam {"top":10,"user":"alex@fabrikam.com"}`, `user.reset_password in fabrikam {"user":"alex@fabrikam.com"}`}
		if got := calls(r); !slices.Equal(got, want) {
			t.Fatalf("runner got\n%s\nwant\n%s\nreply %q", strings.Join(got, "\n"), strings.Join(want, "\n"), reply.Text)
		}
		if !strings.Contains(reply.Text, "Done: I reset the password of alex@fabrikam.com") {
			t.Fatalf("reply = %q", reply.Text)
		}
	})
	t.Run("hacked, two tenants", func(t *testing.T) {
		r, esc, reply := run(t, "I think alex@contoso.com and ben@fabrikam.com were hacked", "yes", "yes", "yes")
		want := []string{
			`user.signins in contoso {"top":20,"user":"alex@contoso.com"}`, `user.signins in fabrikam {"top":20,"user":"ben@fabrikam.com"}`,
			`user.risk in contoso {"user":"alex@contoso.com"}`, `user.risk in fabrikam {"user":"ben@fabrikam.com"}`,
			`user.revoke_sessions in contoso {"user":"alex@contoso.com"}`, `user.revoke_sessions in fabrikam {"user":"ben@fabrikam.com"}`,
		}
		if got := calls(r); !slices.Equal(got, want) {
			t.Fatalf("runner got\n%s\nwant\n%s\nreply %q", strings.Join(got, "\n"), strings.Join(want, "\n"), reply.Text)
		}
		got := esc.Got()
		if len(got) != 1 {
			t.Fatalf("escalations %+v, reply %q", got, reply.Text)
		}
		for _, w := range []string{"alex@contoso.com in contoso", "ben@fabrikam.com in fabrikam"} {
			if !strings.Contains(got[0].Reason, w) {
				t.Errorf("reason = %q, want it to contain %q", got[0].Reason, w)
			}
		}
	})
}

func TestBareAnswerWithNothingPending(t *testing.T) {
	for _, text := range []string{"yes", "OK!", "no", "go ahead."} {
		resp, err := Model{}.Complete(context.Background(), agent.Request{
			Requester: tierzero.Requester{Tenant: "contoso", UPN: "adele.vance@contoso.com", Role: tierzero.RoleEmployee},
			Turns:     []tierzero.Turn{{Role: tierzero.TurnUser, Content: text}},
			Tools:     allTools(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.ToolCalls) != 0 || !strings.Contains(resp.Text, "nothing waiting for your answer") {
			t.Errorf("%q: got %+v, want a plain answer and no escalation", text, resp)
		}
	}
}

// TestOutcomesThroughTheAgent: what the rules model does shows in the
// outcome the agent reports, message by message: a refusal in its own words
// is a decline, a question is asked, and the answer to a question continues
// the request as before.
func TestOutcomesThroughTheAgent(t *testing.T) {
	type step struct {
		text string
		want tierzero.Outcome
	}
	groups := json.RawMessage(`{"prefix":"Project","groups":[{"id":"g-1","displayName":"Project Falcon","kind":"security","membershipType":"assigned"},{"id":"g-2","displayName":"Project Eagle","kind":"security","membershipType":"assigned"}]}`)
	lockout := json.RawMessage(`{"user":"adele.vance@contoso.com","userExists":true,"signIns":[{"time":"2026-06-20T08:56:00Z","errorCode":50053,"meaning":"account locked by smart lockout"}]}`)
	tests := []struct {
		name    string
		req     tierzero.Requester
		runner  func(*agenttest.Runner)
		steps   []step
		actions string
	}{
		{name: "someone else's group membership is declined", req: employee,
			steps: []step{{"add alex.wilber@contoso.com to the Marketing Team group",
				tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: tierzero.RuleDeclined, Reason: "I can only add people to groups for your own account. alex.wilber@contoso.com can ask me from their own account, or ask your IT support."}}}},
		{name: "the out-of-office message is asked for, then set", req: employee,
			steps: []step{
				{"Please set my out-of-office", tierzero.Outcome{Kind: tierzero.OutcomeAsked}},
				{"I'm away until Monday, ask Alex for anything urgent.", tierzero.Outcome{Kind: tierzero.OutcomeResolved}},
			}, actions: "user.set_auto_reply"},
		{name: "the group is asked for, then joined", req: employee, runner: func(r *agenttest.Runner) { r.Outputs = map[string]json.RawMessage{"group.find": groups} },
			steps: []step{
				{"add me to the Project group", tierzero.Outcome{Kind: tierzero.OutcomeAsked}},
				{"Project Falcon", tierzero.Outcome{Kind: tierzero.OutcomeResolved}},
			}, actions: "group.find,group.find,group.add_member"},
		{name: "a password reset", req: employee,
			steps: []step{{"I forgot my password", tierzero.Outcome{Kind: tierzero.OutcomeResolved}}}, actions: "user.signins,user.reset_password"},
		{name: "smart lockout is explained", req: employee, runner: func(r *agenttest.Runner) { r.Outputs = map[string]json.RawMessage{"user.signins": lockout} },
			steps: []step{{"I'm locked out of my account", tierzero.Outcome{Kind: tierzero.OutcomeAnswered}}}, actions: "user.signins"},
		{name: "policy refuses an admin's reset", req: employee, runner: func(r *agenttest.Runner) { r.Admins = map[string]bool{me: true} },
			steps: []step{{"I forgot my password", tierzero.Outcome{Kind: tierzero.OutcomeRefused, Rule: "global/never-change-admins",
				Reason: "accounts that hold an admin role are not changed through the bot"}}}, actions: "user.signins,user.reset_password"},
		{name: "what it does not handle is escalated", req: employee,
			steps: []step{{"The printer on floor 3 is jammed", tierzero.Outcome{Kind: tierzero.OutcomeEscalated, Cause: tierzero.CauseModelRequest,
				Reason: "the offline assistant does not handle this request: The printer on floor 3 is jammed"}}}},
		{name: "a technician's plan, then its run", req: tech,
			steps: []step{
				{"reset the password of alex.wilber@contoso.com", tierzero.Outcome{Kind: tierzero.OutcomeConfirm}},
				{"yes", tierzero.Outcome{Kind: tierzero.OutcomeResolved}},
			}, actions: "user.signins,user.reset_password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, st := &agenttest.Runner{}, &agenttest.Store{}
			if tt.runner != nil {
				tt.runner(r)
			}
			a, err := agent.New(agent.Config{Model: Model{Now: func() time.Time { return now }}, Runner: r, Tools: agenttest.Catalog(), Store: st, Audit: st, Escalator: &agenttest.Escalator{}})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.steps {
				reply, err := a.Handle(context.Background(), tierzero.Message{Tenant: "contoso", Conversation: "c", Requester: tt.req, Text: s.text})
				if err != nil {
					t.Fatal(err)
				}
				if reply.Outcome != s.want {
					t.Errorf("%q: outcome %+v, want %+v (reply %q)", s.text, reply.Outcome, s.want, reply.Text)
				}
			}
			if got := strings.Join(r.Actions(), ","); got != tt.actions {
				t.Errorf("runner got %q, want %q", got, tt.actions)
			}
		})
	}
}

// TestPlanAfterSettledPlan: a plan shown after earlier plans of the same
// conversation were settled (run, or cancelled by the next request) runs on
// its own "yes" and is explained as itself: the "yes" is not taken for one
// that continues the earlier request, even when the rules model finds no
// intent of its own in the request that led to the plan (an offboarding).
func TestPlanAfterSettledPlan(t *testing.T) {
	plan := json.RawMessage(`{"plan":{"user":"christie.cline@contoso.com","steps":[` +
		`{"action":"user.block_sign_in","args":"{\"user\":\"christie.cline@contoso.com\"}","label":"block sign-in for Christie Cline","stop":true}]}}`)
	tests := []struct {
		name   string
		req    tierzero.Requester
		texts  []string
		calls  []string // action in tenant for user, in order
		want   string   // in the last reply
		unwant string   // not in the last reply
	}{
		{
			name:  "across tenants: a reset run, then an offboarding",
			req:   technician,
			texts: []string{"Reset the password of ben.walters@fabrikam.com in fabrikam", "yes", "yes", "Offboard christie.cline@contoso.com in contoso", "yes"},
			calls: []string{"user.signins in fabrikam for ben.walters@fabrikam.com", "user.reset_password in fabrikam for ben.walters@fabrikam.com",
				"lifecycle.offboard_plan in contoso for christie.cline@contoso.com"},
			want: "Offboarding plan", unwant: "ben.walters",
		},
		{
			name: "across tenants: a reset run, then an offboarding confirmed to the end",
			req:  technician,
			texts: []string{"Reset the password of ben.walters@fabrikam.com in fabrikam", "yes", "yes",
				"Offboard christie.cline@contoso.com in contoso", "yes", "yes"},
			calls: []string{"user.signins in fabrikam for ben.walters@fabrikam.com", "user.reset_password in fabrikam for ben.walters@fabrikam.com",
				"lifecycle.offboard_plan in contoso for christie.cline@contoso.com", "lifecycle.offboard in contoso for christie.cline@contoso.com"},
			want: "The offboarding of christie.cline@contoso.com is recorded", unwant: "ben.walters",
		},
		{
			name:  "across tenants: a reset waiting for its yes, then an offboarding",
			req:   technician,
			texts: []string{"Reset the password of ben.walters@fabrikam.com in fabrikam", "yes", "Offboard christie.cline@contoso.com in contoso", "yes"},
			calls: []string{"user.signins in fabrikam for ben.walters@fabrikam.com", "lifecycle.offboard_plan in contoso for christie.cline@contoso.com"},
			want:  "Offboarding plan", unwant: "ben.walters",
		},
		{
			name: "across tenants: two resets in a row",
			req:  technician,
			texts: []string{"Reset the password of ben.walters@fabrikam.com in fabrikam", "yes", "yes",
				"Reset the password of alex.wilber@contoso.com", "yes", "yes"},
			calls: []string{"user.signins in fabrikam for ben.walters@fabrikam.com", "user.reset_password in fabrikam for ben.walters@fabrikam.com",
				"user.signins in contoso for alex.wilber@contoso.com", "user.reset_password in contoso for alex.wilber@contoso.com"},
			want: "Done: I reset the password of alex.wilber@contoso.com", unwant: "ben.walters",
		},
		{
			name: "across tenants: a compromise handled, then a reset",
			req:  technician,
			texts: []string{"I think alex.wilber@contoso.com and ben.walters@fabrikam.com were hacked", "yes", "yes", "yes",
				"Reset the password of ben.walters@fabrikam.com in fabrikam", "yes", "yes"},
			calls: []string{"user.signins in contoso for alex.wilber@contoso.com", "user.signins in fabrikam for ben.walters@fabrikam.com",
				"user.risk in contoso for alex.wilber@contoso.com", "user.risk in fabrikam for ben.walters@fabrikam.com",
				"user.revoke_sessions in contoso for alex.wilber@contoso.com", "user.revoke_sessions in fabrikam for ben.walters@fabrikam.com",
				"user.signins in fabrikam for ben.walters@fabrikam.com", "user.reset_password in fabrikam for ben.walters@fabrikam.com"},
			want: "Done: I reset the password of ben.walters@fabrikam.com", unwant: "alex.wilber",
		},
		{
			name:  "across tenants: an offboarding, then a reset",
			req:   technician,
			texts: []string{"Offboard christie.cline@contoso.com in contoso", "yes", "yes", "Reset the password of ben.walters@fabrikam.com in fabrikam", "yes", "yes"},
			calls: []string{"lifecycle.offboard_plan in contoso for christie.cline@contoso.com", "lifecycle.offboard in contoso for christie.cline@contoso.com",
				"user.signins in fabrikam for ben.walters@fabrikam.com", "user.reset_password in fabrikam for ben.walters@fabrikam.com"},
			want: "Done: I reset the password of ben.walters@fabrikam.com", unwant: "christie",
		},
		{
			name:  "in their own tenant: a reset run, then an offboarding",
			req:   tech,
			texts: []string{"reset the password of alex.wilber@contoso.com", "yes", "offboard christie.cline@contoso.com", "yes"},
			calls: []string{"user.signins in contoso for alex.wilber@contoso.com", "user.reset_password in contoso for alex.wilber@contoso.com",
				"lifecycle.offboard_plan in contoso for christie.cline@contoso.com", "lifecycle.offboard in contoso for christie.cline@contoso.com"},
			want: "The offboarding of christie.cline@contoso.com is recorded", unwant: "alex.wilber",
		},
		{
			name:  "in their own tenant: a reset waiting for its yes, then an offboarding",
			req:   tech,
			texts: []string{"reset the password of alex.wilber@contoso.com", "offboard christie.cline@contoso.com", "yes"},
			calls: []string{"user.signins in contoso for alex.wilber@contoso.com",
				"lifecycle.offboard_plan in contoso for christie.cline@contoso.com", "lifecycle.offboard in contoso for christie.cline@contoso.com"},
			want: "The offboarding of christie.cline@contoso.com is recorded", unwant: "alex.wilber",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, st := &agenttest.Runner{Outputs: map[string]json.RawMessage{"lifecycle.offboard_plan": plan}}, &agenttest.Store{}
			cfg := agent.Config{Model: Model{Now: func() time.Time { return now }}, Runner: r, Tools: agenttest.Catalog(), Store: st, Audit: st, Escalator: &agenttest.Escalator{}}
			if tt.req.Tenant == "msp" {
				cfg.Tenants = func(tierzero.Requester) []tierzero.TenantID { return []tierzero.TenantID{"contoso", "fabrikam"} }
			}
			a, err := agent.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var replies []string
			for _, text := range tt.texts {
				reply, err := a.Handle(context.Background(), tierzero.Message{Tenant: tt.req.Tenant, Conversation: "c", Requester: tt.req, Text: text})
				if err != nil {
					t.Fatal(err)
				}
				replies = append(replies, text+" -> "+reply.Text)
			}
			var got []string
			for i, c := range r.Calls() {
				var args struct{ User string }
				json.Unmarshal(c.Args, &args)
				got = append(got, fmt.Sprintf("%s in %s for %s", c.Action, r.Tenants()[i], args.User))
			}
			last := replies[len(replies)-1]
			if !slices.Equal(got, tt.calls) || !strings.Contains(last, tt.want) || strings.Contains(last, tt.unwant) {
				t.Errorf("runner got\n%s\nwant\n%s\nlast reply: want %q in it, not %q\nconversation:\n%s",
					strings.Join(got, "\n"), strings.Join(tt.calls, "\n"), tt.want, tt.unwant, strings.Join(replies, "\n"))
			}
		})
	}
}
