package images

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	remoteerrors "github.com/containerd/containerd/v2/core/remotes/errors"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
	"github.com/sirupsen/logrus"
)

// userAgent is what roostd calls itself in registry requests.
const userAgent = "roost"

// resolver returns a registry client for one pull or push, authenticated
// with auth (the X-Registry-Auth header's content; nil for anonymous
// access). tracker, when not nil, records the state of uploads.
func (s *Service) resolver(ctx context.Context, auth *registry.AuthConfig, tracker docker.StatusTracker) remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{
		Hosts:   s.hosts(ctx, auth),
		Tracker: tracker,
		Headers: http.Header{"User-Agent": {userAgent}},
	})
}

// hosts configures the registries' endpoints and their authentication.
//
// Registries on loopback (localhost, 127.0.0.0/8, ::1) and those
// daemon.json lists as insecure-registries are tried with HTTPS without
// verifying certificates and then with plain HTTP, as dockerd does; every
// other registry needs HTTPS with a trusted certificate. Certificates for
// a registry go in certs.d/<host:port>/ (ca.crt, client.cert and
// client.key), the layout of Docker's /etc/docker/certs.d; containerd's
// hosts.toml works there too. Pulls from Docker Hub try the
// registry-mirrors first.
func (s *Service) hosts(ctx context.Context, auth *registry.AuthConfig) docker.RegistryHosts {
	return s.registryHosts(ctx, auth, true)
}

// credentials turns the client's AuthConfig into the resolver's callback:
// an identity token (username empty), or a username and password, given
// either as such or base64-encoded in Auth as "user:password". The CLI
// sends the credentials of the registry the reference names, so they are
// offered to that registry's token service too.
//
// Without credentials the callback answers none rather than being left
// out, so that a registry asking for basic authentication gets dockerd's
// "no basic auth credentials".
func credentials(auth *registry.AuthConfig) func(host string) (string, string, error) {
	if auth == nil {
		auth = &registry.AuthConfig{}
	}
	user, secret := auth.Username, auth.Password
	switch {
	case auth.IdentityToken != "":
		user, secret = "", auth.IdentityToken
	case user == "" && secret == "" && auth.Auth != "":
		decoded, err := base64.StdEncoding.DecodeString(auth.Auth)
		if err != nil {
			return func(string) (string, string, error) {
				return "", "", errdefs.ErrInvalidArgument.WithMessage("invalid auth configuration: " + err.Error())
			}
		}
		user, secret, _ = strings.Cut(string(decoded), ":")
	}
	return func(string) (string, string, error) { return user, secret, nil }
}

// pullError turns an error of resolving or fetching ref into what dockerd
// answers: a missing tag or digest is "manifest for … not found: manifest
// unknown: manifest unknown" (NotFound, which `docker run` reports after
// its pull); a token refused for the repository is "pull access denied
// for …"; missing basic credentials keep containerd's "no basic auth
// credentials", dockerd's words too.
func pullError(ref reference.Named, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, docker.ErrInvalidAuthorization) && strings.Contains(err.Error(), "no basic auth credentials"):
		return registryError(err)
	case errors.Is(err, docker.ErrInvalidAuthorization):
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf(
			"pull access denied for %s, repository does not exist or may require 'docker login': %v",
			reference.FamiliarName(ref), err))
	case errdefs.IsNotFound(err):
		return errdefs.ErrNotFound.WithMessage(fmt.Sprintf(
			"manifest for %s not found: manifest unknown: manifest unknown", reference.FamiliarString(ref)))
	}
	return registryError(err)
}

// registryError classifies an error a registry answered with by the
// error code in its body, as dockerd does, and keeps other errors (a
// refused connection, a TLS failure) as they are.
//
// Refused or missing credentials are never a 401 here: the docker CLI
// answers a 401 to pull or push by asking for a login on the terminal (and
// waits on stdin without one). dockerd answers them with a 500 too.
func registryError(err error) error {
	var derrs docker.Errors
	var derr docker.Error
	var code docker.ErrorCode
	var status remoteerrors.ErrUnexpectedStatus
	switch {
	case errors.Is(err, docker.ErrInvalidAuthorization):
		return errdefs.ErrUnknown.WithMessage(err.Error())
	case errors.As(err, &derrs) && len(derrs) > 0:
		// containerd decodes an error whose message is its code's own
		// as the bare code.
		if errors.As(derrs[0], &code) {
			derr = docker.Error{Code: code}
		} else if !errors.As(derrs[0], &derr) {
			return err
		}
	case errors.As(err, &derr):
	case errors.As(err, &status):
		if status.StatusCode == http.StatusForbidden {
			return errdefs.ErrPermissionDenied.WithMessage(err.Error())
		}
		return err
	default:
		return err
	}
	msg := derr.Message
	if msg == "" {
		msg = derr.Code.Message()
	}
	if detail, ok := derr.Detail.(string); ok && detail != "" {
		msg += " - " + detail
	}
	msg = "error from registry: " + msg
	switch derr.Code {
	case docker.ErrorCodeDenied:
		return errdefs.ErrPermissionDenied.WithMessage(msg)
	case docker.ErrorCodeUnsupported:
		return errdefs.ErrNotImplemented.WithMessage(msg)
	case docker.ErrorCodeUnavailable:
		return errdefs.ErrUnavailable.WithMessage(msg)
	case docker.ErrorCodeTooManyRequests:
		return errdefs.ErrResourceExhausted.WithMessage(msg)
	}
	return errdefs.ErrUnknown.WithMessage(msg)
}

// quiet returns ctx with a logger that drops info messages: the host
// configuration logs "host will try HTTPS first … consider changing host
// to HTTPS" at info level for every request to a loopback registry, which
// is dockerd's documented behaviour for them, not a configuration to fix.
func quiet(ctx context.Context) context.Context {
	entry := log.G(ctx)
	l := logrus.New()
	l.SetOutput(entry.Logger.Out)
	l.SetFormatter(entry.Logger.Formatter)
	l.SetLevel(min(entry.Logger.GetLevel(), logrus.WarnLevel))
	return log.WithLogger(ctx, logrus.NewEntry(l).WithFields(entry.Data))
}
