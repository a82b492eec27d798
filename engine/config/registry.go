package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Registry defaults, dockerd's.
const (
	DefaultMaxConcurrentDownloads = 3
	DefaultMaxConcurrentUploads   = 5
)

// Registry holds the registry keys of daemon.json, with dockerd's names.
type Registry struct {
	// Mirrors are tried, in order, before Docker Hub for images of
	// docker.io: http:// or https:// URLs.
	Mirrors []string `json:"registry-mirrors,omitempty"`
	// InsecureRegistries are registries (host[:port]) or networks (CIDR)
	// reached over HTTPS without checking certificates, or plain HTTP.
	// Loopback is always insecure, as in dockerd.
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	// MaxConcurrentDownloads limits the layer downloads of all pulls
	// together; 0 means the default.
	MaxConcurrentDownloads int `json:"max-concurrent-downloads,omitempty"`
	// MaxConcurrentUploads limits the blob uploads of all pushes together;
	// 0 means the default.
	MaxConcurrentUploads int `json:"max-concurrent-uploads,omitempty"`
}

// validate checks the registry keys, with dockerd's messages since these
// are dockerd's keys.
func (r *Registry) validate() error {
	if r.MaxConcurrentDownloads < 0 {
		return fmt.Errorf("invalid max concurrent downloads: %d", r.MaxConcurrentDownloads)
	}
	if r.MaxConcurrentUploads < 0 {
		return fmt.Errorf("invalid max concurrent uploads: %d", r.MaxConcurrentUploads)
	}
	for _, m := range r.Mirrors {
		if _, err := ValidateMirror(m); err != nil {
			return err
		}
	}
	for _, ir := range r.InsecureRegistries {
		if _, _, err := ParseInsecureRegistry(ir); err != nil {
			return err
		}
	}
	return nil
}

// Downloads is the download limit in effect.
func (r *Registry) Downloads() int {
	if r.MaxConcurrentDownloads == 0 {
		return DefaultMaxConcurrentDownloads
	}
	return r.MaxConcurrentDownloads
}

// Uploads is the upload limit in effect.
func (r *Registry) Uploads() int {
	if r.MaxConcurrentUploads == 0 {
		return DefaultMaxConcurrentUploads
	}
	return r.MaxConcurrentUploads
}

// ValidateMirror checks a registry-mirrors entry and returns it with one
// trailing slash, the form docker info shows.
func ValidateMirror(mirror string) (string, error) {
	if scheme, _, ok := strings.Cut(mirror, "://"); !ok || scheme == "" {
		return "", fmt.Errorf("invalid mirror: no scheme specified for %q: must use either 'https://' or 'http://'", mirror)
	}
	u, err := url.Parse(mirror)
	if err != nil {
		return "", fmt.Errorf("invalid mirror: %q is not a valid URI: %w", mirror, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("invalid mirror: unsupported scheme %q in %q: must use either 'https://' or 'http://'", u.Scheme, u)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid mirror: query or fragment at end of the URI %q", u)
	}
	if u.User != nil {
		// The message must not repeat the password.
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return "", fmt.Errorf("invalid mirror: username/password not allowed in URI %q", u)
	}
	return strings.TrimSuffix(mirror, "/") + "/", nil
}

// domain is a registry host name as references allow it: dot-separated
// labels, or a bracketed IPv6 address, with an optional port.
var domain = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)

// ParseInsecureRegistry reads an insecure-registries entry: a network in
// CIDR notation, or a host with an optional port. An http:// or https://
// prefix is dropped, as dockerd does (with a warning there).
func ParseInsecureRegistry(entry string) (host string, network netip.Prefix, err error) {
	r := entry
	if r == "index.docker.io" {
		r = "docker.io"
	}
	if strings.HasPrefix(r, "-") || strings.HasSuffix(r, "-") {
		return "", netip.Prefix{}, fmt.Errorf("invalid index name (%s). Cannot begin or end with a hyphen", r)
	}
	if scheme, rest, ok := strings.Cut(r, "://"); ok {
		switch strings.ToLower(scheme) {
		case "http", "https":
			r = rest
		default:
			return "", netip.Prefix{}, fmt.Errorf("insecure registry %s should not contain '://'", r)
		}
	}
	if p, err := netip.ParsePrefix(r); err == nil {
		return "", p.Masked(), nil
	}
	h, port, splitErr := net.SplitHostPort(r)
	if splitErr != nil {
		h, port = r, ""
	}
	if !domain.MatchString(r) && net.ParseIP(h) == nil {
		return "", netip.Prefix{}, fmt.Errorf("insecure registry %s is not valid: invalid host %q", r, h)
	}
	if port != "" {
		if v, err := strconv.Atoi(port); err != nil || v < 0 || v > 65535 {
			return "", netip.Prefix{}, fmt.Errorf("insecure registry %s is not valid: invalid port %q", r, port)
		}
	}
	return r, netip.Prefix{}, nil
}
