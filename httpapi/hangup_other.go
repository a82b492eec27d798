//go:build !linux

package httpapi

import (
	"context"
	"net"
)

// watchHangup is only implemented on Linux; elsewhere an attach session ends
// when the container's streams end or a write to the client fails.
func watchHangup(ctx context.Context, conn net.Conn, cancel func()) (stop func()) {
	return func() {}
}
