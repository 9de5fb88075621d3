package graph

import "testing"

// passwordBase64 is UTF-16LE in the v1.0 documentation's example
// (https://learn.microsoft.com/graph/api/devicelocalcredentialinfo-get:
// "UQBRAEAAZAA4AGYAOABnAFkA") and UTF-8 as Microsoft's Get-LapsAADPassword
// reads it: both decode.
func TestDecodeLAPSPassword(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"UQBRAEAAZAA4AGYAOABnAFkA", "QQ@d8f8gY"},
		{"UVFAZDhmOGdZ", "QQ@d8f8gY"},
		{"w6lB", "éA"},
	} {
		if got, ok := decodeLAPSPassword(tt.in); !ok || got != tt.want {
			t.Errorf("decode(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
	if _, ok := decodeLAPSPassword("not base64!"); ok {
		t.Error("bad base64 decoded")
	}
}
