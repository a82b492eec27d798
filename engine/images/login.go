package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
)

// Login checks auth's credentials against its registry (ServerAddress;
// empty is Docker Hub), as POST /auth does for `docker login`: it asks for
// /v2/ with them, through the authentication the registry asks for (basic,
// or a bearer token from its token service). roostd keeps nothing: the
// client stores the credentials and sends them with each pull and push.
// Refused credentials are ErrUnauthenticated with dockerd's "login attempt
// to … failed with status: 401 Unauthorized".
func (s *Service) Login(ctx context.Context, auth registry.AuthConfig) (*registry.AuthResponse, error) {
	host := loginHost(auth.ServerAddress)
	// A login is for the registry itself, never its mirrors.
	hosts, err := s.registryHosts(ctx, &auth, false)(host)
	if err != nil {
		return nil, err
	}
	err = errdefs.ErrNotFound.WithMessage("no endpoint for registry " + host)
	for _, h := range hosts {
		if h.Capabilities&docker.HostCapabilityResolve == 0 {
			continue
		}
		if err = tryLogin(ctx, h); err == nil {
			return &registry.AuthResponse{Status: "Login Succeeded"}, nil
		}
		if errdefs.IsUnauthorized(err) {
			break // the next endpoint (a mirror) would not know better
		}
	}
	return nil, err
}

// tryLogin asks one endpoint for /v2/, answering its authentication
// challenge once.
func tryLogin(ctx context.Context, h docker.RegistryHost) error {
	url := h.Scheme + "://" + h.Host + h.Path + "/"
	get := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range h.Header {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", userAgent)
		if h.Authorizer != nil {
			if err := h.Authorizer.Authorize(ctx, req); err != nil {
				return nil, loginError(url, err)
			}
		}
		resp, err := h.Client.Do(req)
		if err != nil {
			return nil, err
		}
		// Only the status and the headers matter.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return resp, nil
	}
	resp, err := get()
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized && h.Authorizer != nil {
		if err := h.Authorizer.AddResponses(ctx, []*http.Response{resp}); err != nil {
			return loginError(url, err)
		}
		if resp, err = get(); err != nil {
			return err
		}
	}
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	msg := fmt.Sprintf("login attempt to %s failed with status: %d %s", url, resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return errdefs.ErrUnauthenticated.WithMessage(msg)
	}
	return errdefs.ErrUnknown.WithMessage(msg)
}

// loginError classifies a failure to authenticate: credentials that are
// missing or refused by a token service are the user's to fix.
func loginError(url string, err error) error {
	if errdefs.IsCanceled(err) || errdefs.IsDeadlineExceeded(err) {
		return err
	}
	if details := tokenRefusal(err); details != "" {
		// dockerd's words for a token service that refuses the password
		// (Docker Hub's "incorrect username or password").
		return errdefs.ErrUnauthenticated.WithMessage(fmt.Sprintf("Get %q: unauthorized: %s", url, details))
	}
	return errdefs.ErrUnauthenticated.WithMessage(fmt.Sprintf("login attempt to %s failed: %v", url, registryError(err)))
}

// loginHost is the registry a login names: a host[:port], or a URL of one
// as older clients send ("https://index.docker.io/v1/" is Docker Hub).
func loginHost(addr string) string {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	addr, _, _ = strings.Cut(addr, "/")
	switch addr {
	case "", "index.docker.io", "registry-1.docker.io", "docker.io":
		return "docker.io"
	}
	return addr
}

// tokenRefusal is what a token service said when it refused the
// credentials with a 401: its "details" (Docker Hub's), or the message of
// its first distribution error; "" if err is something else.
func tokenRefusal(err error) string {
	var status remoteerrors.ErrUnexpectedStatus
	if !errors.As(err, &status) || status.StatusCode != http.StatusUnauthorized {
		return ""
	}
	var body struct {
		Details string `json:"details"`
		Errors  []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(status.Body, &body) != nil {
		return "authentication required"
	}
	switch {
	case body.Details != "":
		return body.Details
	case len(body.Errors) > 0 && body.Errors[0].Message != "":
		return body.Errors[0].Message
	}
	return "authentication required"
}
