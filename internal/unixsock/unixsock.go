// Package unixsock listens on the unix sockets roost serves itself.
package unixsock

import (
	"net"
	"os"
)

// Listen listens on a unix socket at path with the given mode. A file
// already there is removed first: callers hold the lock that makes them
// the only server of that path, so it is a socket a killed process left.
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
