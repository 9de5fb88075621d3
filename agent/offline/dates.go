package offline

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const rfc3339 = time.RFC3339

var (
	disablePattern = regexp.MustCompile(`(?i)\b(turn (it )?off|switch (it )?off|disable|stop|remove|cancel|i'?m back|back in the office)\b`)
	quotedMessage  = regexp.MustCompile(`"([^"]{3,})"|“([^”]{3,})”`)
	saidMessage    = regexp.MustCompile(`(?is)\b(?:message|saying|that says|with the text|reading)\s*[:\-]?\s*(.{3,})$`)
	colonMessage   = regexp.MustCompile(`(?s)^[^:]*:\s*(.{3,})$`)
)

// autoReplyMessage returns the reply text a request spells out: quoted, or
// after "message:", "saying" or a colon.
func autoReplyMessage(text string) string {
	if m := quotedMessage.FindStringSubmatch(text); m != nil {
		return strings.TrimSpace(m[1] + m[2])
	}
	for _, re := range []*regexp.Regexp{saidMessage, colonMessage} {
		if m := re.FindStringSubmatch(text); m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return ""
}

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "apr": time.April, "may": time.May, "jun": time.June,
	"jul": time.July, "aug": time.August, "sep": time.September, "oct": time.October, "nov": time.November, "dec": time.December,
}

const monthRE = `(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?`

var (
	isoDate = regexp.MustCompile(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`)
	dmyDate = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthRE + `(?:,?\s+(\d{4}))?\b`)
	mdyDate = regexp.MustCompile(`(?i)\b` + monthRE + `\s+(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4}))?`)
	backRE  = regexp.MustCompile(`(?i)\bback\b[^.]{0,12}$`)
	untilRE = regexp.MustCompile(`(?i)\b(until|till|til|through|thru|to|up to)\b[^.]{0,6}$`)
)

// found is a date written in a request, at a position.
type found struct {
	at, end int
	day     time.Time
}

// dates returns the dates written in text, in order. A date without a year
// is the next one to come.
func dates(text string, now time.Time) []found {
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var out []found
	add := func(at, end int, y, mo, d string, month time.Month) {
		day, err := strconv.Atoi(d)
		if err != nil {
			return
		}
		if month == 0 {
			n, err := strconv.Atoi(mo)
			if err != nil || n < 1 || n > 12 {
				return
			}
			month = time.Month(n)
		}
		year := today.Year()
		if y != "" {
			year, _ = strconv.Atoi(y)
		}
		t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
		if t.Day() != day || t.Month() != month {
			return // 31 June
		}
		if y == "" && t.Before(today) {
			t = t.AddDate(1, 0, 0)
		}
		for _, f := range out {
			if at < f.end && f.at < end {
				return // overlaps a date already read
			}
		}
		out = append(out, found{at, end, t})
	}
	for _, m := range isoDate.FindAllStringSubmatchIndex(text, -1) {
		add(m[0], m[1], text[m[2]:m[3]], text[m[4]:m[5]], text[m[6]:m[7]], 0)
	}
	sub := func(m []int, i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return text[m[2*i]:m[2*i+1]]
	}
	for _, m := range dmyDate.FindAllStringSubmatchIndex(text, -1) {
		add(m[0], m[1], sub(m, 3), "", sub(m, 1), months[strings.ToLower(sub(m, 2))[:3]])
	}
	for _, m := range mdyDate.FindAllStringSubmatchIndex(text, -1) {
		add(m[0], m[1], sub(m, 3), "", sub(m, 2), months[strings.ToLower(sub(m, 1))[:3]])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at < out[j].at })
	// The same day written twice ("until 3 July ... back July 3rd") is one.
	var uniq []found
	for _, f := range out {
		if !slices.ContainsFunc(uniq, func(u found) bool { return u.day.Equal(f.day) }) {
			uniq = append(uniq, f)
		}
	}
	return uniq
}

// absence reads the period of an out-of-office request, in UTC: from the
// first date to the end of the last ("until 14 July" includes the 14th),
// except that "back on 14 July" ends when the 14th begins; a single date
// without "until" or "back" is one day away. A period already begun starts
// now. ok is false when the request holds no usable period.
func absence(text string, now time.Time) (start, end time.Time, ok bool) {
	ds := dates(text, now)
	if len(ds) == 0 {
		return start, end, false
	}
	now = now.UTC().Truncate(time.Minute)
	first, last := ds[0], ds[len(ds)-1]
	before := text[:last.at]
	switch {
	case backRE.MatchString(before):
		end = last.day
	default:
		end = last.day.AddDate(0, 0, 1)
	}
	switch {
	case len(ds) > 1:
		start = first.day
	case backRE.MatchString(before) || untilRE.MatchString(before):
		start = now
	default:
		start = first.day
	}
	if start.Before(now) {
		start = now
	}
	if !end.After(start) {
		return start, end, false
	}
	return start, end, true
}
