// Package systemd is roostd's side of systemd: readiness notification,
// socket activation and the text of the user units roostd install writes.
package systemd

import (
	"context"
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

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

// Reloading tells the service manager a reload began; Ready ends it.
// MONOTONIC_USEC is what Type=notify-reload (systemd 253) asks for with
// it; older managers ignore it.
func Reloading() {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	Notify(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, ts.Nano()/1000))
}

// Watchdog pings the service manager (WATCHDOG=1) at half the interval of
// the unit's WatchdogSec, while healthy says the daemon works, until ctx
// ends. Without WATCHDOG_USEC for this process it returns at once.
func Watchdog(ctx context.Context, healthy func(context.Context) bool) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		// A daemon that stopped answering misses its pings, and systemd
		// restarts it (Restart=on-failure covers the watchdog).
		hctx, cancel := context.WithTimeout(ctx, interval/2)
		ok := healthy(hctx)
		cancel()
		if ok {
			Notify(daemon.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
