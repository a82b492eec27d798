package volumes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/errdefs"
)

// PluginTimeout bounds every call to a volume plugin, so that a plugin
// that hangs fails the request instead of holding it (and the volume
// service's locks) forever.
const PluginTimeout = 10 * time.Second

// pluginMediaType is what dockerd's plugin client sends as Accept and
// Content-Type; plugins written against the legacy protocol expect it.
const pluginMediaType = "application/vnd.docker.plugins.v1.2+json"

// plugin is a volume driver of the legacy plugin protocol: JSON posted
// to /VolumeDriver.<Method> over a unix socket (or a TCP address from a
// spec file).
type plugin struct {
	name string
	addr string // for messages
	hc   *http.Client
	base string
	// timeout bounds each call: Options.PluginTimeout or PluginTimeout.
	timeout time.Duration
}

// findPlugin looks for the plugin name as dockerd's discovery does, in
// roost's directories: <sockDir>/<name>.sock or <sockDir>/<name>/<name>.sock,
// then <specDir>/<name>.spec|.json (also in a <name> subdirectory), and
// activates it.
func (s *Service) findPlugin(ctx context.Context, name string) (*plugin, error) {
	s.plugMu.Lock()
	defer s.plugMu.Unlock()
	if p := s.plugins[name]; p != nil {
		return p, nil
	}
	notFound := errdefs.ErrNotFound.WithMessage(fmt.Sprintf("error looking up volume plugin %s: plugin %q not found", name, name))
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return nil, notFound
	}
	addr, err := s.pluginAddr(name)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		return nil, notFound
	}
	p, err := newPlugin(name, addr)
	if err != nil {
		return nil, err
	}
	if p.timeout = s.opts.PluginTimeout; p.timeout <= 0 {
		p.timeout = PluginTimeout
	}
	var act struct{ Implements []string }
	if err := p.call(ctx, "Plugin.Activate", struct{}{}, &act); err != nil {
		return nil, errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("error looking up volume plugin %s: %v", name, err))
	}
	implements := false
	for _, i := range act.Implements {
		implements = implements || i == "VolumeDriver"
	}
	if !implements {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("error looking up volume plugin %s: plugin %q not found: it does not implement VolumeDriver", name, name))
	}
	s.plugins[name] = p
	return p, nil
}

// forgetPlugin drops a plugin whose socket failed, so that the next use
// finds it again (it may have been restarted elsewhere).
func (s *Service) forgetPlugin(p *plugin) {
	s.plugMu.Lock()
	defer s.plugMu.Unlock()
	if s.plugins[p.name] == p {
		delete(s.plugins, p.name)
		p.hc.CloseIdleConnections()
	}
}

// pluginAddr returns unix://… or tcp://… for name, or "" when none of
// the plugin directories has it.
func (s *Service) pluginAddr(name string) (string, error) {
	if d := s.opts.PluginSockDir; d != "" {
		for _, p := range []string{filepath.Join(d, name+".sock"), filepath.Join(d, name, name+".sock")} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
				return "unix://" + p, nil
			}
		}
	}
	d := s.opts.PluginSpecDir
	if d == "" {
		return "", nil
	}
	for _, dir := range []string{d, filepath.Join(d, name)} {
		if b, err := os.ReadFile(filepath.Join(dir, name+".spec")); err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			continue
		}
		var spec struct{ Addr string }
		if err := json.Unmarshal(b, &spec); err != nil || spec.Addr == "" {
			return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("error looking up volume plugin %s: invalid plugin spec %s: no Addr", name, filepath.Join(dir, name+".json")))
		}
		return spec.Addr, nil
	}
	return "", nil
}

func newPlugin(name, addr string) (*plugin, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("error looking up volume plugin %s: invalid address %q: %v", name, addr, err))
	}
	tr := &http.Transport{}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
	case "tcp", "http":
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", u.Host)
		}
	default:
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("error looking up volume plugin %s: unsupported address %q (unix:// or tcp://)", name, addr))
	}
	return &plugin{name: name, addr: addr, hc: &http.Client{Transport: tr}, base: "http://plugin"}, nil
}

// call posts req to /<method> and decodes the answer into resp. An "Err"
// in the answer, or an error status, is the plugin's error, worded as
// dockerd words it ("VolumeDriver.Mount: <Err>" for a status).
func (p *plugin) call(ctx context.Context, method string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Accept", pluginMediaType)
	hr.Header.Set("Content-Type", pluginMediaType)
	res, err := p.hc.Do(hr)
	if err != nil {
		return p.transportErr(ctx, method, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return p.transportErr(ctx, method, err)
	}
	var e struct{ Err string }
	_ = json.Unmarshal(b, &e)
	if res.StatusCode != http.StatusOK {
		msg := e.Err
		if msg == "" {
			msg = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s: %s", method, msg)
	}
	if e.Err != "" {
		return errors.New(e.Err)
	}
	if resp != nil {
		if err := json.Unmarshal(b, resp); err != nil {
			return fmt.Errorf("%s: volume plugin %q answered with bad JSON: %w", method, p.name, err)
		}
	}
	return nil
}

// transportError is a call that got no answer: the socket is gone or
// the plugin hangs.
type transportError struct{ error }

func (e *transportError) Unwrap() error { return e.error }

func (p *plugin) transportErr(ctx context.Context, method string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &transportError{fmt.Errorf("%s: volume plugin %q did not answer within %s", method, p.name, p.timeout)}
	}
	return &transportError{fmt.Errorf("%s: volume plugin %q at %s: %w", method, p.name, p.addr, err)}
}

// pluginVolume is a volume as a plugin describes it.
type pluginVolume struct {
	Name       string
	Mountpoint string
	CreatedAt  string
	Status     map[string]any
}

func (p *plugin) create(ctx context.Context, name string, opts map[string]string) error {
	return p.call(ctx, "VolumeDriver.Create", map[string]any{"Name": name, "Opts": opts}, nil)
}

func (p *plugin) remove(ctx context.Context, name string) error {
	return p.call(ctx, "VolumeDriver.Remove", map[string]string{"Name": name}, nil)
}

func (p *plugin) mount(ctx context.Context, name, id string) (string, error) {
	var r struct{ Mountpoint string }
	if err := p.call(ctx, "VolumeDriver.Mount", map[string]string{"Name": name, "ID": id}, &r); err != nil {
		return "", err
	}
	if !filepath.IsAbs(r.Mountpoint) {
		return "", fmt.Errorf("VolumeDriver.Mount: volume plugin %q returned a mountpoint that is not an absolute path: %q", p.name, r.Mountpoint)
	}
	return r.Mountpoint, nil
}

func (p *plugin) unmount(ctx context.Context, name, id string) error {
	return p.call(ctx, "VolumeDriver.Unmount", map[string]string{"Name": name, "ID": id}, nil)
}

func (p *plugin) get(ctx context.Context, name string) (*pluginVolume, error) {
	var r struct{ Volume *pluginVolume }
	if err := p.call(ctx, "VolumeDriver.Get", map[string]string{"Name": name}, &r); err != nil {
		return nil, err
	}
	if r.Volume == nil {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("get %s: no such volume", name))
	}
	return r.Volume, nil
}

func (p *plugin) list(ctx context.Context) ([]pluginVolume, error) {
	var r struct{ Volumes []pluginVolume }
	if err := p.call(ctx, "VolumeDriver.List", struct{}{}, &r); err != nil {
		return nil, err
	}
	return r.Volumes, nil
}

// scope asks the plugin's capabilities; local unless it says global.
func (p *plugin) scope(ctx context.Context) string {
	var r struct{ Capabilities struct{ Scope string } }
	if err := p.call(ctx, "VolumeDriver.Capabilities", struct{}{}, &r); err != nil || r.Capabilities.Scope != "global" {
		return "local"
	}
	return "global"
}
