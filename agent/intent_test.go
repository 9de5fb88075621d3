package agent

import (
	"slices"
	"strings"
	"testing"

	"github.com/tierzero/tierzero"
)

func intentOf(messages ...string) Intent {
	var turns []tierzero.Turn
	for _, m := range messages {
		turns = append(turns, tierzero.Turn{Role: tierzero.TurnUser, Content: m})
		turns = append(turns, tierzero.Turn{Role: tierzero.TurnAssistant, Content: "ok"})
	}
	return ReadIntent(turns)
}

// leadActions are the actions the requester's request asks for, with the
// auto-reply direction: "user.set_auto_reply(off)".
func leadActions(in Intent) []string {
	var out []string
	for _, a := range in.Asks {
		if !a.Lead {
			continue
		}
		s := a.Action
		if a.Status != "" {
			s += "(" + a.Status + ")"
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestIntentActions reads requests as people write them: in four
// languages, misspelled, vague, two at once. None of these sentences is
// one of the evaluation's.
func TestIntentActions(t *testing.T) {
	tests := []struct {
		name    string
		message string
		want    []string // each must be asked for
		not     []string // none of these may be
	}{
		{"forgot password", "help, I forgot my password", []string{actionResetPassword}, []string{actionRevoke, actionAutoReply, actionReboot}},
		{"misspelled password", "i forgott my passwrod again", []string{actionResetPassword}, []string{actionRevoke}},
		{"locked", "my account got locked this morning", []string{actionResetPassword}, []string{actionRevoke}},
		{"expired", "It says the pasword expried", []string{actionResetPassword}, nil},
		{"german password", "Ich habe mein Kennwort vergessen, bitte zurücksetzen", []string{actionResetPassword}, []string{actionRevoke}},
		{"german cannot sign in is not sign out", "Ich kann mich seit gestern nicht mehr anmelden", nil, []string{actionRevoke}},
		{"spanish password", "Olvidé mi contraseña del correo", []string{actionResetPassword}, []string{actionReboot, actionRevoke}},
		{"spanish sign in is not a session to end", "No puedo iniciar sesión en Teams", nil, []string{actionRevoke, actionReboot}},
		{"french password", "J'ai oublié mon mot de passe", []string{actionResetPassword}, nil},
		{"french connect is not disconnect", "Je n'arrive pas à me connecter depuis ce matin", nil, []string{actionRevoke}},
		{"sign in is not sign out", "I can't sign in, locked out again", []string{actionResetPassword}, []string{actionRevoke}},
		{"new phone", "just switched to a new phone, how do I get my authenticator back", []string{actionIssueTAP, actionResetMFA}, []string{actionResetPassword}},
		{"misspelled phone", "lost my fone yesterday", []string{actionIssueTAP, actionWipe}, nil},
		{"german phone", "Mein Handy wurde gestohlen", []string{actionIssueTAP, actionWipe}, nil},
		{"spanish phone", "Tengo un móvil nuevo y no me llegan los códigos", []string{actionIssueTAP}, nil},
		{"french phone", "J'ai un nouveau téléphone", []string{actionIssueTAP}, nil},
		{"codes gone", "the app with my sign-in codes disappeared", []string{actionIssueTAP}, nil},
		{"ooo on", "please set up an auto reply while I'm away", []string{actionAutoReply + "(on)"}, []string{actionRevoke}},
		{"ooo off", "I'm back now, switch off the out of office", []string{actionAutoReply + "(off)"}, []string{actionAutoReply + "(on)"}},
		{"ooo off by back only", "back from vacation, pls remove my ooo", []string{actionAutoReply + "(off)"}, nil},
		{"ooo misspelled", "turn of my out of ofice pls", []string{actionAutoReply}, nil},
		{"ooo on though back later", "Turn on my out-of-office until Friday, I'm back on Monday", []string{actionAutoReply + "(on)"}, []string{actionAutoReply + "(off)"}},
		{"ooo quoted text means on", `my out of office should say "Away until the 3rd"`, []string{actionAutoReply + "(on)"}, nil},
		{"german ooo", "Bitte meine Abwesenheitsnotiz ausschalten, ich bin wieder da", []string{actionAutoReply + "(off)"}, nil},
		{"spanish ooo", "Actívame la respuesta automática hasta el lunes", []string{actionAutoReply + "(on)"}, nil},
		{"french ooo", "Pouvez-vous désactiver ma réponse automatique ?", []string{actionAutoReply + "(off)"}, nil},
		{"locked out of office is not ooo", "I'm locked out of Office since this morning", []string{actionResetPassword}, []string{actionAutoReply}},
		{"location is not vacation", "my location shows as Lisbon", nil, []string{actionAutoReply}},
		{"hacked", "I think someone hacked my mailbox", []string{actionRevoke}, nil},
		{"someone signed in", "somebody signed into my account from abroad", []string{actionRevoke}, nil},
		{"sign me out", "Please sign me out of everything", []string{actionRevoke}, nil},
		{"german hacked", "Mein Konto wurde gehackt", []string{actionRevoke}, nil},
		{"spanish hacked", "Creo que me han hackeado la cuenta", []string{actionRevoke}, nil},
		{"french hacked", "Mon compte a été piraté", []string{actionRevoke}, nil},
		{"compliance", "Company Portal shows my notebook as noncompliant", []string{actionSync}, []string{actionReboot, actionWipe}},
		{"misspelled compliance", "my labtop is not complient", []string{actionSync}, []string{actionReboot}},
		{"german compliance", "Mein Rechner ist nicht konform", []string{actionSync}, []string{actionReboot}},
		{"french compliance", "Mon ordinateur n'est pas conforme", []string{actionSync}, []string{actionReboot}},
		{"restart", "can you restart my pc remotely, it froze", []string{actionReboot}, nil},
		{"spanish restart", "¿Puedes reiniciar mi portátil?", []string{actionReboot}, nil},
		{"wipe", "my laptop was stolen, please erase it", []string{actionWipe, actionRetire}, nil},
		{"group", "I need access to the Design group", []string{actionAddMember}, nil},
		{"german group", "Bitte füge mich zur Gruppe Marketing hinzu", []string{actionAddMember}, nil},
		{"remove from group", "take me out of the Sales group", []string{actionRemoveMember}, nil},
		{"license", "I need a Visio licence", []string{actionAssignLicense}, nil},
		{"enable account", "please re-enable the account of jo@contoso.com", []string{actionEnable}, nil},
		{"two problems", "forgot my password and my laptop says not compliant", []string{actionResetPassword, actionSync}, []string{actionReboot}},
		// The L2–L3 catalog (issue 18).
		{"block sign-in", "please block the account of jo@contoso.com, she was let go", []string{actionBlockSignIn}, []string{actionEnable, actionResetPassword}},
		{"block sign-in words", "block sign-in for jo@contoso.com", []string{actionBlockSignIn}, nil},
		{"german block", "Bitte das Konto von jo@contoso.com sperren", []string{actionBlockSignIn}, nil},
		{"spanish block", "Bloquear la cuenta de jo@contoso.com", []string{actionBlockSignIn}, nil},
		{"french block", "Pouvez-vous désactiver le compte de jo@contoso.com ?", []string{actionBlockSignIn}, nil},
		{"disabled is not block", "my account is disabled, please help", []string{actionEnable}, []string{actionBlockSignIn}},
		{"new manager", "jo@contoso.com has a new manager: lee@contoso.com", []string{actionSetManager}, []string{actionAddMember}},
		{"reports to", "from Monday jo@contoso.com reports to lee@contoso.com", []string{actionSetManager}, nil},
		{"german manager", "Neuer Vorgesetzter von jo@contoso.com ist lee@contoso.com", []string{actionSetManager}, nil},
		{"manager approves is no change", "my manager approved it already", nil, []string{actionSetManager}},
		{"remove old number", "remove the old phone number from jo@contoso.com's sign-in methods", []string{actionRemoveMethod}, []string{actionWipe}},
		{"remove authenticator", "please delete the Authenticator on her old iPhone", []string{actionRemoveMethod}, nil},
		{"german remove method", "Bitte die alte Nummer als Anmeldemethode entfernen", []string{actionRemoveMethod}, nil},
		{"change number", "change my mobile number to +44 7700 900123", []string{actionSetPhone}, nil},
		{"new phone is not a number", "I got a new phone", nil, []string{actionSetPhone}},
		{"german number", "Meine neue Handynummer ist +49 151 2345678", []string{actionSetPhone}, nil},
		{"dismiss risk", "that was me travelling, please dismiss the risk on jo@contoso.com", []string{actionDismissRisk}, []string{actionConfirmRisk}},
		{"false positive", "the risky sign-in alert for jo@contoso.com is a false positive", []string{actionDismissRisk}, nil},
		{"confirm compromised", "confirm jo@contoso.com as compromised", []string{actionConfirmRisk}, []string{actionDismissRisk}},
		{"hacked is not confirmed", "I think someone hacked my mailbox", nil, []string{actionConfirmRisk}},
		{"invite guest", "invite anna@partner.example as a guest", []string{actionInviteGuest}, nil},
		{"german guest", "Bitte anna@partner.example als Gast einladen", []string{actionInviteGuest}, nil},
		{"lock lost phone", "I lost my iPhone, lock it please", []string{actionLock}, []string{actionResetPassword}},
		{"lost phone locks", "mein Handy ist verloren", []string{actionLock}, nil},
		{"passcode", "I forgot the passcode of my iPad", []string{actionResetPasscode}, nil},
		{"signatures", "Defender says my laptop's virus definitions are out of date", []string{actionSignatures}, []string{actionWipe}},
		{"add owner", "make jo@contoso.com an owner of the Sales Team group", []string{actionAddOwner}, []string{actionRemoveOwner}},
		{"remove owner", "remove lee@contoso.com as owner of Marketing", []string{actionRemoveOwner}, []string{actionAddOwner}},
		{"spanish owner", "Añade a jo@contoso.com como propietario del grupo Ventas", []string{actionAddOwner}, nil},
		{"add to team", "add jo@contoso.com to the Project Falcon team", []string{actionTeamAdd}, []string{actionTeamRemove}},
		{"remove from team", "remove jo@contoso.com from the Falcon team", []string{actionTeamRemove}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := leadActions(intentOf(tt.message))
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return g == w || strings.HasPrefix(g, w+"(") }) {
					t.Errorf("%q: asks %v, want %s among them", tt.message, got, w)
				}
			}
			for _, n := range tt.not {
				if slices.ContainsFunc(got, func(g string) bool { return g == n || strings.HasPrefix(g, n+"(") }) {
					t.Errorf("%q: asks %v, want no %s", tt.message, got, n)
				}
			}
		})
	}
}

// What follows the paragraph that states the request may be pasted from
// elsewhere: the actions it names are only mentioned.
func TestIntentPastedText(t *testing.T) {
	in := intentOf("Hi,\n\nmy laptop says it is not compliant.\n\nFWD: Security notice: reboot the laptop now and sign me out everywhere.\n\n> please set my out of office")
	if got := leadActions(in); !slices.Equal(got, []string{actionSync}) {
		t.Fatalf("asks %v, want only %s (the request)", got, actionSync)
	}
	for _, a := range []string{actionReboot, actionRevoke, actionAutoReply} {
		if !in.mentioned(a) || len(in.lead(a)) > 0 {
			t.Errorf("%s: mentioned %v, lead %v; want mentioned only", a, in.mentioned(a), in.lead(a))
		}
	}
	// A later message is a request of its own.
	in = intentOf("my laptop says it is not compliant", "also please restart it")
	if len(in.lead(actionReboot)) == 0 {
		t.Fatalf("a follow-up's request is not recorded: %s", in.Summary())
	}
	// Words of a long quoted text (a message to send) ask for nothing.
	in = intentOf(`Set my out of office: "I am away. For password resets or a new laptop, call the service desk."`)
	if got := leadActions(in); !slices.Equal(got, []string{actionAutoReply + "(on)"}) {
		t.Fatalf("asks %v, want only the auto-reply", got)
	}
}

func TestIntentObjects(t *testing.T) {
	in := intentOf(`Add lee.gu@contoso.com to the VPN Users group and restart CONTOSO-LT010`)
	want := []Object{{ObjectUser, "lee.gu@contoso.com"}, {ObjectDevice, "CONTOSO-LT010"}, {ObjectGroup, "VPN Users"}}
	for _, w := range want {
		if !slices.Contains(in.Objects, w) {
			t.Errorf("objects %v, want %v among them", in.Objects, w)
		}
	}
	if in.Self {
		t.Error("self: the requester names only others")
	}
	for _, m := range []string{"reset my password", "mein Passwort", "mi contraseña", "mon mot de passe", "I forgot it"} {
		if !intentOf(m).Self {
			t.Errorf("%q: self false", m)
		}
	}
	req := tierzero.Requester{UPN: "jo@contoso.com"}
	if got := intentOf("set the out of office of alex@contoso.com and of jo@contoso.com").others(req); !slices.Equal(got, []string{"alex@contoso.com"}) {
		t.Errorf("others = %v", got)
	}
}

func TestNear(t *testing.T) {
	tests := []struct {
		tok, word string
		want      bool
	}{
		{"pasword", "password", true},
		{"passwrod", "password", true},
		{"labtop", "laptop", true},
		{"complaint", "compliant", true},
		{"fone", "phone", true},
		{"anmeldecodes", "codes", true},
		{"unternehmensportal", "portal", true},
		{"done", "phone", false},
		{"gone", "phone", false},
		{"laptops", "reboot", false},
		{"anmelden", "reboot", false},
		{"sign", "signed", false},
	}
	for _, tt := range tests {
		if got := near(tt.tok, tt.word); got != tt.want {
			t.Errorf("near(%q, %q) = %v, want %v", tt.tok, tt.word, got, tt.want)
		}
	}
	if d := tierzero.EditDistance("forgott", "forgot", 1); d != 1 {
		t.Errorf("editDistance = %d, want 1", d)
	}
	if d := tierzero.EditDistance("abcdef", "badcfe", 2); d != 3 {
		t.Errorf("editDistance past the limit = %d, want 3 (limit+1)", d)
	}
}
