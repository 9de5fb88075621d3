package tierzero

import (
	"encoding/json"
	"testing"
)

// Issue 15, item 5: keys that encoding/json would match to one struct field
// (case, ſ for s, K for k) are refused as repeats, whatever their spelling.
func TestCanonicalArgsRefusesFoldedRepeats(t *testing.T) {
	for _, in := range []string{
		`{"user":"a@x.com","uſer":"b@x.com"}`,
		`{"uſer":"b@x.com","user":"a@x.com"}`,
		`{"sku":"A","\u017fku":"B"}`,
		`{"kind":"A","\u212aind":"B"}`,
		`{"a":{"user":"a","USER":"b"}}`,
	} {
		if got, err := CanonicalArgs(json.RawMessage(in)); err == nil {
			t.Errorf("CanonicalArgs(%s) = %s, want an error", in, got)
		}
	}
}
