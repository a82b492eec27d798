package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/log"
)

// versionKey is the context key of the API version a request asked for.
type versionKey struct{}

// apiVersion returns the API version of the request: its /v1.NN prefix, or
// MaxAPIVersion when it had none.
func apiVersion(ctx context.Context) string {
	if v, ok := ctx.Value(versionKey{}).(string); ok {
		return v
	}
	return MaxAPIVersion
}

// withVersion sets the headers every response carries, strips the optional
// /v1.NN prefix (stored in the context for the handlers) and logs the call.
// The version bounds are checked by adapt, after routing, so an unknown route
// is a 404 whatever its version, as in dockerd.
func withVersion(next http.Handler, serverVersion string) http.Handler {
	server := fmt.Sprintf("roost/%s (linux)", serverVersion)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", server)
		h.Set("API-Version", MaxAPIVersion)
		h.Set("OSType", "linux")
		h.Set("Docker-Experimental", "false")

		version, rest := splitVersion(r.URL.Path)
		ctx := context.WithValue(r.Context(), versionKey{}, version)
		r = r.WithContext(ctx)
		u := *r.URL
		u.Path = rest
		// chi routes on RawPath when it is set; image names are matched
		// on the decoded path, as gorilla/mux does for dockerd.
		u.RawPath = ""
		r.URL = &u

		start := time.Now()
		log.G(ctx).Debugf("Calling %s %s", r.Method, r.URL.Path)
		next.ServeHTTP(w, r)
		log.G(ctx).WithField("duration", time.Since(start)).Debugf("Done %s %s", r.Method, r.URL.Path)
	})
}

// splitVersion splits "/v1.44/containers/json" into "1.44" and
// "/containers/json". A path without a well-formed prefix (dockerd's
// /v{version:[0-9.]+}) keeps its path, and the version is MaxAPIVersion.
func splitVersion(path string) (version, rest string) {
	if !strings.HasPrefix(path, "/v") {
		return MaxAPIVersion, path
	}
	end := strings.IndexByte(path[1:], '/') + 1
	if end == 0 {
		return MaxAPIVersion, path
	}
	v := path[2:end]
	if v == "" || strings.Trim(v, "0123456789.") != "" {
		return MaxAPIVersion, path
	}
	return v, path[end:]
}

// versionError is dockerd's error for a version out of bounds.
type versionError struct {
	version, min, max string
}

func (e versionError) Error() string {
	if e.min != "" {
		return fmt.Sprintf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", e.version, e.min)
	}
	return fmt.Sprintf("client version %s is too new. Maximum supported API version is %s", e.version, e.max)
}

// InvalidParameter classifies the error as InvalidArgument (400).
func (versionError) InvalidParameter() {}

// checkVersion rejects a request version outside [MinAPIVersion, MaxAPIVersion].
func checkVersion(ctx context.Context) error {
	v := apiVersion(ctx)
	if versionLess(v, MinAPIVersion) {
		return versionError{version: v, min: MinAPIVersion}
	}
	if versionLess(MaxAPIVersion, v) {
		return versionError{version: v, max: MaxAPIVersion}
	}
	return nil
}

// versionLess compares dotted versions numerically, part by part, with
// missing parts as zero ("1.9" < "1.24").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// versionAtLeast tells whether the request's API version is v or newer.
func versionAtLeast(ctx context.Context, v string) bool {
	return !versionLess(apiVersion(ctx), v)
}
