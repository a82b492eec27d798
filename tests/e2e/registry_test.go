package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/roostd/roost/tests/regtest"
)

// The scripts share three registries (bin/registry, the distribution
// registry, on loopback ports): $REGISTRY, plain HTTP without users,
// $AUTH_REGISTRY, HTTPS with a self-signed certificate and the user alice
// (password secret), and $TOKEN_REGISTRY with token authentication. They start with the first script, so a run that needs
// none costs nothing, and TestScripts stops them when all scripts are
// done. They run as whoever runs the tests, not as the daemon's user:
// roostd reaches them over loopback, which its namespace shares with the
// host.
var registries = struct {
	mu  sync.Mutex
	reg map[string]*regtest.Registry
	err error
}{reg: map[string]*regtest.Registry{}}

// registryOptions are the shared registries by their variable's name.
var registryOptions = map[string]regtest.Options{
	"REGISTRY":      {},
	"AUTH_REGISTRY": {TLS: true, Users: map[string]string{"alice": "secret"}},
	// $TOKEN_REGISTRY: plain HTTP with bearer tokens from a token service
	// regtest runs, for the user bob (password hunter2), as Docker Hub.
	"TOKEN_REGISTRY": {Token: true, Users: map[string]string{"bob": "hunter2"}},
}

// registryEnv starts the shared registries if needed and returns their
// variables (name → host:port). Registries that failed to start fail every
// later call the same way, with the reason (bin/registry missing: run make
// bin/registry).
func registryEnv() (map[string]string, error) {
	registries.mu.Lock()
	defer registries.mu.Unlock()
	if registries.err != nil {
		return nil, registries.err
	}
	env := map[string]string{}
	for name, opts := range registryOptions {
		r := registries.reg[name]
		if r == nil {
			var err error
			if r, err = regtest.StartWith(filepath.Join(harness.tmp, "registry-"+name), opts); err != nil {
				registries.err = fmt.Errorf("the test registry $%s: %w", name, err)
				return nil, registries.err
			}
			registries.reg[name] = r
		}
		env[name] = r.Addr
	}
	return env, nil
}

// stopRegistries stops the shared registries that were started; it fails
// if one had died during the tests.
func stopRegistries() error {
	registries.mu.Lock()
	defer registries.mu.Unlock()
	var errs []error
	for name, r := range registries.reg {
		if err := r.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("$%s: %w\nregistry log:\n%s", name, err, r.Log()))
		}
		delete(registries.reg, name)
	}
	return errors.Join(errs...)
}
