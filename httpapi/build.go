package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/roostd/roost/buildsvc/buildopts"
)

// The option types of the build routes are buildsvc's, from the small
// package that links no BuildKit.
type (
	BuildOptions      = buildopts.BuildOptions
	BuildPruneOptions = buildopts.PruneOptions
)

// BuildBackend runs builds (buildsvc.Service, in the roost-build process).
type BuildBackend interface {
	// Build reads the context from body; errors before out is first
	// called are ordinary API errors, later ones go into the stream.
	Build(ctx context.Context, body io.Reader, opts BuildOptions, out func(jsonstream.Message) error) (string, error)
	Prune(ctx context.Context, opts BuildPruneOptions) (*build.CachePruneReport, error)
	Cancel(buildID string)
}

func (s *server) buildRoutes() []route {
	if s.buildProxy != nil {
		return []route{
			{http.MethodPost, "/build", s.proxyBuild},
			{http.MethodPost, "/build/prune", s.proxyBuild},
			{http.MethodPost, "/build/cancel", s.proxyBuild},
			{http.MethodPost, "/grpc", s.proxyBuild},
			{http.MethodPost, "/session", s.proxyBuild},
		}
	}
	return []route{
		{http.MethodPost, "/build", s.postBuild},
		{http.MethodPost, "/build/prune", s.postBuildPrune},
		{http.MethodPost, "/build/cancel", s.postBuildCancel},
		{http.MethodPost, "/grpc", s.postGRPC},
		{http.MethodPost, "/session", s.postSession},
	}
}

// proxyBuild hands a build route to the process that serves builds, with
// the path the client sent: that process answers it, errors included, as
// the routes below would here.
func (s *server) proxyBuild(w http.ResponseWriter, r *http.Request) error {
	u := *r.URL
	u.Path = "/v" + apiVersion(r.Context()) + u.Path
	r2 := r.Clone(r.Context())
	r2.URL = &u
	r2.RequestURI = ""
	// The build process's handler sets them as withVersion did here.
	for _, k := range []string{"Server", "API-Version", "OSType", "Docker-Experimental"} {
		w.Header().Del(k)
	}
	s.buildProxy.ServeHTTP(w, r2)
	return nil
}

// postBuild is `docker build` without buildx: the context tar in the body,
// the options in the query, the classic builder's JSON messages back.
func (s *server) postBuild(w http.ResponseWriter, r *http.Request) error {
	if s.build == nil {
		return notImplemented("builds are not supported by this engine")
	}
	opts, err := buildOptions(r.URL.Query())
	if err != nil {
		drain(r.Body)
		return err
	}
	out := newJSONStream(w, "application/json")
	send := func(m jsonstream.Message) error { return out.send(m) }
	_, err = s.build.Build(r.Context(), r.Body, opts, send)
	switch {
	case err == nil:
		return nil
	case !out.started && buildopts.IsBuildFailure(err):
		// A Dockerfile rejected before any step ran (a syntax error, an
		// unknown target) is bad input, as with dockerd.
		return errdefs.ErrInvalidArgument.WithMessage(err.Error())
	case !out.started:
		drain(r.Body)
		return err
	}
	_ = out.sendError(err)
	return nil
}

// drain reads what is left of a small context the build refused before
// reading it, so that the client, still sending, gets the error rather
// than a broken pipe.
func drain(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxDrain))
}

// maxDrain bounds drain; a client sending more gets its error late.
const maxDrain = 4 << 20

// buildOptions reads the query of POST /build.
func buildOptions(q url.Values) (BuildOptions, error) {
	opts := BuildOptions{
		Tags:        q["t"],
		Dockerfile:  q.Get("dockerfile"),
		Remote:      q.Get("remote"),
		Target:      q.Get("target"),
		NoCache:     boolValue(q, "nocache"),
		Pull:        boolValue(q, "pull"),
		Platform:    q.Get("platform"),
		NetworkMode: q.Get("networkmode"),
		ExtraHosts:  q["extrahosts"],
		Quiet:       boolValue(q, "q"),
		BuildID:     q.Get("buildid"),
	}
	// rm, forcerm and the resource limits are accepted: BuildKit keeps no
	// intermediate containers, and builds run without cgroup limits here.
	if q.Get("version") == "2" {
		return opts, notImplemented("BuildKit builds through POST /build (version=2) are not supported yet by roost; use docker buildx build, which goes through /grpc and /session")
	}
	for key, dst := range map[string]any{
		"buildargs": &opts.BuildArgs,
		"labels":    &opts.Labels,
		"cachefrom": &opts.CacheFrom,
		"ulimits":   &opts.Ulimits,
	} {
		if err := jsonParam(q, key, dst); err != nil {
			return opts, err
		}
	}
	if v := q.Get("shmsize"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return opts, invalidParameter{fmt.Errorf("invalid shmsize: %s", v)}
		}
		opts.ShmSize = n
	}
	return opts, nil
}

// jsonParam decodes a JSON-valued query parameter, as dockerd reads
// buildargs, labels, cachefrom and ulimits.
func jsonParam(q url.Values, key string, dst any) error {
	v := q.Get(key)
	if v == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v), dst); err != nil {
		return invalidParameter{fmt.Errorf("invalid %s: %w", key, err)}
	}
	return nil
}

// postBuildPrune is `docker builder prune`.
func (s *server) postBuildPrune(w http.ResponseWriter, r *http.Request) error {
	if s.build == nil {
		return notImplemented("builds are not supported by this engine")
	}
	q := r.URL.Query()
	opts := BuildPruneOptions{All: boolValue(q, "all")}
	for key, dst := range map[string]*int64{
		"keep-storage":   &opts.ReservedSpace,
		"reserved-space": &opts.ReservedSpace,
		"max-used-space": &opts.MaxUsedSpace,
		"min-free-space": &opts.MinFreeSpace,
	} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return invalidParameter{fmt.Errorf("%s is in bytes and expects an integer, got %v", key, v)}
			}
			*dst = n
		}
	}
	f, err := filtersValue(q)
	if err != nil {
		return err
	}
	if err := pruneFilters(f, &opts); err != nil {
		return err
	}
	report, err := s.build.Prune(r.Context(), opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, report)
}

// postBuildCancel stops the build whose buildid is given.
func (s *server) postBuildCancel(w http.ResponseWriter, r *http.Request) error {
	if s.build == nil {
		return notImplemented("builds are not supported by this engine")
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		return invalidParameter{fmt.Errorf("build ID not provided")}
	}
	s.build.Cancel(id)
	w.WriteHeader(http.StatusOK)
	return nil
}

// pruneFilters translates the filters of `docker builder prune` into
// BuildKit's: until becomes the keep duration, the record attributes
// become filter expressions.
func pruneFilters(f Filters, opts *BuildPruneOptions) error {
	for key, values := range f {
		for _, v := range values {
			switch key {
			case "until":
				d, err := time.ParseDuration(v)
				if err != nil {
					ts, terr := parseUnixTimestamp(v)
					if terr != nil {
						return invalidParameter{fmt.Errorf("%q filter expects a duration (e.g., '24h') or a timestamp: %w", key, err)}
					}
					d = time.Since(ts)
				}
				opts.KeepDuration = d
			case "id", "parent", "type", "description":
				opts.Filters = append(opts.Filters, key+"=="+v)
			case "inuse", "shared", "private":
				opts.Filters = append(opts.Filters, key)
			default:
				return invalidParameter{fmt.Errorf("invalid filter '%s'", key)}
			}
		}
	}
	return nil
}
