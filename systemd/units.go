package systemd

import (
	"fmt"
	"strings"
)

// The user units `roostd install` writes to ~/.config/systemd/user.
const (
	ServiceUnitName = "roost.service"
	SocketUnitName  = "roost.socket"
)

// ServiceUnit is the text of roost.service for the roostd binary at
// roostd (an absolute path); the pinned runtime binaries beside it come
// first on PATH, so containerd and its shims run the pinned runc.
func ServiceUnit(roostd string, extraArgs ...string) string {
	binDir := roostd[:strings.LastIndex(roostd, "/")]
	if binDir == "" {
		binDir = "/"
	}
	args := append([]string{roostd, "-H", "fd://"}, extraArgs...)
	for i, a := range args {
		args[i] = quote(a)
	}
	return fmt.Sprintf(`# Written by roostd install; roostd uninstall removes it.
[Unit]
Description=roost: rootless container engine serving the Docker API
Documentation=https://github.com/roostd/roost/blob/main/docs/systemd.md
Requires=%[1]s
After=%[1]s

[Service]
Type=notify
NotifyAccess=main
ExecStart=%[2]s
ExecReload=/bin/kill -HUP $MAINPID
Environment=%[3]s
# SIGTERM to roostd alone, which stops the containers and the namespace
# itself; whatever is left after TimeoutStopSec gets SIGKILL.
KillMode=mixed
TimeoutStopSec=60
Delegate=yes
Restart=on-failure
LimitNOFILE=1048576

[Install]
WantedBy=default.target
`, SocketUnitName, strings.Join(args, " "), quote("PATH="+binDir+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
}

// SocketUnit is the text of roost.socket: the Docker API socket in the
// user's runtime directory, which starts roost.service on first use.
func SocketUnit() string {
	return fmt.Sprintf(`# Written by roostd install; roostd uninstall removes it.
[Unit]
Description=roost: Docker API socket (starts %[1]s on first use)
Documentation=https://github.com/roostd/roost/blob/main/docs/systemd.md

[Socket]
ListenStream=%%t/docker.sock
SocketMode=0600
DirectoryMode=0700
FileDescriptorName=docker
Service=%[1]s

[Install]
WantedBy=sockets.target
`, ServiceUnitName)
}

// quote makes one word of a unit's command line or assignment: systemd
// splits on spaces and expands $ and %% unless escaped.
func quote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if !strings.ContainsAny(s, " \t\"'\\$") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`)
	return `"` + r.Replace(s) + `"`
}
