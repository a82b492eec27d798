package images_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
	"github.com/roostd/roost/engine/config"
	"github.com/roostd/roost/engine/images"
)

// hostAddress is an address of this machine that is not loopback, so
// that a registry on it is secure unless configured otherwise.
func hostAddress(t *testing.T) net.IP {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP
		}
	}
	t.Skip("this machine has no address besides loopback")
	return nil
}

// registryOn serves a registry's /v2/ on ip: HTTPS with a certificate no
// one trusts, or plain HTTP.
func registryOn(t *testing.T, ip net.IP, useTLS bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
		w.Write([]byte("{}"))
	}))
	srv.Listener.Close()
	srv.Listener = ln
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return ln.Addr().String()
}

// TestInsecureRegistries: a registry that is not on loopback needs a
// trusted certificate, unless insecure-registries names it or a network
// holding it; then its certificate is not checked, and plain HTTP works.
func TestInsecureRegistries(t *testing.T) {
	ip := hostAddress(t)
	tlsAddr := registryOn(t, ip, true)
	plainAddr := registryOn(t, ip, false)
	ctx := context.Background()
	login := func(svc *images.Service, addr string) error {
		_, err := svc.Login(ctx, registry.AuthConfig{ServerAddress: addr})
		return err
	}

	secure := newFixture(t).svc
	if err := login(secure, tlsAddr); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("login to an untrusted certificate without insecure-registries: %v, want a certificate error", err)
	}
	if err := login(secure, plainAddr); err == nil {
		t.Error("login to a plain HTTP registry without insecure-registries succeeded")
	}

	for _, entry := range []string{tlsAddr, ip.String() + "/32"} {
		svc := newFixtureWith(t, images.Options{Registry: config.Registry{InsecureRegistries: []string{entry, plainAddr}}}).svc
		if err := login(svc, tlsAddr); err != nil {
			t.Errorf("with insecure-registries %s, login over HTTPS: %v", entry, err)
		}
		if err := login(svc, plainAddr); err != nil {
			t.Errorf("with insecure-registries %s, login over plain HTTP: %v", entry, err)
		}
	}
}
