package agent

import (
	"testing"

	"github.com/tierzero/tierzero"
)

// benchTexts are requests as employees write them.
var benchTexts = []string{
	"I forgot my password",
	"I think my account was hacked, I got emails I didn't send",
	"Can you please add me to the Marketing Team group?",
	"My laptop keeps telling me it's not compliant with company policy",
	"Ich habe mein Passwort vergessen und bin gesperrt",
	"Hi, I got a new phone and the authenticator codes don't work anymore. Can you help?",
}

// BenchmarkReadIntent reads the intent of each text once per op: cold,
// with the memo of messages emptied before each op (a message never read
// before), and warm (a conversation's messages read again).
func BenchmarkReadIntent(b *testing.B) {
	turns := make([][]tierzero.Turn, len(benchTexts))
	for i, text := range benchTexts {
		turns[i] = []tierzero.Turn{{Role: tierzero.TurnUser, Content: text}}
	}
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			messages.Forget()
			for _, t := range turns {
				ReadIntent(t)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range turns {
				ReadIntent(t)
			}
		}
	})
}
