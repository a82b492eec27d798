// Package systemd is roostd's side of systemd: readiness notification,
// socket activation and the text of the user units roostd install writes.
package systemd

import "github.com/coreos/go-systemd/v22/daemon"

// Notify sends a state line (READY=1, STOPPING=1, STATUS=…) to the service
// manager when roostd runs under one; elsewhere it does nothing.
func Notify(state string) {
	_, _ = daemon.SdNotify(false, state)
}

// Ready tells the service manager the API answers.
func Ready() { Notify(daemon.SdNotifyReady) }

// Stopping tells the service manager roostd is shutting down.
func Stopping() { Notify(daemon.SdNotifyStopping) }

// Status sets the one-line status systemctl shows.
func Status(s string) { Notify("STATUS=" + s) }
