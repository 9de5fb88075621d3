package offline

import (
	"fmt"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

// The model answers in the requester's language for the replies it makes
// most; the rest it says in English, and says so.

// phrase names a reply the model can make in several languages.
type phrase int

const (
	msgResetSelf phrase = iota
	msgResetOther
	msgTAPSelf
	msgTAPOther
	msgApprovalSent
	msgApprovalUnavailable
	msgAutoReplyScheduled
	msgAutoReplyOn
	msgAutoReplyOff
	msgAutoReplyAsk
	msgAutoReplyAskMessage
	msgSyncDone
	msgOnlyYourOwn
	msgCannot
	msgHandOver
	msgPartHandedOver
	msgEnglishOnly
	msgSmartLockout
	msgBlockedCA
)

var phrases = map[phrase]map[lang]string{
	msgResetSelf: {
		english: "Done: I reset your password. The temporary password was delivered to you privately; you will be asked to choose a new one when you sign in.",
		german:  "Erledigt: Ich habe Ihr Passwort zurückgesetzt. Das vorläufige Passwort erhalten Sie in einer privaten Nachricht; bei der nächsten Anmeldung wählen Sie ein neues.",
		spanish: "Hecho: he restablecido su contraseña. Recibirá la contraseña temporal en un mensaje privado; al iniciar sesión se le pedirá que elija una nueva.",
		french:  "C'est fait : j'ai réinitialisé votre mot de passe. Le mot de passe temporaire vous a été envoyé en privé ; vous en choisirez un nouveau à la prochaine connexion.",
	},
	msgResetOther: {
		english: "Done: I reset the password of %s. The temporary password was delivered to you privately, to pass on; %[1]s will choose their own at the next sign-in.",
		german:  "Erledigt: Ich habe das Passwort von %s zurückgesetzt. Das vorläufige Passwort haben Sie privat erhalten, zum Weitergeben; bei der nächsten Anmeldung wird ein eigenes gewählt.",
		spanish: "Hecho: he restablecido la contraseña de %s. La contraseña temporal le llegó en privado para que se la pase; al iniciar sesión elegirá una propia.",
		french:  "C'est fait : j'ai réinitialisé le mot de passe de %s. Le mot de passe temporaire vous a été envoyé en privé, à transmettre ; un nouveau sera choisi à la prochaine connexion.",
	},
	msgTAPSelf: {
		english: "I issued a one-time Temporary Access Pass and delivered it to you privately. Within the hour, sign in with it at https://aka.ms/mysecurityinfo and register your new phone.",
		german:  "Ich habe einen einmaligen befristeten Zugangspass (Temporary Access Pass) ausgestellt und Ihnen privat geschickt. Melden Sie sich damit innerhalb einer Stunde unter https://aka.ms/mysecurityinfo an und richten Sie Ihr neues Handy ein.",
		spanish: "He emitido un pase de acceso temporal (Temporary Access Pass) de un solo uso y se lo he enviado en privado. En la próxima hora, inicie sesión con él en https://aka.ms/mysecurityinfo y registre su móvil nuevo.",
		french:  "J'ai émis un passe d'accès temporaire (Temporary Access Pass) à usage unique et je vous l'ai envoyé en privé. Dans l'heure, connectez-vous avec sur https://aka.ms/mysecurityinfo et enregistrez votre nouveau téléphone.",
	},
	msgTAPOther: {
		english: "I issued a one-time Temporary Access Pass for %s and delivered it to you privately, to pass on. Within the hour, they sign in with it at https://aka.ms/mysecurityinfo and register the new phone.",
		german:  "Ich habe einen einmaligen Zugangspass für %s ausgestellt und Ihnen privat geschickt, zum Weitergeben. Damit wird innerhalb einer Stunde unter https://aka.ms/mysecurityinfo das neue Handy eingerichtet.",
		spanish: "He emitido un pase de acceso temporal de un solo uso para %s y se lo he enviado en privado para que se lo pase. En la próxima hora, con él se registra el móvil nuevo en https://aka.ms/mysecurityinfo.",
		french:  "J'ai émis un passe d'accès temporaire à usage unique pour %s et je vous l'ai envoyé en privé, à transmettre. Dans l'heure, il permet d'enregistrer le nouveau téléphone sur https://aka.ms/mysecurityinfo.",
	},
	msgApprovalSent: {
		english: "This needs approval (%s): I've sent it for approval%s, and nothing changes until it is approved. You'll hear back here.",
		german:  "Das muss erst genehmigt werden (%s): Ich habe es zur Genehmigung geschickt%s; bis dahin ändert sich nichts. Sie hören hier wieder von mir.",
		spanish: "Esto necesita aprobación (%s): lo he enviado para su aprobación%s y nada cambia hasta que se apruebe. Le avisaré aquí.",
		french:  "Cela doit être approuvé (%s) : je l'ai envoyé pour approbation%s, et rien ne change avant l'approbation. Je vous tiens au courant ici.",
	},
	msgApprovalUnavailable: {
		english: "This needs approval (%s), and I can't request approvals here yet, so nothing was changed.",
		german:  "Das muss genehmigt werden (%s), und Genehmigungen kann ich hier noch nicht anfordern; es wurde nichts geändert.",
		spanish: "Esto necesita aprobación (%s) y aquí todavía no puedo pedir aprobaciones, así que no se ha cambiado nada.",
		french:  "Cela doit être approuvé (%s), et je ne peux pas encore demander d'approbation ici : rien n'a été modifié.",
	},
	msgAutoReplyScheduled: {
		english: "Done: %s automatic replies are on from %s until %s.",
		german:  "Erledigt: Die automatische Antwort%s ist vom %s bis %s eingerichtet.",
		spanish: "Listo: la respuesta automática%s está activa del %s al %s.",
		french:  "C'est fait : la réponse automatique%s est active du %s au %s.",
	},
	msgAutoReplyOn: {
		english: "Done: %s automatic replies are on until you ask me to turn them off.",
		german:  "Erledigt: Die automatische Antwort%s ist eingeschaltet, bis Sie mich bitten, sie auszuschalten.",
		spanish: "Listo: la respuesta automática%s está activa hasta que me pida desactivarla.",
		french:  "C'est fait : la réponse automatique%s est active jusqu'à ce que vous me demandiez de la désactiver.",
	},
	msgAutoReplyOff: {
		english: "Done: %s automatic replies are off.",
		german:  "Erledigt: Die automatische Antwort%s ist ausgeschaltet.",
		spanish: "Listo: la respuesta automática%s está desactivada.",
		french:  "C'est fait : la réponse automatique%s est désactivée.",
	},
	msgAutoReplyAsk: {
		english: "Sure. From when until when will you be away, and what should your automatic reply say? For example: from 21 December until 4 January: \"I'm out of the office until 4 January. For anything urgent, contact Alex at alex@example.com.\"",
		german:  "Gern. Von wann bis wann sind Sie abwesend, und welcher Text soll in der automatischen Antwort stehen? Zum Beispiel: vom 21. Dezember bis 4. Januar: \"Ich bin bis 4. Januar nicht im Büro. In dringenden Fällen wenden Sie sich an alex@example.com.\"",
		spanish: "Claro. ¿Desde cuándo y hasta cuándo estará fuera, y qué texto debe decir la respuesta automática? Por ejemplo: del 21 de diciembre al 4 de enero: \"Estoy fuera de la oficina hasta el 4 de enero. Para temas urgentes, escriba a alex@example.com.\"",
		french:  "Bien sûr. De quand à quand serez-vous absent, et quel texte doit contenir la réponse automatique ? Par exemple : du 21 décembre au 4 janvier : « Je suis absent jusqu'au 4 janvier. Pour toute urgence, contactez alex@example.com. »",
	},
	msgAutoReplyAskMessage: {
		english: "What should your automatic reply say? Reply with the message, for example: \"I'm out of the office until 14 July. For anything urgent, contact Alex at alex@example.com.\"",
		german:  "Welcher Text soll in der automatischen Antwort stehen? Antworten Sie mit dem Text, zum Beispiel: \"Ich bin bis 14. Juli nicht im Büro. In dringenden Fällen wenden Sie sich an alex@example.com.\"",
		spanish: "¿Qué texto debe decir la respuesta automática? Responda con el mensaje, por ejemplo: \"Estoy fuera de la oficina hasta el 14 de julio. Para temas urgentes, escriba a alex@example.com.\"",
		french:  "Quel texte doit contenir la réponse automatique ? Répondez avec le message, par exemple : « Je suis absent jusqu'au 14 juillet. Pour toute urgence, contactez alex@example.com. »",
	},
	msgSyncDone: {
		english: "I asked it to check in with Intune now; that usually clears this within 15 minutes. Keep it on and connected.",
		german:  "Ich habe das Gerät gebeten, sich jetzt bei Intune zu melden (Synchronisierung); das behebt dies meist innerhalb von 15 Minuten. Lassen Sie es eingeschaltet und verbunden.",
		spanish: "He pedido al dispositivo que se sincronice ahora con Intune; normalmente eso lo resuelve en unos 15 minutos. Déjelo encendido y conectado.",
		french:  "J'ai demandé à l'appareil de se synchroniser maintenant avec Intune ; cela règle généralement le problème en 15 minutes. Laissez-le allumé et connecté.",
	},
	msgOnlyYourOwn: {
		english: "I can only %s for your own account. %s can ask me from their own account, or ask your IT support.",
		german:  "Über den Self-Service kann ich nur Ihr eigenes Konto ändern (%s). %s kann sich selbst an mich wenden oder den IT-Support kontaktieren.",
		spanish: "Por autoservicio solo puedo cambiar su propia cuenta (%s). %s puede pedírmelo desde su propia cuenta o contactar con el soporte de TI.",
		french:  "En libre-service, je ne peux modifier que votre propre compte (%s). %s peut me le demander depuis son propre compte ou contacter le support informatique.",
	},
	msgCannot: {
		english: "I can't do that: %s. Nothing was changed.",
		german:  "Das kann ich nicht tun: %s. Es wurde nichts geändert.",
		spanish: "No puedo hacerlo: %s. No se ha cambiado nada.",
		french:  "Je ne peux pas le faire : %s. Rien n'a été modifié.",
	},
	msgHandOver: {
		english: "I'm handing this to a person.",
		german:  "Ich gebe das an einen Kollegen aus dem IT-Support weiter.",
		spanish: "Paso esto a una persona del equipo de TI.",
		french:  "Je transmets cela à une personne du support informatique.",
	},
	msgPartHandedOver: {
		english: "This part I can't handle myself, so I'm handing it to a person: %q.",
		german:  "Diesen Teil kann ich nicht selbst erledigen und gebe ihn an den IT-Support weiter: %q.",
		spanish: "Esta parte no puedo resolverla yo, así que la paso al equipo de TI: %q.",
		french:  "Je ne peux pas traiter cette partie moi-même, je la transmets au support informatique : %q.",
	},
	msgEnglishOnly: {
		german:  "(Einen Teil dieser Antwort kann ich nur auf Englisch geben.)",
		spanish: "(Parte de esta respuesta solo puedo dársela en inglés.)",
		french:  "(Je ne peux donner une partie de cette réponse qu'en anglais.)",
	},
	msgSmartLockout: {
		english: "The account is temporarily locked by smart lockout after too many wrong passwords. It unlocks by itself, usually within a few minutes: please wait, then sign in carefully with the current password. If you don't remember the password, tell me \"reset my password\".",
		german:  "Das Konto ist nach zu vielen falschen Passwörtern vorübergehend gesperrt (Smart Lockout). Die Sperre löst sich von selbst, meist nach wenigen Minuten: Bitte warten Sie kurz und melden Sie sich dann sorgfältig mit dem aktuellen Passwort an. Wenn Sie das Passwort nicht mehr wissen, schreiben Sie mir \"Passwort zurücksetzen\".",
		spanish: "La cuenta está bloqueada temporalmente (bloqueo inteligente) tras demasiadas contraseñas incorrectas. Se desbloquea sola, normalmente en unos minutos: espere un poco e inicie sesión con cuidado con la contraseña actual. Si no la recuerda, escríbame \"restablecer mi contraseña\".",
		french:  "Le compte est temporairement verrouillé (verrouillage intelligent) après trop de mots de passe erronés. Il se déverrouille tout seul, en général en quelques minutes : patientez, puis connectez-vous avec soin avec le mot de passe actuel. Si vous l'avez oublié, écrivez-moi « réinitialiser mon mot de passe ».",
	},
	msgBlockedCA: {
		english: "The sign-ins%s were blocked by the Conditional Access policy %s. That is a rule about where and how you may sign in, not a problem with the password, so a new password would not help.",
		german:  "Die Anmeldungen%s wurden von der Richtlinie für bedingten Zugriff (Conditional Access) %s blockiert. Das ist eine Regel dafür, wo und wie Sie sich anmelden dürfen, kein Problem mit dem Passwort: Ein neues Passwort würde nicht helfen.",
		spanish: "Los inicios de sesión%s fueron bloqueados por la directiva de acceso condicional (Conditional Access) %s. Es una regla sobre dónde y cómo puede iniciar sesión, no un problema de contraseña: una contraseña nueva no ayudaría.",
		french:  "Les connexions%s ont été bloquées par la stratégie d'accès conditionnel (Conditional Access) %s. C'est une règle sur où et comment vous pouvez vous connecter, pas un problème de mot de passe : un nouveau mot de passe n'aiderait pas.",
	},
}

// tr says p in the requester's language when the model has it, else in
// English.
func (s *state) tr(p phrase, args ...any) string {
	f := phrases[p][s.lang]
	if f == "" {
		f = phrases[p][english]
	}
	return fmt.Sprintf(f, args...)
}

// localize marks a reply in another language than the requester's: when a
// sentence of r is in English and the requester writes German, Spanish or
// French, it says so first.
func (s *state) localize(text string) string {
	if s.lang == english || text == "" || !hasEnglish(text) {
		return text
	}
	return phrases[msgEnglishOnly][s.lang] + " " + text
}

var englishWords = map[string]bool{"the": true, "your": true, "you": true, "is": true, "are": true, "i": true, "i'm": true,
	"i've": true, "it": true, "and": true, "to": true, "of": true, "please": true, "can't": true, "this": true, "that": true,
	"was": true, "with": true, "for": true, "not": true, "has": true, "have": true, "be": true, "on": true}

// hasEnglish reports whether text holds a sentence in English (readEnglish,
// remembered).
func hasEnglish(text string) bool { return englishMemo.Get(text) }

var englishMemo = newMemo(readEnglish)

// readEnglish reports whether text holds a sentence in English.
func readEnglish(text string) bool {
	for _, sen := range sentenceEnd.Split(quotedSpan.ReplaceAllString(text, ""), -1) {
		n, all := 0, 0
		for _, w := range wordRE.FindAllString(tierzero.Fold(sen), -1) {
			all++
			if englishWords[w] {
				n++
			}
		}
		if n >= 3 && n*4 >= all {
			return true
		}
	}
	return false
}

var monthWords = map[lang][]string{
	english: {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	german:  {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	spanish: {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	french:  {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
}

// day says a moment as the requester reads it, in their time zone: the
// date, and the time unless it is midnight or the day's last minute.
func (s *state) day(t time.Time) string {
	t = t.In(s.zone)
	m := monthWords[s.lang][t.Month()-1]
	var d string
	switch s.lang {
	case german:
		d = fmt.Sprintf("%d. %s %d", t.Day(), m, t.Year())
	case spanish:
		d = fmt.Sprintf("%d de %s de %d", t.Day(), m, t.Year())
	case french:
		d = fmt.Sprintf("%d %s %d", t.Day(), m, t.Year())
	default:
		d = fmt.Sprintf("%s %d %s %d", t.Weekday().String()[:3], t.Day(), m, t.Year())
	}
	if hm := t.Format("15:04"); hm != "00:00" && hm != "23:59" {
		d += ", " + hm
	}
	if hm := t.Format("15:04"); hm == "23:59" {
		switch s.lang {
		case german:
			d += " (einschließlich)"
		case spanish:
			d += " (incluido)"
		case french:
			d += " (inclus)"
		default:
			d = "the end of " + d
		}
	}
	if s.zone != time.UTC {
		return d
	}
	return d + " (UTC)"
}

// whoseReplies names whose automatic replies msgAutoReply* are about:
// "your" or "alex@...'s" in English, "" or " von alex@..." in the others.
func (s *state) whoseReplies(user string) string {
	self := s.isSelf(user)
	switch {
	case s.lang == english && self:
		return "your"
	case s.lang == english:
		return user + "'s"
	case self:
		return ""
	case s.lang == german:
		return " von " + user
	}
	return " de " + user
}

// langOf is the language of the request, or of the conversation before it
// when the request is too short to tell ("ja", "oui").
func langOf(texts ...string) lang {
	for _, t := range texts {
		if l := detectLang(t); l != english || len(strings.Fields(t)) >= 3 {
			return l
		}
	}
	return english
}
