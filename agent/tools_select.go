package agent

// This file: which tools the model is sent for a request. Each tool's
// schema costs prompt tokens on every model call, and most requests need a
// few of them, so the requester's words choose the areas of the catalog
// that can apply (passwords, MFA, devices...), in English, German, Spanish
// and French, with misspellings tolerated; every action the requester's
// intent holds (ReadIntent) is sent too. It saves tokens; it decides
// nothing: a tool that is not sent is still offered (a call to it goes to
// the runner like any other), and when the words name no area, or one
// that touches them all (offboarding), every tool is sent.

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tierzero/tierzero"
)

// baseReads are always sent: the reads that start any investigation.
var baseReads = []string{"user.get", "user.signins"}

// toolArea is a part of the catalog and the words that ask for it.
type toolArea struct {
	name string
	// words are normalized (lower case, accents folded): a word, matched
	// whole with a typo tolerated when it is long enough; a stem ending in
	// "*", matched as a prefix; or several words, matched in a row.
	words []string
	// tools are the actions the area can need; nil: every tool (a request
	// this broad needs a bit of everything).
	tools []string
}

var (
	mfaAreaTools     = []string{"user.auth_methods", "user.issue_tap", "user.reset_mfa", "user.mfa_registration", "user.remove_auth_method", "user.set_phone_method"}
	removalAreaTools = []string{"user.devices", "device.retire", "device.wipe", "device.lock"}
	groupAreaTools   = []string{"user.groups", "group.find", "group.get", "group.add_member", "group.remove_member"}
	ownerAreaTools   = []string{"group.find", "group.get", "group.owners", "group.add_owner", "group.remove_owner"}
	teamAreaTools    = []string{"team.members", "team.add_member", "team.remove_member", "group.find"}
	licenseAreaTools = []string{"license.available", "license.assign", "license.remove"}
	// baselineAreaTools are a tenant baseline's read, its plan and its
	// steps (tierzero.IsBaselineAction).
	baselineAreaTools = []string{tierzero.ActionBaselinePlan, tierzero.ActionBaselineApply,
		"baseline.create_named_location", "baseline.create_ca_policy", "baseline.update_ca_policy", "baseline.enable_ca_policy",
		"baseline.set_security_defaults", "baseline.set_auth_method",
		"baseline.create_compliance_policy", "baseline.update_compliance_policy", "baseline.assign_compliance_policy"}
)

// toolAreas are the catalog's areas. A tool in no area is always sent.
var toolAreas = []toolArea{
	{name: "sign-in", tools: []string{"user.reset_password", "user.enable", "user.auth_methods"}, words: []string{
		// English
		"passw*", "pw", "pwd", "forgot*", "forget*", "login*", "logon", "log in", "log into", "log on", "logged in", "logging in",
		"sign in", "sign into", "signed in", "signin*", "signing in", "let me in", "get in", "get into", "locked*", "lockout", "unlock*",
		"expired", "expire*", "disabled", "account*", "credential*", "cant access", "cannot access",
		// German
		"kennw*", "anmeld*", "einlog*", "gesperrt", "entsperr*", "abgelaufen", "zurucksetz*", "vergessen", "konto", "kontos",
		"komme nicht", "rein", "reinkommen",
		// Spanish
		"contrase*", "clave", "iniciar sesion", "inicio de sesion", "acceder", "entrar", "bloquead*", "caducad*",
		"olvid*", "restablec*", "cuenta",
		// French
		"mot de passe", "mdp", "connecter", "connexion", "identifiant*", "bloque*", "oubli*", "reinitialis*", "compte",
	}},
	{name: "mfa", tools: mfaAreaTools, words: []string{
		"mfa", "2fa", "authenticat*", "two factor", "multi factor", "code", "codes", "otp", "token*", "phone*",
		"fone", "mobile", "cell", "sms", "verification", "verify", "security key", "yubikey", "tap", "access pass",
		"prompt*", "approve sign", "number matching",
		"handy", "telefon*", "authentifiz*", "anmeldecod*", "bestatig*", "zwei faktor",
		"movil", "telefono", "celular", "codigo*", "verificac*", "autenticac*",
		"telephone", "portable", "authentification", "valider", "double authentification",
	}},
	{name: "compromise", tools: []string{"user.risk", "user.revoke_sessions", "user.reset_password", "user.auth_methods", "user.reset_mfa",
		"user.confirm_compromised", "user.block_sign_in", "user.signins"}, words: []string{
		"hack*", "compromis*", "phish*", "suspicious", "not me", "wasn t me", "weren t me", "wasnt me", "werent me",
		"breach*", "scam*", "someone else", "someone has", "someone logged", "someone signed", "malware", "stolen password",
		"gehackt", "verdacht*", "kompromitt*", "nicht ich", "fremde*",
		"hackea*", "sospech*", "no fui yo", "pirat*",
		"suspect*", "pas moi", "usurp*",
	}},
	{name: "sign-out", tools: []string{"user.revoke_sessions"}, words: []string{
		"sign out", "sign me out", "signout", "log out", "log me out", "logout", "session*", "revoke*",
		"abmeld*", "cerrar sesion", "deconnect*",
	}},
	{name: "lost", tools: slices.Concat(removalAreaTools, mfaAreaTools, []string{"user.revoke_sessions"}), words: []string{
		"lost", "lose", "stolen", "steal*", "theft", "missing",
		"verloren", "gestohlen", "geklaut",
		"perdi*", "robad*", "robo",
		"perdu*", "vole*",
	}},
	{name: "out-of-office", tools: []string{"user.set_auto_reply"}, words: []string{
		"out of office", "out of the office", "ooo", "auto reply", "autoreply", "auto replies", "automatic repl*",
		"away message", "autoresponder",
		"abwesenheit*", "automatische antwort", "autom antwort",
		"respuesta automatica", "respuestas automaticas", "fuera de la oficina", "ausencia",
		"reponse automatique", "reponses automatiques", "absence", "message d absence",
	}},
	{name: "groups", tools: groupAreaTools, words: []string{
		"group*", "team", "member*", "access", "vpn", "share", "shared", "sharepoint", "distribution list",
		"mailing list", "channel*",
		"gruppe*", "mitglied*", "zugriff*", "zugang", "berechtigung*",
		"grupo*", "miembro*", "acceso", "permiso*",
		"groupe*", "membre*", "acces", "equipe*", "droit*",
	}},
	{name: "licenses", tools: licenseAreaTools, words: []string{
		"licen*", "lizenz*", "e1", "e3", "e5", "f3", "office 365", "microsoft 365", "m365", "o365", "sku", "subscription*",
		"power bi", "visio", "copilot", "desktop apps", "abonnement*", "suscripci*",
	}},
	// A device's health; a phone alone is the MFA area's, unless more is
	// said of it (compliance, a policy, a restart).
	{name: "devices", tools: []string{"user.devices", "device.compliance", "device.sync", "device.reboot"}, words: []string{
		"laptop*", "notebook*", "computer*", "pc", "desktop*", "device*", "iphone*", "ipad*", "android",
		"mac", "macbook*", "tablet*", "surface", "complian*", "compliant", "intune", "company portal", "bitlocker",
		"encrypt*", "polic*", "reboot*", "restart*", "sync*", "frozen", "freez*", "red x",
		"rechner", "gerat*", "konform*", "richtlinie*", "verschlussel*", "neustart*", "neu starten",
		"portatil", "ordenador*", "dispositivo*", "cumple", "directiva*", "cifrad*", "reiniciar", "reinicia", "reinicie",
		"ordinateur*", "appareil*", "conforme", "portail", "chiffr*", "redemarr*",
	}},
	// A device leaving the company's hands: replaced, handed back, erased.
	{name: "device-removal", tools: removalAreaTools, words: []string{
		"wipe*", "retire*", "erase*", "factory reset", "replac*", "old", "older", "broken", "decommission*",
		"return*", "hand in", "handed in", "give back", "gave back",
		"losch*", "werkseinstell*", "alt", "alte", "ersetz*", "abgegeben", "zuruckgeb*",
		"borrar", "fabrica", "viejo", "antiguo", "reemplaz*", "devolv*",
		"effacer", "efface*", "ancien*", "remplac*", "rendu", "rendre",
	}},
	// A device's secrets: the BitLocker recovery key, the local admin
	// password (delivered privately, approved first).
	{name: "device-secrets", tools: []string{"user.devices", "device.bitlocker_key", "device.laps_password"}, words: []string{
		"bitlocker", "recovery key", "recovery screen", "recovery", "laps", "local admin*", "administrator password", "admin password",
		"wiederherstellungsschl*", "wiederherstellung*", "lokale* admin*", "clave de recuperacion", "recuperacion",
		"cle de recuperation", "recuperation", "administrateur local",
	}},
	// A lost or locked device, its passcode, its antivirus.
	{name: "device-actions", tools: []string{"user.devices", "device.lock", "device.reset_passcode", "device.update_signatures"}, words: []string{
		"lock", "remote lock", "passcode*", "pin", "screen lock", "defender", "antivirus", "virus*", "signature*", "definition*",
		"sperren", "sperrcode", "entsperrcode", "virenschutz", "bloquear", "codigo de desbloqueo", "firmas", "verrouill*", "code de deverrouillage",
	}},
	// Sign-in risk: dismissed after a check, or confirmed compromised.
	{name: "risk", tools: []string{"user.risk", "user.signins", "user.dismiss_risk", "user.confirm_compromised"}, words: []string{
		"risk*", "risky", "flagged", "false positive", "dismiss*", "confirm compromised", "identity protection",
		"risiko", "riesgo", "risque",
	}},
	// Accounts: sign-in blocked, the manager, guests from outside.
	{name: "account-admin", tools: []string{"user.block_sign_in", "user.set_manager", "user.invite_guest"}, words: []string{
		"block*", "disable", "deactivate", "manager", "reports to", "boss", "guest*", "invite*", "external user*",
		"sperren", "deaktivier*", "vorgesetzt*", "gast", "gaste", "einlad*",
		"bloquear", "desactivar", "jefe", "jefa", "gerente", "invitad*", "invitar",
		"bloquer", "desactiver", "responsable", "invite*", "inviter",
	}},
	// Group owners and Teams membership.
	{name: "owners", tools: ownerAreaTools, words: []string{
		"owner*", "co owner", "besitzer*", "inhaber*", "propietari*", "dueno", "proprietaire*",
	}},
	{name: "teams", tools: teamAreaTools, words: []string{
		// Teams the app is named in many requests ("Teams keeps signing me
		// out"): only words of a team's membership choose the area.
		"team member*", "teams member*", "to the team", "from the team", "of the team", "in the team", "join the team",
		"to the teams", "from the teams", "team owner*", "channel*", "kanal*", "equipe*",
		"team in teams", "team on teams", "teams team", "members of the",
	}},
	// Service health: "is Outlook down?"
	{name: "service-health", tools: []string{"service.health"}, words: []string{
		"down", "outage*", "service health", "incident*", "degraded", "is outlook", "is teams", "is exchange", "is sharepoint", "is onedrive",
		"nobody can", "no one can", "whole office",
		"ausfall", "storung*", "gestort", "caido", "caida", "interrupcion", "panne", "incident",
	}},
	// What only Exchange Online does: shared mailboxes, forwarding, the
	// address list. No tool does it; the request is handed over.
	{name: "exchange", tools: []string{}, words: []string{
		"shared mailbox*", "mailbox*", "forward*", "address list", "address book", "gal", "send as", "send on behalf", "full access",
		"postfach*", "weiterleit*", "adressbuch", "buzon*", "reenvi*", "boite*", "transfert*",
	}},
	// Someone joining needs an account that works, access and licenses.
	{name: "onboarding", tools: slices.Concat(mfaAreaTools, groupAreaTools, licenseAreaTools, []string{"user.reset_password", "user.enable",
		"lifecycle.onboard_plan", tierzero.ActionOnboard, "user.create"}), words: []string{
		"onboard*", "new starter", "new hire", "new employee", "starts today", "starting today", "first day", "new joiner", "starts monday",
		"neuer mitarbeiter", "neue mitarbeiterin", "erster tag", "nuevo empleado", "nueva empleada", "primer dia",
		"nouvel employe", "nouvelle employee", "premier jour",
	}},
	// A leaver's offboarding as one plan (lifecycle.go); the words of the
	// offboarding area below send every tool as well.
	{name: "leaver", tools: []string{"lifecycle.offboard_plan", tierzero.ActionOffboard, "onedrive.grant_access"}, words: []string{
		"offboard*", "leaver", "last day", "left the company", "leaves the company", "leaving the company", "leaving us", "has left",
		"verlasst", "letzter tag", "deja la empresa", "ultimo dia", "quitte l entreprise", "dernier jour",
	}},
	// A client tenant's baseline (baseline.go): reading what it takes, its
	// plan, and the steps a plan is made of.
	{name: "baseline", tools: baselineAreaTools, words: []string{
		"baseline*", "drift*", "conditional access", "ca polic*", "security defaults", "report only", "reportonly",
		"compliance polic*", "authentication methods polic*", "named location*", "trusted location*",
		"basislinie*", "linea base", "linea de base", "acces conditionnel", "acceso condicional", "bedingter zugriff",
	}},
	// Someone leaving touches every area.
	{name: "offboarding", words: []string{
		"offboard*", "left the company", "leaves the company", "leaving the company",
		"verlasst", "deja la empresa", "quitte l entreprise",
	}},
}

// selectTools returns the tools to send for turns: those of the areas the
// requester's words (every user turn sent) ask for, the actions their
// intent holds, the base reads, the tools already called in turns, and
// every tool in no area (the pseudo-tools among them). All tools when the
// words name no area or offboarding. The order of tools is kept.
func selectTools(tools []Tool, turns []tierzero.Turn) []Tool {
	return chooseByWords(turns).apply(tools, turns)
}

// toolChoice is what the requester's words choose of the tools: all of
// them, or those in keep (model names) and those in no area. It depends on
// the user turns alone, so a request reads it again only when the user
// turns it sends change (see modelRequest).
type toolChoice struct {
	all  bool
	keep map[string]bool
}

// chooseByWords reads the user turns of turns (see selectTools). The
// choice of the same user turns is remembered (choices): a conversation's
// requests send them again. The choice is shared: never modified.
func chooseByWords(turns []tierzero.Turn) toolChoice {
	// The key says each user turn and where it ends.
	var key strings.Builder
	for _, t := range turns {
		if t.Role == tierzero.TurnUser {
			key.WriteString(strconv.Itoa(len(t.Content)))
			key.WriteByte(':')
			key.WriteString(t.Content)
		}
	}
	return choices.Get(key.String())
}

var choices = newMemo(chooseByKey)

// chooseByKey reads the user turns a key of chooseByWords holds.
func chooseByKey(key string) toolChoice {
	var turns []tierzero.Turn
	for key != "" {
		n, rest, _ := strings.Cut(key, ":")
		size, _ := strconv.Atoi(n)
		turns = append(turns, tierzero.Turn{Role: tierzero.TurnUser, Content: rest[:size]})
		key = rest[size:]
	}
	return choose(turns)
}

// choose reads the user turns of turns.
func choose(turns []tierzero.Turn) toolChoice {
	var text strings.Builder
	for _, t := range turns {
		if t.Role == tierzero.TurnUser {
			text.WriteString(t.Content)
			text.WriteString("\n")
		}
	}
	areas := requestAreas(text.String())
	if len(areas) == 0 {
		return toolChoice{all: true}
	}
	keep := map[string]bool{}
	for _, a := range areas {
		if a.tools == nil {
			return toolChoice{all: true}
		}
		for _, action := range a.tools {
			keep[ToolName(action)] = true
		}
	}
	for _, action := range baseReads {
		keep[ToolName(action)] = true
	}
	// What the intent gate takes as asked for can always be proposed.
	for _, ask := range ReadIntent(turns).Asks {
		keep[ToolName(ask.Action)] = true
	}
	return toolChoice{keep: keep}
}

// apply returns the tools of tools that ch keeps, that are in no area, or
// that a call in turns names.
func (ch toolChoice) apply(tools []Tool, turns []tierzero.Turn) []Tool {
	if ch.all {
		return tools
	}
	called := map[string]bool{}
	for _, t := range turns {
		for _, c := range t.ToolCalls {
			called[c.Action] = true // model names in turns sent
		}
	}
	out := make([]Tool, 0, len(tools))
	for _, t := range tools {
		if ch.keep[t.Name] || called[t.Name] || !inArea[t.Name] {
			out = append(out, t)
		}
	}
	return out
}

// inArea holds the model names of the tools of toolAreas.
var inArea = func() map[string]bool {
	m := map[string]bool{}
	for _, a := range toolAreas {
		for _, action := range a.tools {
			m[ToolName(action)] = true
		}
	}
	return m
}()

// requestAreas returns the areas text asks for.
func requestAreas(text string) []toolArea {
	words := normalizedWords(text)
	distinct := slices.Clone(words)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	var out []toolArea
	for _, a := range toolAreas {
		if slices.ContainsFunc(a.words, func(kw string) bool {
			if strings.Contains(kw, " ") {
				return containsKeyword(words, kw)
			}
			return slices.ContainsFunc(distinct, func(w string) bool { return wordMatches(w, kw) })
		}) {
			out = append(out, a)
		}
	}
	return out
}

// normalizedWords splits text into lower-case words of letters and digits,
// with accents folded ("Zurücksetzen" -> "zurucksetzen", "ß" -> "ss").
// Apostrophes split words: "can't" is "can", "t".
func normalizedWords(text string) []string { return valueWords(tierzero.Fold(text)) }

// containsKeyword reports whether the keyword kw (one word or several, see
// toolArea.words) occurs in words.
func containsKeyword(words []string, kw string) bool {
	parts := strings.Fields(kw)
	for i := 0; i+len(parts) <= len(words); i++ {
		ok := true
		for j, p := range parts {
			if !wordMatches(words[i+j], p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// wordMatches reports whether w is the keyword word k: equal; for a stem
// ("passw*"), w starts with it; with one typo (a letter missing, extra,
// wrong or two swapped, not the first letter) when k has at least 5
// letters, two when it has at least 9. A stem of at least 5 letters
// tolerates one typo in the prefix of a word at least as long as it.
func wordMatches(w, k string) bool {
	if stem, ok := strings.CutSuffix(k, "*"); ok {
		if strings.HasPrefix(w, stem) {
			return true
		}
		if len(stem) < 5 || len(w) < len(stem) || w[0] != stem[0] {
			return false // see below
		}
		for n := len(stem) - 1; n <= len(stem)+1; n++ {
			if n <= len(w) && tierzero.EditDistance(w[:n], stem, 1) <= 1 {
				return true
			}
		}
		return false
	}
	if w == k {
		return true
	}
	if len(k) < 5 || len(w) < len(k)-2 || len(w) > len(k)+2 {
		return false // too short for a typo, or too far apart
	}
	if w[0] != k[0] {
		return false // a typo is rarely in the first letter
	}
	switch d := tierzero.EditDistance(w, k, 2); { // exact up to 2
	case len(k) >= 9:
		return d <= 2
	case len(k) >= 5:
		return d <= 1
	}
	return false
}
