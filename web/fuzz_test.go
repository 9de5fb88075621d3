package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzLocalNext: whatever a sign-in link's next says, the browser is sent
// to a page of the console on this host, never elsewhere and never out of
// /console/ by a dot segment, however it is escaped.
func FuzzLocalNext(f *testing.F) {
	for _, s := range []string{"/console/approvals", "//evil.example", "/console/../x", "/console/%2e%2e/x",
		"/console/\\evil", "https://evil.example/console/", "/console/a?b=c#d", "/console//evil.example", "/console/%2F%2Fevil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := localNext(next)
		if got != next && got != Prefix+"/" {
			t.Fatalf("localNext(%q) = %q: neither the input nor the console's start", next, got)
		}
		// Resolved as a browser would, against the console's own URL.
		base, _ := url.Parse("https://console.example" + Prefix + "/login")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("localNext(%q) = %q does not parse: %v", next, got, err)
		}
		u := base.ResolveReference(ref)
		path, _ := url.PathUnescape(u.EscapedPath())
		if u.Host != "console.example" || !strings.HasPrefix(u.Path, Prefix+"/") || !strings.HasPrefix(path, Prefix+"/") || strings.Contains(path, "/../") || strings.HasSuffix(path, "/..") {
			t.Fatalf("localNext(%q) = %q leads to %s", next, got, u)
		}
	})
}
