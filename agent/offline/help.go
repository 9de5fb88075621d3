package offline

import (
	"strings"

	"github.com/tierzero/tierzero/agent"
)

// Commands: a message that starts with a slash is a command. The model
// knows a few, each a short way to say a request; anything else, or a
// command without what it needs, gets a usage line.

type command struct {
	name, args, does string
	request          func(args string) string // the request it stands for; "" when args are missing
}

var commands = []command{
	{"help", "", "what I can do", nil},
	{"password", "", "reset your password", func(string) string { return "I forgot my password, please reset it" }},
	{"unlock", "", "check why your account is locked", func(string) string { return "my account is locked" }},
	{"mfa", "", "set up MFA on a new phone", func(string) string { return "I have a new phone and need to set up MFA again" }},
	{"device", "", "check why a device is not compliant", func(string) string { return "my device is not compliant" }},
	{"group", "NAME", "join a group", func(a string) string {
		if a == "" {
			return ""
		}
		return `add me to the group "` + a + `"`
	}},
	{"license", "PRODUCT", "get a license", func(a string) string {
		if a == "" {
			return ""
		}
		return "I need a " + a + " license"
	}},
	{"ooo", "on MESSAGE [until DATE] | off", "set or turn off your out-of-office reply", func(a string) string {
		f := strings.Fields(a)
		switch {
		case len(f) == 1 && strings.EqualFold(f[0], "off"):
			return "turn off my out of office"
		case len(f) > 1 && strings.EqualFold(f[0], "on"):
			rest := strings.TrimSpace(a[len(f[0]):])
			msg, until := rest, ""
			if i := strings.LastIndex(strings.ToLower(rest), " until "); i >= 0 {
				msg, until = rest[:i], rest[i:]
			}
			return `set my out of office` + until + `: "` + strings.Trim(msg, `" `) + `"`
		}
		return ""
	}},
	{"hacked", "", "report that your account may be compromised", func(string) string { return "I think my account was hacked" }},
}

var commandRE = mustPattern(`^\s*/([A-Za-z_-]+)\b\s*(.*)$`)

// usage is the list of commands, one a line.
func usage() string {
	var b strings.Builder
	b.WriteString("Commands:")
	for _, c := range commands {
		b.WriteString("\n/" + c.name)
		if c.args != "" {
			b.WriteString(" " + c.args)
		}
		b.WriteString(" - " + c.does)
	}
	b.WriteString("\nOr just describe the problem in your own words.")
	return b.String()
}

// command answers a message that is a command: the request it stands
// for, or a usage line. ok is false when the message is no command.
func (s *state) command() (agent.Response, bool) {
	if !strings.HasPrefix(strings.TrimSpace(s.text), "/") {
		return agent.Response{}, false
	}
	m := commandRE.FindStringSubmatch(s.text)
	if m == nil {
		return say("I don't know that command. " + usage()), true
	}
	name, args := strings.ToLower(m[1]), strings.TrimSpace(m[2])
	for _, c := range commands {
		if c.name != name {
			continue
		}
		if c.request == nil {
			return say(s.help() + "\n" + usage()), true
		}
		req := c.request(args)
		if req == "" {
			line := "Usage: /" + c.name
			if c.args != "" {
				line += " " + c.args
			}
			return say(line + " - " + c.does + "."), true
		}
		s.text = req
		s.msg = autoReplyMessage(req)
		return s.respond(), true
	}
	return say("I don't know the command /" + name + ". " + usage()), true
}
