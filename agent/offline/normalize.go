package offline

import (
	"strings"
	"unicode/utf8"

	"github.com/tierzero/tierzero"
)

// The rules model reads a request in a canonical form: lowercase, without
// accents, misspellings of its vocabulary corrected, synonyms and the cue
// words of German, Spanish and French replaced by the English words its
// patterns use. Names, addresses and messages are always taken from the
// text as written, never from this form.

// lang is a language the model recognizes in a request.
type lang string

const (
	english lang = "en"
	german  lang = "de"
	spanish lang = "es"
	french  lang = "fr"
)

// langWords are words that tell a language; each counts once.
var langWords = map[lang][]string{
	german: {"ich", "mein", "meine", "meinen", "meiner", "bitte", "habe", "nicht", "und", "ist", "das", "der", "die", "kann", "kannst",
		"konnen", "sie", "mir", "mich", "fur", "auf", "seit", "mehr", "hallo", "danke", "passwort", "kennwort", "handy", "gruppe", "es",
		"wie", "was", "noch", "schon", "ein", "eine", "einen", "mit", "von", "bis", "zu", "nimm", "komme", "geht", "funktioniert", "abwesenheitsnotiz"},
	spanish: {"hola", "mi", "mis", "no", "puedo", "por", "favor", "el", "que", "y", "se", "los", "las", "para", "con", "esta", "me",
		"contrasena", "olvide", "tengo", "necesito", "buenos", "dias", "gracias", "cuenta", "movil", "pueden", "puede", "encima", "donde",
		"del", "al", "una", "un", "respuesta", "automatica", "grupo", "hasta", "dice", "ya", "deja"},
	french: {"bonjour", "je", "j'ai", "mon", "ma", "mes", "pas", "les", "et", "vous", "est", "ne", "plus", "n'arrive", "pouvez-vous",
		"pouvez", "merci", "mot", "passe", "oublie", "telephone", "au", "aux", "une", "un", "du", "des", "que", "pour", "avec", "reponse",
		"automatique", "groupe", "jusqu'au", "peux-tu", "salut", "dois-je", "l'ancien", "ordinateur", "conforme", "suis", "c'est"},
}

var wordRE = mustPattern(`[\p{L}0-9][\p{L}0-9'-]*`)

// detectLang tells the language of text (readLang, remembered).
func detectLang(text string) lang { return langMemo.Get(text) }

var langMemo = newMemo(readLang)

// readLang tells the language of text: German, Spanish or French when
// enough of their words are in it, else English.
func readLang(text string) lang {
	words := wordRE.FindAllString(tierzero.Fold(upnPattern.ReplaceAllString(text, " ")), -1)
	seen := map[string]bool{}
	for _, w := range words {
		seen[w] = true
	}
	best, bestN, second := english, 0, 0
	for _, l := range []lang{german, spanish, french} {
		n := 0
		for _, w := range langWords[l] {
			if seen[w] {
				n++
			}
		}
		switch {
		case n > bestN:
			best, second, bestN = l, bestN, n
		case n > second:
			second = n
		}
	}
	en := 0
	for _, w := range []string{"i", "my", "the", "is", "and", "to", "please", "can", "you", "it", "me", "of", "for", "in", "not", "a"} {
		if seen[w] {
			en++
		}
	}
	if bestN >= 2 && bestN > second && bestN > en {
		return best
	}
	return english
}

// Phrases are rewritten before single words; the right side is canonical
// English.
type rewrite struct {
	re   pattern
	with string
}

// englishPhrases are rewritten after the foreign ones, and again after the
// synonyms.
var englishPhrases = []rewrite{
	{mustPattern(`\b(won'?t|doesn'?t|does not|will not|don'?t|do not|didn'?t|can't|cant) let(s)? me (in|sign in|log in)\b|\bno longer lets? me (in|sign in|log in)\b`), "can't sign in"},
	{mustPattern(`\b(can ?not|can't|cant|could ?n'?t|couldnt|unable to|not able to|won'?t let me|wont let me|doesn'?t let me|does not let me|will not let me|no longer lets? me|don'?t let me)\b`), "can't"},
	{mustPattern(`\b(log|sign)[- ]?(in|on)(to)?\b|\blogon\b|\bsignin\b|\blogin\b|\bget (in|into)\b|\bgetting (in|into)\b`), "sign in"},
	{mustPattern(`\b(logg|sign)(ed|ing) ?in(to)?\b`), "signed in"},
	{mustPattern(`\b(log|sign)[- ]?(out|off)\b|\blogout\b`), "sign out"},
	{mustPattern(`\bturn of (my|the|it|our)\b`), "turn off $1"},
	{mustPattern(`\bout[- ]of[- ](the[- ])?office\b|\booo\b|\bauto(matic)?[- ]?(reply|replies|responder|response|responses|answer)\b|\baway (message|reply)\b|\bvacation (reply|responder|message|notice)\b|\bholiday (reply|message)\b`), "autoreply"},
	{mustPattern(`\b(two|2|multi)[- ]?(factor|step)( authentication| verification)?\b|\b2fa\b|\bmfa\b|\bauthenticator( app)?\b|\b(verification|security|sign in|login|mfa|6 digit) codes?\b|\bnumber matching\b`), "mfa"},
	{mustPattern(`\bpass ?words?\b|\bpwd\b|\bpw\b|\bpasswd\b|\bpword\b`), "password"},
	{mustPattern(`\b(don'?t|do not|can'?t) remember\b|\bforgotten\b|\bforget\b`), "forgot"},
	{mustPattern(`\b(non|not|no longer|isn'?t|is not|aren'?t|not longer)[- ]?(compliant|complient|compliance)\b|\bnoncompliant\b`), "not compliant"},
	{mustPattern(`\bcompany ?portal\b`), "company portal"},
	{mustPattern(`\bdistribution list\b`), "group"},
}

// foreignPhrases are the phrases of German, Spanish and French requests.
var foreignPhrases = []rewrite{
	// German.
	{mustPattern(`\bnicht (mehr )?konform\b|\bnicht (mehr )?richtlinienkonform\b`), "not compliant"},
	{mustPattern(`\b(abwesenheits(notiz|nachricht|assistent|meldung)|automatische (antwort|antworten)|out-of-office-nachricht)\b`), "autoreply"},
	{mustPattern(`\bunternehmensportal\b`), "company portal"},
	{mustPattern(`\b(komme?|kommst|lasst mich|lasst)\b[^?!]{0,40}\bnicht\b[^?!]{0,30}\b(rein|hinein)\b|\bkann mich\b[^.?!]{0,30}\bnicht\b[^.?!]{0,20}\b(anmelden|einloggen)\b`), "can't sign in"},
	{mustPattern(`\b(anmelde|login)codes?\b`), "mfa"},
	{mustPattern(`\bneu(es|e|en)? handy\b|\bneu(es|e|en)? telefon\b|\bneu(es|e|en)? smartphone\b`), "new phone"},
	{mustPattern(`\bnimm\b([^?!\n]{0,80}?)\bauf\b`), "add$1"},
	{mustPattern(`\bneu starten\b|\bneustarten\b`), "restart"},

	// Spanish.
	{mustPattern(`\bno cumple\b|\bincumpl\w*`), "not compliant"},
	{mustPattern(`\brespuesta(s)? automatica(s)?\b|\bfuera de (la )?oficina\b|\bmensaje de (ausencia|vacaciones)\b`), "autoreply"},
	{mustPattern(`\bportal de (empresa|la empresa)\b`), "company portal"},
	{mustPattern(`\bno (puedo|consigo|logro) (iniciar sesion|entrar|acceder|conectarme)\b|\bno me deja (entrar|iniciar sesion|acceder)\b`), "can't sign in"},
	{mustPattern(`\biniciar sesion\b`), "sign in"},
	{mustPattern(`\bse me olvido\b|\bme olvide de\b`), "forgot"},

	// French.
	{mustPattern(`\bmot de passe\b|\bmots de passe\b`), "password"},
	{mustPattern(`\b(n'est|ne sont)? ?(pas|plus|non) conformes?\b`), "not compliant"},
	{mustPattern(`\breponses? automatiques?\b|\bmessage d'absence\b|\bgestionnaire d'absence\b|\bhors du bureau\b`), "autoreply"},
	{mustPattern(`\bportail (d'entreprise|de l'entreprise|company portal)\b`), "company portal"},
	{mustPattern(`\bordinateur portable\b|\bpc portable\b`), "laptop"},
	{mustPattern(`\b(n'arrive|arrive) (plus|pas) a (me connecter|acceder|entrer)\b|\bje ne peux (plus|pas) (me connecter|acceder|entrer)\b`), "can't sign in"},
	{mustPattern(`\bme connecter\b|\bse connecter\b`), "sign in"},
	{mustPattern(`\bchange de (telephone|portable|mobile)\b`), "changed phone"},
}

// synonyms replace single words. Foreign words map to the English words
// the patterns use.
var synonyms = map[string]string{
	// English
	"fone": "phone", "cellphone": "phone", "cell": "phone", "mobile": "phone", "smartphone": "phone", "handphone": "phone",
	"notebook": "laptop", "computer": "laptop", "pc": "laptop", "macbook": "laptop", "lappy": "laptop",
	"licence": "license", "licences": "licenses", "pls": "please", "plz": "please", "pleas": "please", "thx": "thanks",
	"u": "you", "ur": "your", "im": "i'm", "dont": "don't", "doesnt": "doesn't", "isnt": "isn't", "wont": "won't",
	"hacked": "hacked", "hijacked": "hacked", "unlock": "unlock", "reboot": "restart", "reactivate": "enable", "re-enable": "enable",
	"expried": "expired", "expird": "expired",
	// German
	"passwort": "password", "kennwort": "password", "vergessen": "forgot", "zurucksetzen": "reset", "zurückzusetzen": "reset",
	"zuruckzusetzen": "reset", "neues": "new", "neu": "new", "neue": "new", "abgelaufen": "expired", "gesperrt": "locked",
	"entsperren": "unlock", "handy": "phone", "telefon": "phone", "verloren": "lost", "gestohlen": "stolen", "kaputt": "broken",
	"gruppe": "group", "hinzufugen": "add", "lizenz": "license", "lizenzen": "licenses", "gehackt": "hacked", "konform": "compliant",
	"bitte": "please", "rechner": "laptop", "geratet": "device", "gerat": "device", "neustart": "restart", "loschen": "wipe",
	"aktivieren": "enable", "einrichten": "set up", "abschalten": "turn off", "ausschalten": "turn off", "deaktivieren": "turn off",
	"urlaub": "vacation", "weihnachtsferien": "holidays", "ferien": "holidays", "hallo": "hello", "danke": "thanks",
	"brauche": "need", "konnen": "can you", "kannst": "can you", "konnten": "could you", "konntest": "could you",
	// Spanish
	"contrasena": "password", "clave": "password", "olvide": "forgot", "olvido": "forgot", "restablecer": "reset",
	"restablezcan": "reset", "restablezca": "reset", "resetear": "reset", "reiniciar": "restart", "caducado": "expired",
	"caducada": "expired", "caduco": "expired", "expirado": "expired", "expirada": "expired", "bloqueada": "locked",
	"bloqueado": "locked", "desbloquear": "unlock", "movil": "phone", "celular": "phone", "telefono": "phone", "perdi": "lost",
	"perdido": "lost", "robaron": "stolen", "nuevo": "new", "nueva": "new", "grupo": "group", "anadir": "add", "anadan": "add",
	"anadais": "add", "agregar": "add", "agreguen": "add", "licencia": "license", "licencias": "licenses",
	"hackeado": "hacked", "hackeada": "hacked", "portatil": "laptop", "ordenador": "laptop", "directivas": "policies",
	"politicas": "policies", "cumplimiento": "compliance", "borrar": "wipe", "activa": "turn on", "activas": "turn on",
	"activar": "turn on", "desactivar": "turn off", "desactiva": "turn off", "vacaciones": "vacation", "necesito": "need",
	"hola": "hello", "gracias": "thanks", "pueden": "can you", "puedes": "can you", "podeis": "can you", "podrian": "could you",
	"portable": "phone", "acceso": "access", "acces": "access", "zugang": "access", "zugriff": "access",
	"fuge": "add", "fugen": "add", "fugt": "add", "ajoutez-moi": "add me", "ajoute-moi": "add me", "anademe": "add me", "agregame": "add me",
	// French
	"oublie": "forgot", "reinitialiser": "reset", "reinitialise": "reset", "reinitialisez": "reset", "expire": "expired",
	"bloque": "locked", "verrouille": "locked", "telephone": "phone", "perdu": "lost", "vole": "stolen", "nouveau": "new",
	"nouvelle": "new", "groupe": "group", "ajouter": "add", "ajoute": "add", "ajoutez": "add",
	"pirate": "hacked", "conforme": "compliant", "conformite": "compliance", "effacer": "wipe", "redemarrer": "restart",
	"activer": "turn on", "desactiver": "turn off", "absente": "away", "absent": "away", "conges": "vacation",
	"bonjour": "hello", "salut": "hello", "merci": "thanks", "pouvez-vous": "can you", "peux-tu": "can you", "pourriez-vous": "could you",
}

// vocabulary is what misspellings are corrected to: the words the
// patterns look for.
var vocabulary = []string{
	"password", "passwords", "forgot", "reset", "expired", "locked", "unlock", "lockout", "account", "outlook", "office",
	"laptop", "phone", "authenticator", "compliant", "compliance", "portal", "license", "licenses", "group", "groups",
	"access", "hacked", "compromised", "phishing", "suspicious", "automatic", "replies", "reply", "vacation", "holiday",
	"holidays", "device", "devices", "company", "intune", "teams", "again", "anything", "everything", "something", "nothing",
	"remember", "change", "member", "stolen", "broken", "replaced", "enable", "disable", "restart", "remove", "assign",
	"message", "until", "tomorrow", "today", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"january", "february", "march", "april", "june", "july", "august", "september", "october", "november", "december",
	"please", "working", "encryption", "bitlocker", "firewall", "update", "updates", "policy", "policies", "sessions",
	"everywhere", "temporary", "verification", "codes", "approve", "windows", "iphone", "android", "sharepoint", "onedrive",
	"email", "emails", "mailbox", "colleague", "manager", "think", "leave", "signed", "wiped", "because", "what", "anymore",
	"doesn't", "isn't", "can't", "won't", "still", "since", "morning", "weekend", "security", "access", "assigned",
}

// known are words that are right as written: no correction toward the
// vocabulary (real words that look like a word of it).
var known = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range vocabulary {
		m[w] = true
	}
	for w := range synonyms {
		m[w] = true
	}
	for _, w := range strings.Fields(`forget forgets forgotten forgetting resets resetting reseted expire expires locks locking
		locker lockers unlocked accounts offices offline online phones phoned laptops portals licensed licensing grouped grouping
		accessed accesses hacker hackers hacking changes changed changing chance chances members remembers removed removes
		assigns enabled enables disabled disables restarted messages messaged updated updating policy's device's company's
		sessions session approved approves approval codes coded coding still stall stole steal worked works workers
		replied replying reply's holiday's vacations today's leaves leaving lease least thinks thing things thank thanks
		email's emails colleagues managers where there their these those three threw throw three other others whose
		please pleased place places plane phase phrase photo photos phony alone along among about above after always
		again against agent agents anyone answer answers another account's windows window widows winter wonder
		order ordered orders outdoor outlet output offer offered office's officer officers officials since singed
		signal signs signed signing single sister still stuck sticky store stores story stored storm start started
		until units unite until'll until's lately later latest laptop's enough change's hangs hanged hanger
		group's groups' groupe grupo gruppe codes' modes model models nodes notes noted votes voted point points
		paste pasted pastes passed passes passage passion passive pissed poster posted posts reply replay relay
		comply complies complied complain complains complained`) {
		m[w] = true
	}
	return m
}()

// correct returns the vocabulary word w is a misspelling of, or w: words
// of five letters or more, one edit away (two for eight letters or more,
// the first letter kept). An edit is an insertion, a deletion, a
// substitution or two neighbours swapped.
func correct(w string) string {
	n := utf8.RuneCountInString(w)
	if n < 5 || known[w] || strings.ContainsAny(w, "0123456789@") {
		return w
	}
	max := 1
	if n >= 8 {
		max = 2
	}
	best, bestD := w, max+1
	for _, v := range vocabulary {
		if d := tierzero.EditDistance(w, v, max); d < bestD && (d == 1 || v[0] == w[0]) {
			best, bestD = v, d
		}
	}
	return best
}

// canon is the canonical form of text the patterns read (canonical,
// remembered).
func canon(text string) string { return canonMemo.Get(text) }

var canonMemo = newMemo(canonical)

// canonical is the canonical form of text the patterns read: folded, user
// names kept as written, misspellings corrected, phrases and synonyms
// replaced.
func canonical(text string) string {
	t := tierzero.Fold(text)
	t = rewriteAll(t, foreignPhrases)
	// Words, but not inside user names, are corrected and replaced.
	t = eachWord(t, correct)
	t = rewriteAll(t, englishPhrases)
	t = eachWord(t, func(w string) string {
		if s, ok := synonyms[w]; ok {
			return s
		}
		return w
	})
	// Phrases the synonyms made ("new telefon" -> "new phone").
	t = rewriteAll(t, englishPhrases)
	return t
}

// rewriteAll applies the rewrites rs to t, in order.
func rewriteAll(t string, rs []rewrite) string {
	for _, r := range rs {
		t = r.re.ReplaceAllString(t, r.with)
	}
	return t
}

// eachWord returns t with each word that is not inside a user name
// replaced by f(word).
func eachWord(t string, f func(string) string) string {
	spans := upnPattern.FindAllStringIndex(t, -1)
	var b strings.Builder
	last := 0
	for _, m := range wordRE.FindAllStringIndex(t, -1) {
		if inSpans(m[0], spans) {
			continue
		}
		b.WriteString(t[last:m[0]])
		b.WriteString(f(t[m[0]:m[1]]))
		last = m[1]
	}
	b.WriteString(t[last:])
	return b.String()
}

func inSpans(i int, spans [][]int) bool {
	for _, s := range spans {
		if i >= s[0] && i < s[1] {
			return true
		}
	}
	return false
}
