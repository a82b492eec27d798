package systemd

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// listen stands in for the service manager's notification socket.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 256)
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotifications(t *testing.T) {
	conn := listen(t)
	for _, tc := range []struct {
		send func()
		want string
	}{
		{func() { Status("starting") }, "STATUS=starting"},
		{Ready, "READY=1"},
		{Stopping, "STOPPING=1"},
	} {
		tc.send()
		if got := receive(t, conn); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestNoManagerIsQuiet(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	Ready() // must neither fail nor block without a service manager
}
