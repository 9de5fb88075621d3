package main

import (
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "27acd80c1f0e9b4a2d5c6e7f8091a2b3c4d5e6f7"}, {Key: "vcs.modified", Value: "true"}}
	tests := []struct {
		name    string
		version string
		bi      *debug.BuildInfo
		want    string
	}{
		{"set at build time", "v1.2.3", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: vcs},
			"tierzero v1.2.3 (go1.26.8, commit 27acd80c1f0e, modified)"},
		{"the module version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}},
			"tierzero v1.2.0 (go1.26.8)"},
		{"a clean checkout", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs[:2]},
			"tierzero devel (go1.26.8, commit 27acd80c1f0e)"},
		{"no build information", "", nil, "tierzero devel (" + goruntime.Version() + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.version, tt.bi); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	r := run(t, noEnv, "", "version")
	if r.code != 0 || !regexp.MustCompile(`^tierzero \S+ \(go1\.[^)]*\)\n$`).MatchString(r.stdout) {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	old := version
	version = "v9.9.9"
	defer func() { version = old }()
	if r := run(t, noEnv, "", "version"); r.stdout[:len("tierzero v9.9.9 (")] != "tierzero v9.9.9 (" {
		t.Fatalf("with main.version set: %q", r.stdout)
	}
}
