package offline

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tierzero/tierzero"
)

const rfc3339 = time.RFC3339

var (
	quotedMessage = mustPattern(`"([^"]{3,})"|“([^”]{3,})”|„([^“”"]{3,})[“”"]|«\s*([^»]{3,}?)\s*»`)
	saidMessage   = mustPattern(`(?is)\b(?:message|saying|that says|with the text|reading|text|texto|texte|nachricht|mensaje)\b[^:"“„«]{0,40}[:\-]\s*(.{3,})$`)
	sayingMessage = mustPattern(`(?is)\bsaying\s+(.{3,})$`)
	colonMessage  = mustPattern(`(?s)^([^:]*):\s*(.{3,})$`)
)

// autoReplyMessage returns the reply text a request spells out: quoted, or
// after "message:", "saying" or a colon that follows the request for an
// automatic reply.
func autoReplyMessage(text string) string { return messageMemo.Get(text) }

var messageMemo = newMemo(readAutoReplyMessage)

// readAutoReplyMessage is autoReplyMessage, computed.
func readAutoReplyMessage(text string) string {
	if m := quotedMessage.FindStringSubmatch(text); m != nil {
		return strings.TrimSpace(m[1] + m[2] + m[3] + m[4])
	}
	if m := saidMessage.FindStringSubmatch(text); m != nil {
		return strings.TrimSpace(m[1])
	}
	if m := sayingMessage.FindStringSubmatch(text); m != nil {
		return strings.TrimSpace(m[1])
	}
	if m := colonMessage.FindStringSubmatch(text); m != nil && autoReplyPattern.MatchString(canon(m[1])) {
		return strings.TrimSpace(m[2])
	}
	return ""
}

// Month and weekday names of the languages the model reads, folded.
var monthNum = map[string]time.Month{
	"january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
	"januar": 1, "janner": 1, "februar": 2, "marz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
	"enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
	"janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
}

var weekdayNum = map[string]time.Weekday{
	"monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday, "sunday": time.Sunday,
	"tue": time.Tuesday, "tues": time.Tuesday, "thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "fri": time.Friday,
	"montag": time.Monday, "dienstag": time.Tuesday, "mittwoch": time.Wednesday, "donnerstag": time.Thursday, "freitag": time.Friday, "samstag": time.Saturday, "sonnabend": time.Saturday, "sonntag": time.Sunday,
	"lunes": time.Monday, "martes": time.Tuesday, "miercoles": time.Wednesday, "jueves": time.Thursday, "viernes": time.Friday, "sabado": time.Saturday, "domingo": time.Sunday,
	"lundi": time.Monday, "mardi": time.Tuesday, "mercredi": time.Wednesday, "jeudi": time.Thursday, "vendredi": time.Friday, "samedi": time.Saturday, "dimanche": time.Sunday,
}

func alternation[V any](m map[string]V) string {
	var keys []string
	for k := range m {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	return strings.Join(keys, "|")
}

var (
	monthNames = alternation(monthNum)
	dayNames   = alternation(weekdayNum)

	isoDate = mustPattern(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`)
	dmyDate = mustPattern(`\b(\d{1,2})(?:st|nd|rd|th|er|\.|º|o)?\s+(?:of\s+|de\s+)?(` + monthNames + `)\.?(?:,?\s+(?:de\s+)?(\d{4}))?\b`)
	mdyDate = mustPattern(`\b(` + monthNames + `)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4}))?`)
	numDate = mustPattern(`\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b`)
	dayDate = mustPattern(`\b(?:(next|this|coming|nachsten|naechsten|kommenden|diesen|proximo|este|prochain)\s+)?(` + dayNames + `)\b(?:\s+(prochain|que viene|next))?`)
	relDate = mustPattern(`\b(today|tonight|tomorrow|day after tomorrow|heute|morgen|ubermorgen|hoy|manana|pasado manana|aujourd'hui|demain|apres-demain|next week|nachste woche|la semana que viene|la proxima semana|la semaine prochaine)\b`)
	forDays = mustPattern(`\bfor (?:the next )?(\d+|a|one|two|three|four|five|six|seven|eight|nine|ten) (day|days|week|weeks)\b`)
	timeOf  = mustPattern(`\b(?:at |um |a las |a la |a |à |a partir de las )?(\d{1,2})(?:[:h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|uhr|h)\b|\b(?:at |um |a las |à )(\d{1,2}):(\d{2})\b|\b(\d{1,2}):(\d{2})\b`)
	// Cues before a date, read backwards from it.
	backCue  = mustPattern(`\b(back|return(ing)?|returns|zuruck|wieder (da|im buro|erreichbar)|de vuelta|vuelvo|regreso|volvere|de retour|reviens|je rentre|retour)\b[^.;]{0,24}$`)
	untilCue = mustPattern(`\b(until|till|til|through|thru|to|up to|ending|bis( einschliesslich| zum| zur| am)?|hasta( el)?|al|jusqu'au|jusqu'a|jusqu'au|au)\b[^.;]{0,12}$`)
	fromCue  = mustPattern(`\b(from|starting|beginning|ab|vom|von|desde|del|a partir del?|du|des|depuis)\b[^.;]{0,12}$`)
)

var numberWords = map[string]int{"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}

// found is a date written in a request, at a position of its folded text.
type found struct {
	at, end int
	day     time.Time // midnight of the day, in the zone
	clock   bool      // a time of day was written with it: day holds it
}

// dates returns the dates written in text (folded), in order, as days in
// zone. A date without a year is the next one to come; a weekday is the
// next one after today.
func dates(text string, now time.Time, zone *time.Location) []found {
	now = now.In(zone)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone)
	var out []found
	overlaps := func(at, end int) bool {
		return slices.ContainsFunc(out, func(f found) bool { return at < f.end && f.at < end })
	}
	add := func(at, end, year, month, day int) {
		if overlaps(at, end) || month < 1 || month > 12 {
			return
		}
		y := today.Year()
		if year > 0 {
			y = year
		}
		t := time.Date(y, time.Month(month), day, 0, 0, 0, 0, zone)
		if t.Day() != day || t.Month() != time.Month(month) {
			return // 31 June
		}
		if year == 0 && t.Before(today) {
			t = t.AddDate(1, 0, 0)
		}
		out = append(out, found{at: at, end: end, day: t})
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	sub := func(m []int, i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return text[m[2*i]:m[2*i+1]]
	}
	for _, m := range isoDate.FindAllStringSubmatchIndex(text, -1) {
		add(m[0], m[1], num(sub(m, 1)), num(sub(m, 2)), num(sub(m, 3)))
	}
	for _, m := range dmyDate.FindAllStringSubmatchIndex(text, -1) {
		add(m[0], m[1], num(sub(m, 3)), int(monthNum[sub(m, 2)]), num(sub(m, 1)))
	}
	for _, m := range mdyDate.FindAllStringSubmatchIndex(text, -1) {
		add(m[0], m[1], num(sub(m, 3)), int(monthNum[sub(m, 1)]), num(sub(m, 2)))
	}
	for _, m := range numDate.FindAllStringSubmatchIndex(text, -1) {
		a, b := num(sub(m, 1)), num(sub(m, 2))
		if b > 12 { // 12/24/2026: the month comes first
			a, b = b, a
		}
		add(m[0], m[1], num(sub(m, 3)), b, a)
	}
	for _, m := range relDate.FindAllStringSubmatchIndex(text, -1) {
		if overlaps(m[0], m[1]) {
			continue
		}
		var t time.Time
		switch w := sub(m, 1); w {
		case "today", "tonight", "heute", "hoy", "aujourd'hui":
			t = today
		case "tomorrow", "morgen", "manana", "demain":
			t = today.AddDate(0, 0, 1)
		case "day after tomorrow", "ubermorgen", "pasado manana", "apres-demain":
			t = today.AddDate(0, 0, 2)
		default: // next week: its Monday
			t = today.AddDate(0, 0, (8-int(today.Weekday()))%7)
			if t.Equal(today) {
				t = t.AddDate(0, 0, 7)
			}
		}
		out = append(out, found{at: m[0], end: m[1], day: t})
	}
	for _, m := range dayDate.FindAllStringSubmatchIndex(text, -1) {
		// "Monday 4 January": the weekday of a date written next to it.
		if overlaps(m[0], m[1]+4) || overlaps(m[0]-6, m[1]) {
			continue
		}
		wd := weekdayNum[sub(m, 2)]
		d := (int(wd) - int(today.Weekday()) + 7) % 7
		if d == 0 {
			d = 7
		}
		out = append(out, found{at: m[0], end: m[1], day: today.AddDate(0, 0, d)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at < out[j].at })
	// A time written next to a date belongs to it ("next Monday 9am").
	for _, m := range timeOf.FindAllStringSubmatchIndex(text, -1) {
		h, mi, ampm := sub(m, 1), sub(m, 2), sub(m, 3)
		if h == "" {
			h, mi = sub(m, 4), sub(m, 5)
		}
		if h == "" {
			h, mi = sub(m, 6), sub(m, 7)
		}
		hour, minute := num(h), num(mi)
		switch {
		case strings.HasPrefix(ampm, "p") && hour < 12:
			hour += 12
		case strings.HasPrefix(ampm, "a") && hour == 12:
			hour = 0
		}
		if hour > 23 || minute > 59 {
			continue
		}
		best, dist := -1, 30
		for i, f := range out {
			if overlaps(m[0], m[1]) && m[0] >= f.at && m[1] <= f.end {
				best = -1
				break
			}
			d := m[0] - f.end
			if d < 0 {
				d = f.at - m[1]
			}
			if d >= 0 && d < dist && !out[i].clock {
				best, dist = i, d
			}
		}
		if best >= 0 {
			f := &out[best]
			f.day = time.Date(f.day.Year(), f.day.Month(), f.day.Day(), hour, minute, 0, 0, zone)
			f.clock = true
		}
	}
	// The same day written twice ("until 3 July ... back July 3rd") is one.
	var uniq []found
	for _, f := range out {
		if !slices.ContainsFunc(uniq, func(u found) bool { return u.day.Equal(f.day) }) {
			uniq = append(uniq, f)
		}
	}
	return uniq
}

// absence reads the period of an out-of-office request, in zone: from the
// first date to the end of the last ("until 14 July" includes the 14th),
// except that "back on 14 July" ends when the 14th begins (or at the time
// written); a single date without "until" or "back" is one day away. "for
// two weeks" ends two weeks after the start. A period already begun starts
// now. ok is false when the request holds no usable period; dated tells
// whether it holds a date at all.
func absence(text string, now time.Time, zone *time.Location) (start, end time.Time, ok, dated bool) {
	text = tierzero.Fold(text)
	ds := dates(text, now, zone)
	now = now.In(zone).Truncate(time.Minute)
	if d := forDays.FindStringSubmatch(text); d != nil {
		n, err := strconv.Atoi(d[1])
		if err != nil {
			n = numberWords[d[1]]
		}
		if strings.HasPrefix(d[2], "week") {
			n *= 7
		}
		start = now
		if len(ds) > 0 {
			start = ds[0].day
		}
		if start.Before(now) {
			start = now
		}
		day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, zone)
		return start, day.AddDate(0, 0, n), n > 0, true
	}
	if len(ds) == 0 {
		return start, end, false, false
	}
	first, last := ds[0], ds[len(ds)-1]
	before := text[:last.at]
	back := backCue.MatchString(before)
	switch {
	case last.clock || back:
		end = last.day
	default:
		end = last.day.Add(24*time.Hour - time.Minute) // the end of that day
	}
	switch {
	case len(ds) > 1:
		start = first.day
	case back || untilCue.MatchString(before):
		start = now
	default:
		start = first.day
	}
	if start.Before(now) {
		start = now
	}
	if !end.After(start) {
		return start, end, false, true
	}
	return start, end, true, true
}

// periodWords are what a request says when it means a period without
// dates ("for the Christmas holidays", "next week").
var periodWords = mustPattern(`\b(until|till|til|back|from|holidays?|vacation|leave|trip|bis|ab|hasta|desde|jusqu|du|des|weihnachtsferien|christmas|weihnachten|navidad|noel|semana|week|woche|semaine)\b`)
