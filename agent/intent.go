package agent

import (
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// Intent is what the requester asked for, read from their own messages in
// the conversation (the user turns of their memory) and from nothing else:
// never from a tool's output or from the model. It holds the catalog
// actions their words name and the objects they name. The agent compares
// every proposed write with it (see judge): a write it does not hold waits
// for the requester's yes.
//
// Reading is general, not a list of sentences: text is folded (lower
// case, accents stripped), split into words, and matched against a
// vocabulary of cue words in English, German, Spanish and French, with
// misspellings tolerated (an edit or two in a word of five letters or
// more, "ph" read as "f", German compounds by their last part).
type Intent struct {
	Asks []Ask
	// Objects are the things the requester names: users by address,
	// devices and groups by name, as written.
	Objects []Object
	// Self is true when the requester speaks of themselves (me, my, mein,
	// mi, mon...).
	Self bool

	words wordIndex // everything the requester wrote, for provenance
}

// Ask is one action the requester's words ask for.
type Ask struct {
	Action string // catalog action, e.g. user.reset_password
	Cue    string // the words that named it, folded
	// Lead is false when the action is named only in a later paragraph of
	// a message, after the paragraph that states the request, or in a
	// quoted block: text the requester may have pasted from elsewhere
	// (an email, a notice), which is not their request.
	Lead bool
	// Status is, for user.set_auto_reply, which way the requester wants
	// their automatic replies: "on", "off", or "" when their words do not
	// say.
	Status string
}

// Object is a thing the requester names.
type Object struct {
	Kind string // "user", "device" or "group"
	Text string // as written
}

// Object kinds.
const (
	ObjectUser   = "user"
	ObjectDevice = "device"
	ObjectGroup  = "group"
)

// Auto-reply directions (Ask.Status).
const (
	autoReplyOn  = "on"
	autoReplyOff = "off"
)

// lead returns the asks of action that are part of the request itself.
func (in Intent) lead(action string) []Ask {
	var out []Ask
	for _, a := range in.Asks {
		if a.Action == action && a.Lead {
			out = append(out, a)
		}
	}
	return out
}

// mentioned reports whether action is named anywhere, pasted text
// included.
func (in Intent) mentioned(action string) bool {
	return slices.ContainsFunc(in.Asks, func(a Ask) bool { return a.Action == action })
}

// others returns the users the requester names by address who are not
// the requester.
func (in Intent) others(req tierzero.Requester) []string {
	var out []string
	for _, o := range in.Objects {
		if o.Kind == ObjectUser && !strings.EqualFold(o.Text, req.UPN) && !slices.Contains(out, strings.ToLower(o.Text)) {
			out = append(out, strings.ToLower(o.Text))
		}
	}
	return out
}

// Summary lists the actions asked for, those named only in pasted text
// marked "(mentioned)", and the auto-reply direction: for the audit.
func (in Intent) Summary() string {
	var parts []string
	for _, a := range in.Asks {
		s := a.Action
		if a.Status != "" {
			s += "(" + a.Status + ")"
		}
		if !a.Lead {
			s += "(mentioned)"
		}
		if !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// ReadIntent reads the intent of the requester from the user turns of
// turns (their own messages), in order; it reads no other turn.
func ReadIntent(turns []tierzero.Turn) Intent {
	var in Intent
	for _, t := range turns {
		if t.Role != tierzero.TurnUser {
			continue
		}
		in.read(t.Content)
	}
	return in
}

// read adds one message of the requester.
func (in *Intent) read(text string) {
	in.words.add(text)
	m := messages.Get(text)
	for _, o := range m.Objects {
		if !slices.Contains(in.Objects, o) {
			in.Objects = append(in.Objects, o)
		}
	}
	for _, a := range m.Asks {
		if !slices.Contains(in.Asks, a) {
			in.Asks = append(in.Asks, a)
		}
	}
	in.Self = in.Self || m.Self
}

// messages remembers what readMessage finds in the messages last read: a
// conversation's messages are read again in every request, and the same
// words come back across conversations.
var messages = newMemo(readMessage)

// readMessage reads the asks, objects and Self of one message, alone. The
// Intent it returns is shared: it is never modified.
func readMessage(text string) Intent {
	var in Intent
	in.scan(text)
	in.Asks, in.Objects = slices.Clip(in.Asks), slices.Clip(in.Objects)
	return in
}

// scan adds the asks and objects of one message, and Self.
func (in *Intent) scan(text string) {
	leadOpen := true
	for _, p := range paragraphs(text) {
		plain, quotes := cutQuotes(p.text)
		for _, q := range quotes {
			if len(strings.Fields(q)) <= maxScannedQuote {
				plain += " . " + q // a label ("password expired") says what they see
			}
		}
		in.objects(plain)
		var found []Ask
		for _, s := range sentences(plain) {
			toks := tokenize(s)
			if hasAny(toks, selfWords) {
				in.Self = true
			}
			ws := make([]word, len(toks))
			for i, t := range toks {
				ws[i] = newWord(t)
			}
			for _, e := range lexicon {
				words := e.cue.match(ws)
				if words == "" {
					continue
				}
				for _, act := range e.actions {
					a := Ask{Action: act, Cue: words}
					if act == actionAutoReply {
						a.Status = autoReplyDirection(toks, len(quotes) > 0)
					}
					found = append(found, a)
				}
			}
		}
		lead := leadOpen && !p.quoted
		for _, a := range found {
			a.Lead = lead
			if !slices.Contains(in.Asks, a) {
				in.Asks = append(in.Asks, a)
			}
		}
		if len(found) > 0 && !p.quoted {
			// The request is stated; what follows in this message may be
			// text pasted from elsewhere.
			leadOpen = false
		}
	}
}

// maxScannedQuote is the longest quoted text, in words, read for cues: a
// label the requester quotes ("not compliant") says what they see; a
// longer quote is a message they want sent, whose words ask for nothing.
const maxScannedQuote = 5

var (
	upnPattern    = regexp.MustCompile(`(?i)[a-z0-9][a-z0-9._%+'-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}`)
	guidPattern   = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	devicePattern = regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9]*-[A-Za-z]*[0-9][A-Za-z0-9-]*\b`)
	groupAfter    = regexp.MustCompile(`(?i:\b(?:group|gruppe|grupo|groupe)\s+)((?:[A-Z0-9][\w&.-]*\s?){1,4})`)
	groupBefore   = regexp.MustCompile(`((?:\b[A-Z0-9][\w&.-]*\s){1,4})(?i:group|gruppe)\b`)
)

// objects records the users, devices and groups named in text.
func (in *Intent) objects(text string) {
	add := func(kind, s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return
		}
		o := Object{Kind: kind, Text: s}
		if !slices.Contains(in.Objects, o) {
			in.Objects = append(in.Objects, o)
		}
	}
	for _, u := range upnPattern.FindAllString(text, -1) {
		add(ObjectUser, u)
	}
	rest := upnPattern.ReplaceAllString(text, " ")
	for _, d := range devicePattern.FindAllString(rest, -1) {
		if !guidPattern.MatchString(d) {
			add(ObjectDevice, d)
		}
	}
	for _, re := range []*regexp.Regexp{groupAfter, groupBefore} {
		for _, m := range re.FindAllStringSubmatch(rest, -1) {
			name := strings.TrimSpace(m[1])
			if w := strings.ToLower(name); w == "the" || w == "a" || w == "die" || w == "el" || w == "le" {
				continue
			}
			add(ObjectGroup, strings.TrimRight(name, ".,;:!?"))
		}
	}
}

// paragraph is one paragraph of a message; quoted is true for a block
// marked as quoted (lines starting with ">", or a fenced block).
type paragraph struct {
	text   string
	quoted bool
}

// paragraphs splits a message at blank lines, quoted blocks apart.
func paragraphs(text string) []paragraph {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	var out []paragraph
	var cur []string
	curQuoted, fenced := false, false
	flush := func() {
		if s := strings.TrimSpace(strings.Join(cur, "\n")); s != "" {
			out = append(out, paragraph{text: s, quoted: curQuoted})
		}
		cur, curQuoted = nil, false
	}
	for _, line := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flush()
			fenced = !fenced
			continue
		case trim == "" && !fenced:
			flush()
			continue
		}
		quoted := fenced || strings.HasPrefix(trim, ">")
		if len(cur) > 0 && quoted != curQuoted {
			flush()
		}
		curQuoted = quoted
		cur = append(cur, strings.TrimLeft(trim, "> "))
	}
	flush()
	return out
}

// quotePattern finds quoted text: in double quotes of any kind, in
// guillemets, or in single quotes that open after a space and close
// before one (so that apostrophes are not quotes).
var quotePattern = regexp.MustCompile(`"([^"\n]{1,1000})"|“([^”\n]{1,1000})”|„([^“”"\n]{1,1000})[“”"]|«\s?([^»\n]{1,1000}?)\s?»|(?:^|[\s(:])'([^'\n]{1,1000}?)'(?:$|[\s).,;:!?])`)

// cutQuotes returns text with its quoted passages replaced by a space, and
// the passages.
func cutQuotes(text string) (string, []string) {
	var quotes []string
	plain := quotePattern.ReplaceAllStringFunc(text, func(m string) string {
		sub := quotePattern.FindStringSubmatch(m)
		for _, s := range sub[1:] {
			if s != "" {
				quotes = append(quotes, s)
				break
			}
		}
		return " « » "
	})
	return plain, quotes
}

// sentenceEnd splits text into sentences: at . ! ? ; followed by a space or
// the end (so that addresses and versions stay whole), and at line breaks.
var sentenceEnd = regexp.MustCompile(`[.!?;]+(?:\s+|$)|\n+`)

func sentences(text string) []string { return sentenceEnd.Split(text, -1) }

// Placeholder tokens for what tokenize does not split into words.
const (
	tokUPN  = "<upn>"
	tokGUID = "<id>"
)

// tokenize folds text and splits it into words of letters and digits;
// addresses and object ids become one placeholder token each.
func tokenize(text string) []string {
	text = guidPattern.ReplaceAllString(upnPattern.ReplaceAllString(text, " \x01 "), " \x02 ")
	var out []string
	for _, w := range strings.FieldsFunc(tierzero.Fold(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\x01' && r != '\x02'
	}) {
		switch w {
		case "\x01":
			w = tokUPN
		case "\x02":
			w = tokGUID
		}
		out = append(out, w)
	}
	return out
}

func hasAny(toks []string, set map[string]bool) bool {
	return slices.ContainsFunc(toks, func(t string) bool { return set[t] })
}

// selfWords are the words by which a requester speaks of themselves.
var selfWords = termSet("i im me my mine myself ich mich mir mein meine meinen meinem meiner meines yo mi mis conmigo je j moi mon ma mes m")

// Catalog actions the vocabulary maps to.
const (
	actionResetPassword = "user.reset_password"
	actionResetMFA      = "user.reset_mfa"
	actionIssueTAP      = "user.issue_tap"
	actionAutoReply     = "user.set_auto_reply"
	actionRevoke        = "user.revoke_sessions"
	actionEnable        = "user.enable"
	actionAddMember     = "group.add_member"
	actionRemoveMember  = "group.remove_member"
	actionAssignLicense = "license.assign"
	actionRemoveLicense = "license.remove"
	actionSync          = "device.sync"
	actionReboot        = "device.reboot"
	actionRetire        = "device.retire"
	actionWipe          = "device.wipe"

	// The L2–L3 catalog (issue 18).
	actionBlockSignIn   = "user.block_sign_in"
	actionSetManager    = "user.set_manager"
	actionRemoveMethod  = "user.remove_auth_method"
	actionSetPhone      = "user.set_phone_method"
	actionDismissRisk   = "user.dismiss_risk"
	actionConfirmRisk   = "user.confirm_compromised"
	actionInviteGuest   = "user.invite_guest"
	actionLock          = "device.lock"
	actionResetPasscode = "device.reset_passcode"
	actionSignatures    = "device.update_signatures"
	actionAddOwner      = "group.add_owner"
	actionRemoveOwner   = "group.remove_owner"
	actionTeamAdd       = "team.add_member"
	actionTeamRemove    = "team.remove_member"
)

// Word lists shared by several cues.
const (
	phoneWords  = "phone|iphone|smartphone|=handy|mobile|movil|celular|telefono|telephone|android"
	deviceWords = "laptop|notebook|computer|pc|device|devices|gerat|gerate|rechner|ordenador|portatil|dispositivo|ordinateur|appareil|" + phoneWords
	lostWords   = "lost|lose|=stolen|verloren|gestohlen|perdi|perdido|perdida|robado|robaron|perdu|vole"
	changeWords = lostWords + "|new|=replaced|=replace|=changed|=change|broken|broke|gone|wiped|dead|neues|neue|neu|kaputt|gewechselt|ersetzt|nuevo|nueva|cambie|cambiado|roto|nouveau|nouvel|=casse"
	userWords   = "account|konto|cuenta|compte|user|benutzer|usuario|utilisateur|login|sign"
	addWords    = "=add|=make|=give|=grant|=put|hinzufugen|aufnehmen|machen|anadir|anade|agregar|agrega|hacer|=haz|ajouter|ajoute|ajoutez|nommer|=faire"
	removeWords = "=remove|=removed|=delete|=drop|=take|=kick|entfernen|austragen|herausnehmen|rausnehmen|loschen|quitar|quita|eliminar|=sacar|=saca|borrar|=retirer|supprimer|enlever"
	ownerWords  = "=owner|=owners|=co-owner|besitzer|inhaber|=eigentumer|propietario|propietaria|=dueno|=duena|proprietaire|=proprio"
	methodWords = "=method|=methods|methode|methoden|metodo|metodos|=methode|methodes|authenticator|authentifikator|autenticador|=fido|=fido2|=yubikey|=key|=sms|=number|nummer|numero|=app"
	riskWords   = "=risk|=risky|=risks|risiko|riesgo|riesgos|risque|risques|=flag|=flagged|=alert|=alerts|=warning"
	teamWords   = "=team|=teams|=channel|=kanal|=equipo|=equipe"
)

// lexicon maps cue words to the actions they ask for. A cue is a sequence
// of words found in order in one sentence, at most maxGap words apart (gap
// words when the entry sets it); "a & b" is two words found in either
// order, at most coGap words apart. Within a word, "|" separates
// alternatives; "stem*" matches words that begin with stem; "=word"
// matches only exactly; other words of five letters or more match with
// small misspellings (see near). notAfter are words that, just before the
// cue, make it mean something else ("locked out of Office").
var lexicon = compileLexicon([]lexSource{
	// Passwords.
	{cue: "password|passwort|kennwort|contrasena|=clave|=passwd|=pw|=pwd|=mdp", actions: []string{actionResetPassword}},
	{cue: "=mot passe", gap: 1, actions: []string{actionResetPassword}},
	{cue: "forgot|forgotten|=forget|vergessen|olvide|olvido|olvidado|olvidada|=oublie|oubliee", actions: []string{actionResetPassword}},
	{cue: "=locked|=lockout|gesperrt|ausgesperrt|bloqueado|bloqueada|=bloque|bloquee|verrouille|=unlock|entsperren|desbloquear|debloquer", actions: []string{actionResetPassword}},
	{cue: "=expired|=expire|=expires|abgelaufen|caducado|caducada|=caduco|expirado|expirada|=expiree", actions: []string{actionResetPassword}},
	// MFA: a new registration, or a pass to make one.
	{cue: "=mfa|=2fa|authenticator|authentifikator|autenticador|=otp|=totp|=tap|=codes|codigos|zugangspass", actions: mfaActions},
	{cue: "two|multi|zwei|dos|doble|double|deux & factor|faktor|factores|facteurs|pasos|etapes", actions: mfaActions},
	{cue: "=multifactor", actions: mfaActions},
	{cue: "verification|security|=sign|=login|sicherheits|bestatigungs|verificacion|seguridad|securite & =code|codigo", actions: mfaActions},
	{cue: "access|=pase|=passe & =pass|acceso|=acces", actions: mfaActions},
	{cue: phoneWords + " & " + changeWords, actions: mfaActions},
	// Automatic replies.
	{cue: "=out =office|=ofice|=offce", gap: 2, notAfter: "locked logged signed kicked shut", actions: []string{actionAutoReply}},
	{cue: "=ooo|abwesenheitsnotiz|abwesenheit|abwesenheitsassistent|=abwesend|ausencia|=ausente|absence|=absent|=absente|=vacation|=vacations|vacaciones|vacances|urlaub", actions: []string{actionAutoReply}},
	{cue: "=auto|automatic|automatische|automatica|automatique|automaticas|automatiques|automatischen & reply|replies|responder|antwort|antworten|respuesta|respuestas|reponse|reponses", actions: []string{actionAutoReply}},
	{cue: "=autoreply|autoresponder", actions: []string{actionAutoReply}},
	{cue: "=fuera oficina", gap: 3, actions: []string{actionAutoReply}},
	// Sessions, and an account someone else used.
	{cue: "=sign|=log =out", gap: 1, actions: []string{actionRevoke}},
	{cue: "=cerrar =sesion|=sesiones", gap: 3, actions: []string{actionRevoke}},
	{cue: "=signout|=logout|=abmelden|=deconnecter|=deconnectez|=deconnexion|=sessions|=session|sitzungen|=sesiones", actions: []string{actionRevoke}},
	{cue: "hack*|gehackt|=pirate|=piratee|compromis*|kompromittiert|comprometida|comprometido|phish*|suspicious|verdachtig|sospechoso|sospechosa|=suspect|=suspecte", actions: []string{actionRevoke, actionResetPassword}},
	{cue: "someone|somebody|jemand|alguien|quelqu & =logged|=signed|=login|accessed|eingeloggt|angemeldet|entrado|accedido|connecte", actions: []string{actionRevoke, actionResetPassword}},
	{cue: "=wasn|=weren =t =me", gap: 1, actions: []string{actionRevoke, actionResetPassword}},
	// Accounts.
	{cue: "=enable|=enabled|=reenable|reactivate|reaktivieren|habilitar|reactivar|reactiver|=disabled|deaktiviert|deshabilitada|deshabilitado|desactivada|desactivado|=desactive & " + userWords, actions: []string{actionEnable}},
	{cue: "=reenable|reactivate|unblock", actions: []string{actionEnable}},
	// Groups.
	{cue: "=add|=join|access|grant|member|membership|hinzufugen|aufnehmen|zugang|zugriff|mitglied|anadir|anade|agregar|agrega|unirme|acceso|miembro|ajouter|ajoute|ajoutez|rejoindre|=acces|membre", actions: []string{actionAddMember}},
	{cue: "=put =in|=into", gap: 3, actions: []string{actionAddMember}},
	{cue: "=remove|=removed|entfernen|austragen|herausnehmen|rausnehmen|quitar|quitame|eliminar|=sacar|=saca|=retirer|supprimer|enlever", actions: []string{actionRemoveMember}},
	{cue: "=take =out", gap: 3, actions: []string{actionRemoveMember}},
	{cue: "=group|=groups|gruppe|gruppen|grupo|grupos|groupe|groupes|verteiler|=move|=moved|verschieben|=mover|=deplacer", actions: []string{actionAddMember, actionRemoveMember}},
	// Licenses.
	{cue: "license|licence|licenses|licences|lizenz|lizenzen|licencia|licencias|subscription|abonnement|suscripcion|=e3|=e5", actions: []string{actionAssignLicense, actionRemoveLicense}},
	// Devices.
	{cue: "compliant|compliance|noncompliant|konform|konformitat|=cumple|cumplimiento|conforme|conformite|=sync|synchronize|synchronise|synchronisieren|sincronizar|synchroniser|intune|portal", actions: []string{actionSync}},
	{cue: "=check =in", gap: 1, actions: []string{actionSync}},
	{cue: deviceWords, actions: []string{actionSync}},
	{cue: "reboot|restart|neustart|neustarten|=reiniciar|=reinicia|=reinicie|redemarrer|redemarre|frozen|freezes|freezing|unresponsive|eingefroren|congelado|congelada", actions: []string{actionReboot}},
	{cue: "=neu =starten", gap: 1, actions: []string{actionReboot}},
	{cue: "=retire|unenroll|ausmustern|=retirar", actions: []string{actionRetire}},
	{cue: "=old|=alte|=altes|=alten|=viejo|=antiguo|=ancien|=ancienne & " + deviceWords, actions: []string{actionRetire}},
	{cue: "=wipe|=wiped|=erase|loschen|=borrar|formatear|effacer|werkseinstellungen|=fabrica|=usine", actions: []string{actionWipe}},
	{cue: "=factory =reset", gap: 1, actions: []string{actionWipe}},
	{cue: lostWords + " & " + deviceWords, actions: []string{actionRetire, actionWipe, actionLock}},
	// Device actions of the L2 catalog: a remote lock, a passcode removed,
	// antivirus signatures refreshed.
	{cue: "=lock|=sperren|=bloquear|=bloquea|=bloquee|verrouiller|verrouillez & " + deviceWords, actions: []string{actionLock}},
	{cue: "=remote =lock", gap: 1, actions: []string{actionLock}},
	{cue: "passcode|passcodes|=pin|=sperrcode|entsperrcode|=codigo|=code & forgot|forgotten|=forget|=reset|=remove|=clear|vergessen|zurucksetzen|entfernen|olvide|olvido|restablecer|quitar|=oublie|reinitialiser|supprimer", actions: []string{actionResetPasscode}},
	{cue: "defender|antivirus|virenschutz|=signature|=signatures|signaturen|=definitions|=firmas|definiciones|antivirenprogramm", actions: []string{actionSignatures}},
	// Accounts of the L2 catalog: blocked, a new manager, a guest invited.
	{cue: "=block|=disable|=deactivate|deaktivieren|deaktiviere|sperren|sperre|bloquear|bloquea|desactivar|desactiva|deshabilitar|bloquer|bloquez|desactiver|desactivez & " + userWords, actions: []string{actionBlockSignIn}},
	{cue: "=block|sperren|bloquear|bloquer =sign|=login|=signin|anmeldung|acceso|connexion", gap: 2, actions: []string{actionBlockSignIn}},
	{cue: "manager|=vorgesetzte|=vorgesetzten|=vorgesetzter|=chef|=chefin|=jefe|=jefa|=gerente|=responsable|=manageur & =set|=change|=update|=new|=now|=reports|neue|neuen|neuer|andern|=nuevo|=nueva|cambiar|=nouveau|=nouvelle|changer|=mettre", actions: []string{actionSetManager}},
	{cue: "=reports|=report =to", gap: 1, actions: []string{actionSetManager}},
	{cue: "invite|invitation|einladen|einladung|invitar|invitacion|inviter|=gast|=guest|=guests|invitado|invitada|=invite", actions: []string{actionInviteGuest}},
	// Single sign-in methods and risk.
	{cue: removeWords + " & " + methodWords + "|" + phoneWords, actions: []string{actionRemoveMethod}},
	{cue: "number|nummer|rufnummer|handynummer|telefonnummer|numero & " + addWords + "|=change|=update|=set|=new|andern|neue|neuen|aktualisieren|cambiar|=nuevo|actualizar|changer|=nouveau|=mettre", actions: []string{actionSetPhone}},
	{cue: "dismiss|=clear|=reset|=false|zurucksetzen|verwerfen|=descartar|=ignorar|=ignorer|=lever|=effacer|=borrar & " + riskWords, actions: []string{actionDismissRisk}},
	{cue: "=false =positive|=alarm", gap: 1, actions: []string{actionDismissRisk}},
	{cue: "confirm|=mark|bestatigen|markieren|confirmar|marcar|confirmer|marquer & compromised|compromis*|kompromittiert|comprometida|comprometido|hacked|gehackt|hackeada|hackeado|=pirate|=piratee", actions: []string{actionConfirmRisk}},
	// Owners of groups, members of teams.
	{cue: addWords + " & " + ownerWords, actions: []string{actionAddOwner}},
	{cue: removeWords + " & " + ownerWords, actions: []string{actionRemoveOwner}},
	{cue: addWords + "|=join|member|mitglied|miembro|membre & " + teamWords, actions: []string{actionTeamAdd}},
	{cue: addWords + "|=join " + teamWords, gap: 6, actions: []string{actionTeamAdd}},
	{cue: removeWords + " " + teamWords, gap: 6, actions: []string{actionTeamRemove}},
	{cue: ownerWords + " & " + teamWords, actions: []string{actionTeamAdd}},
	{cue: removeWords + " & " + teamWords, actions: []string{actionTeamRemove}},
	// Lifecycle plans (lifecycle.go).
	{cue: "offboard*|=leaver|=leavers", actions: []string{tierzero.ActionOffboard}},
	{cue: "=last =day", gap: 1, actions: []string{tierzero.ActionOffboard}},
	{cue: "onboard*|=starter|=joiner", actions: []string{tierzero.ActionOnboard}},
	{cue: "=new =hire|=employee|=colleague", gap: 1, actions: []string{tierzero.ActionOnboard}},
	// A client tenant's baseline (baseline.go): its plan, either phase.
	{cue: "baseline*|basislinie*", actions: []string{tierzero.ActionBaselineApply}},
	{cue: "=report =only|=reportonly", gap: 1, actions: []string{tierzero.ActionBaselineApply}},
})

var mfaActions = []string{actionResetMFA, actionIssueTAP}

// Words that say which way an auto-reply should go.
var (
	replyOff     = termSet("off disable deactivate stop remove cancel end ausschalten abschalten deaktivieren deaktiviere ausstellen beenden entfernen desactivar desactiva desactive quitar quita quitame apagar apaga eliminar desactiver desactivez enlever enlevez supprimer couper arreter retirer")
	replyBack    = termSet("back zuruck wieder volvi vuelto regrese retour rentre rentree")
	replyOn      = termSet("set setup enable activate create put saying message text until einrichten aktivieren einschalten anlegen bis activar activa activas activame configurar configura poner pon hasta activer activez mettre configurer jusqu")
	replyOnAfter = termSet("turn switch") // followed by "on"
)

// autoReplyDirection reads which way a sentence wants the automatic
// replies: an explicit verb decides; "I'm back" alone means off; quoted
// text to send means on.
func autoReplyDirection(toks []string, quoted bool) string {
	on, off, back := quoted, false, false
	for i, t := range toks {
		switch {
		case replyOn[t]:
			on = true
		case t == "on" && i > 0 && (replyOnAfter[toks[i-1]] || i > 1 && replyOnAfter[toks[i-2]]):
			on = true
		case replyOff[t]:
			off = true
		case replyBack[t]:
			back = true
		}
	}
	switch {
	case on && !off:
		return autoReplyOn
	case off && !on, back && !on:
		return autoReplyOff
	}
	return ""
}

// Gaps, in words, between the words of a cue.
const (
	maxGap = 2 // in order: "sign me out", "out of the office"
	coGap  = 4 // either order: "codes on my phone are gone"
)

// lexSource is a lexicon entry as written (see lexicon).
type lexSource struct {
	cue      string
	gap      int    // words allowed between the words of an ordered cue; 0: maxGap
	notAfter string // words that must not come just before the cue
	actions  []string
}

// cue is a compiled lexicon entry.
type cue struct {
	words    [][]cueWord // the words of the cue, each a set of alternatives
	co       bool        // two words in either order
	gap      int
	notAfter map[string]bool
}

type cueWord struct {
	w      string
	exact  bool
	prefix bool
	near   word // w, for near
}

// word is a word with what near reads of it, computed once.
type word struct {
	s  string
	n  int    // runes of s
	f  string // s with "ph" read as "f"
	fn int    // runes of f
	// set has a bit for each rune of f (rune mod 64): every rune of one
	// word that the other lacks takes an edit.
	set uint64
}

func newWord(s string) word {
	w := word{s: s, n: utf8.RuneCountInString(s), f: s}
	if strings.Contains(s, "ph") {
		w.f = strings.ReplaceAll(s, "ph", "f")
	}
	w.fn = w.n
	if len(w.f) != len(s) {
		w.fn = utf8.RuneCountInString(w.f)
	}
	for _, r := range w.f {
		w.set |= 1 << (uint(r) % 64)
	}
	return w
}

type lexEntry struct {
	cue     cue
	actions []string
}

func compileLexicon(entries []lexSource) []lexEntry {
	out := make([]lexEntry, 0, len(entries))
	for _, e := range entries {
		c := cue{gap: e.gap, notAfter: termSet(e.notAfter)}
		if c.gap == 0 {
			c.gap = maxGap
		}
		parts := strings.Fields(e.cue)
		if i := slices.Index(parts, "&"); i >= 0 {
			c.co = true
			parts = []string{strings.Join(parts[:i], "|"), strings.Join(parts[i+1:], "|")}
		}
		for _, p := range parts {
			var alts []cueWord
			for _, a := range strings.Split(p, "|") {
				if a == "" {
					continue
				}
				w := cueWord{w: a}
				if strings.HasPrefix(a, "=") {
					w.w, w.exact = a[1:], true
				}
				if strings.HasSuffix(w.w, "*") {
					w.w, w.prefix = strings.TrimSuffix(w.w, "*"), true
				}
				w.near = newWord(w.w)
				alts = append(alts, w)
			}
			c.words = append(c.words, alts)
		}
		out = append(out, lexEntry{cue: c, actions: e.actions})
	}
	return out
}

// termSet is the set of the words of s.
func termSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// match returns the words of toks that make the cue, "" when it is not in
// toks.
func (c cue) match(toks []word) string {
	for i, t := range toks {
		if !matchAny(t, c.words[0]) || i > 0 && c.notAfter[toks[i-1].s] {
			continue
		}
		if c.co {
			for j := max(0, i-coGap); j < min(len(toks), i+coGap+1); j++ {
				if j != i && matchAny(toks[j], c.words[1]) {
					return joinWords(toks[min(i, j) : max(i, j)+1])
				}
			}
			continue
		}
		if end := c.rest(toks, i+1, 1); end > 0 {
			return joinWords(toks[i:end])
		}
	}
	return ""
}

func joinWords(ws []word) string {
	if len(ws) == 1 {
		return ws[0].s
	}
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.s)
	}
	return b.String()
}

// rest matches the words from k on, starting at toks[from]; it returns
// the index after the last word matched, 0 when they do not match.
func (c cue) rest(toks []word, from, k int) int {
	if k == len(c.words) {
		return from
	}
	for j := from; j < len(toks) && j <= from+c.gap; j++ {
		if matchAny(toks[j], c.words[k]) {
			if end := c.rest(toks, j+1, k+1); end > 0 {
				return end
			}
		}
	}
	return 0
}

func matchAny(tok word, alts []cueWord) bool {
	for i := range alts {
		if alts[i].match(tok) {
			return true
		}
	}
	return false
}

// match reports whether tok is the word w: equal; for a stem, beginning
// with it; else, for a word of five letters or more, within an edit of
// it (two for eight letters or more), read with "ph" as "f", or ending a
// longer German compound ("anmeldecodes").
func (w *cueWord) match(tok word) bool {
	switch {
	case tok.s == w.w:
		return true
	case w.exact:
		return false
	case w.prefix:
		return strings.HasPrefix(tok.s, w.w)
	}
	return nearWord(tok, w.near)
}

// near reports whether tok is word misspelled, or a compound ending with
// it. word is a vocabulary word.
func near(tok, word string) bool { return nearWord(newWord(tok), newWord(word)) }

func nearWord(tok, word word) bool {
	if word.n < 5 || tok.n < 4 {
		return false
	}
	if len(tok.s) >= len(word.s)+3 && strings.HasSuffix(tok.s, word.s) {
		return true
	}
	if word.fn < 5 {
		return tok.f == word.f // "fone" is "phone", "done" is not
	}
	limit := 1
	if word.n >= 8 {
		limit = 2
	}
	if d := tok.fn - word.fn; d > limit || -d > limit {
		return false // as EditDistance would say, sooner
	}
	if bits.OnesCount64(tok.set&^word.set) > limit || bits.OnesCount64(word.set&^tok.set) > limit {
		return false // more runes to change than the limit, as EditDistance would say
	}
	return tierzero.EditDistance(tok.f, word.f, limit) <= limit
}

// wordIndex is what the requester wrote, folded, for finding values in
// it: the words, their runs of grams, and the raw folded text.
type wordIndex struct {
	text  string          // folded messages, each followed by a newline
	toks  []string        // words, each message's followed by ""
	grams map[string]bool // runs of gramSize words
}

func (x *wordIndex) add(text string) {
	f := tierzero.Fold(text)
	x.text += f + "\n"
	toks := valueWords(f)
	x.toks = append(append(x.toks, toks...), "")
	if x.grams == nil {
		x.grams = map[string]bool{}
	}
	for _, g := range grams(toks) {
		x.grams[g] = true
	}
}

// valueWords splits folded text into words of letters and digits, for
// comparing values: "ZX-4412" is "zx", "4412".
func valueWords(f string) []string {
	return strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// gramSize is the length, in words, of a run of text whose presence in
// tool output, and absence from the requester's words, makes an argument
// untrusted.
const gramSize = 4

// grams returns the runs of gramSize words of toks.
func grams(toks []string) []string {
	var out []string
	for i := 0; i+gramSize <= len(toks); i++ {
		out = append(out, strings.Join(toks[i:i+gramSize], " "))
	}
	return out
}

// contains reports whether the requester wrote phrase (folded words, in
// order, each allowed a misspelling when long enough).
func (x *wordIndex) contains(phrase string) bool {
	want := valueWords(tierzero.Fold(phrase))
	if len(want) == 0 {
		return false
	}
	if x.hasText(phrase) {
		return true
	}
	for i := range x.toks {
		ok := true
		for k, w := range want {
			if i+k >= len(x.toks) || !(x.toks[i+k] == w || near(x.toks[i+k], w)) {
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

// hasWord reports whether the requester wrote the word w (folded).
func (x *wordIndex) hasWord(w string) bool {
	return slices.Contains(x.toks, w)
}

// hasText reports whether the requester wrote s as it is (folded), not
// as a part of a longer word: "g1" is not in "g12".
func (x *wordIndex) hasText(s string) bool {
	f := strings.TrimSpace(tierzero.Fold(s))
	if f == "" {
		return false
	}
	alnum := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	first, _ := utf8.DecodeRuneInString(f)
	last, _ := utf8.DecodeLastRuneInString(f)
	for i := 0; ; {
		j := strings.Index(x.text[i:], f)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(f)
		before, _ := utf8.DecodeLastRuneInString(x.text[:start])
		after, _ := utf8.DecodeRuneInString(x.text[end:])
		if (start == 0 || !alnum(first) || !alnum(before)) && (end == len(x.text) || !alnum(last) || !alnum(after)) {
			return true
		}
		i = start + 1
	}
}
