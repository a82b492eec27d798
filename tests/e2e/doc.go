// Package e2e drives the real docker CLI against a real roostd.
//
// TestMain (main_test.go) sets the machine up. As root it creates the
// unprivileged user roosttest and starts bin/roostd as that user; as a user
// it starts roostd as itself with a private home and XDG_RUNTIME_DIR, so
// that the user's own engine is left alone. It then points DOCKER_HOST at
// the daemon's socket and loads the busybox fixture. The scripts in
// testdata/*.txtar then run, in parallel, against that one daemon; the Go
// tests cover what a script cannot express (a pty, kill -9 of the daemon's
// processes). At the end the daemon gets SIGTERM and the run fails
// if any process of the test user (as a user: that the run started)
// outlives it.
//
// Run it with `make test`, or:
//
//	GOFLAGS=-mod=mod go test ./tests/e2e/ -v -count=1 -timeout 30m
//
// Setting E2E_DOCKER_HOST runs the same tests against a daemon that is
// already running (a reference dockerd, say) instead of starting roostd; the
// tests that need roostd's internals are skipped then. tests/README.md has
// the details.
package e2e
