package images

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/roostd/roost/engine/config"
)

func TestRegistriesInsecure(t *testing.T) {
	r := newRegistries(config.Registry{InsecureRegistries: []string{"reg.example:5000", "10.1.0.0/16", "http://plain.example"}})
	cases := map[string]bool{
		"reg.example:5000": true,
		"reg.example":      false, // the port is part of the name
		"plain.example":    true,
		"10.1.2.3:443":     true,
		"10.2.0.1":         false,
		"127.0.0.1:5000":   true, // loopback always
		"[::1]:5000":       true,
		"192.0.2.1":        false,
	}
	for host, want := range cases {
		if got := r.isInsecure(host); got != want {
			t.Errorf("isInsecure(%q) = %v, want %v", host, got, want)
		}
	}

	info := r.serviceConfig()
	for _, p := range []string{"10.1.0.0/16", "127.0.0.0/8", "::1/128"} {
		if !slices.Contains(info.InsecureRegistryCIDRs, netip.MustParsePrefix(p)) {
			t.Errorf("InsecureRegistryCIDRs %v lacks %s", info.InsecureRegistryCIDRs, p)
		}
	}
	if ic := info.IndexConfigs["reg.example:5000"]; ic == nil || ic.Secure || ic.Official {
		t.Errorf("IndexConfigs[reg.example:5000] = %+v, want an insecure entry", ic)
	}
	if hub := info.IndexConfigs["docker.io"]; hub == nil || !hub.Secure || !hub.Official {
		t.Errorf("IndexConfigs[docker.io] = %+v", hub)
	}
	// docker info's copy is the caller's to change.
	info.IndexConfigs["docker.io"].Secure = false
	if !r.serviceConfig().IndexConfigs["docker.io"].Secure {
		t.Error("changing the returned config changed the service's")
	}
}

func TestNextLink(t *testing.T) {
	cases := map[string][]string{
		"":                              nil,
		"/v2/r/tags/list?n=1&last=a":    {`</v2/r/tags/list?n=1&last=a>; rel="next"`},
		"/b":                            {`</a>; rel="prev", </b>; rel="next"`},
		"https://r.example/v2/x?last=z": {`<https://r.example/v2/x?last=z>;rel=next`},
	}
	for want, headers := range cases {
		if got := nextLink(headers); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", headers, got, want)
		}
	}
}

func TestSplitSearchTerm(t *testing.T) {
	for term, want := range map[string][2]string{
		"busybox":                  {"index.docker.io", "busybox"},
		"me/busybox":               {"index.docker.io", "me/busybox"},
		"127.0.0.1:5000/busy":      {"127.0.0.1:5000", "busy"},
		"localhost/a/b":            {"localhost", "a/b"},
		"reg.example/x":            {"reg.example", "x"},
		"docker.io/library/busy":   {"index.docker.io", "library/busy"},
		"index.docker.io/me/thing": {"index.docker.io", "me/thing"},
	} {
		if i, r := splitSearchTerm(term); i != want[0] || r != want[1] {
			t.Errorf("splitSearchTerm(%q) = %q, %q; want %q", term, i, r, want)
		}
	}
}
