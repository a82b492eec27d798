package buildsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/distribution/reference"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
)

// danglingPrefix names the record of an image built without a tag, as
// dockerd's containerd store and roost's image service name untagged
// images: moby-dangling@<manifest digest>.
const danglingPrefix = "moby-dangling"

// Tagger names a built image; the image service implements it, so tags move
// the way `docker tag` moves them, with the same events.
type Tagger interface {
	Tag(ctx context.Context, source, repo, tag string) error
}

// Options configure a Service.
type Options struct {
	Daemon *Daemon
	Images Tagger
	// TmpDir receives the unpacked build contexts (in the data dir: they
	// can be large, and /run is a small tmpfs).
	TmpDir string
	// SingleID is set when the engine's user namespace maps the user's
	// own ID alone: builds that fail for that reason say so.
	SingleID bool
}

// Service runs Docker builds on BuildKit.
type Service struct {
	daemon *Daemon
	images Tagger
	tmpDir string
	// singleID: see Options.SingleID.
	singleID bool

	mu sync.Mutex
	// running maps a build's ID (the buildid parameter) to its cancel.
	running map[string]context.CancelFunc
	// up is the /grpc proxy's connection to buildkitd.
	up *grpc.ClientConn
	// h2c serves the same proxy as gRPC on the API socket itself.
	h2cOnce sync.Once
	h2c     *grpc.Server
}

// New returns a build service. Contexts left in TmpDir by a roostd that was
// killed during a build are removed: only a running Build uses one.
func New(opts Options) *Service {
	if opts.TmpDir != "" {
		_ = os.RemoveAll(opts.TmpDir)
	}
	return &Service{daemon: opts.Daemon, images: opts.Images, tmpDir: opts.TmpDir, singleID: opts.SingleID, running: map[string]context.CancelFunc{}}
}

// Close drops the /grpc proxy's connection to buildkitd.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil {
		s.up.Close()
		s.up = nil
	}
}

// Build runs the build of POST /build: body is the context (a tar, maybe
// compressed, or a lone Dockerfile). Errors found before the build starts
// are returned before out is first called; after that, out receives the
// progress in dockerd's JSON message format, and a failed build is
// returned as an error for the caller to put into the stream. Build
// returns the image ID.
func (s *Service) Build(ctx context.Context, body io.Reader, opts BuildOptions, out func(jsonstream.Message) error) (string, error) {
	tags, err := parseTags(opts.Tags)
	if err != nil {
		return "", err
	}
	attrs, err := frontendAttrs(opts)
	if err != nil {
		return "", err
	}
	var locals map[string]fsutil.FS
	var inputs map[string]llb.State
	if opts.Remote != "" {
		if err := remoteAttrs(attrs, opts.Remote, opts.Dockerfile); err != nil {
			return "", err
		}
	} else {
		bc, err := unpackContext(body, s.tmpDir, opts.Dockerfile)
		if err != nil {
			return "", err
		}
		// Removed after the response rather than before its end: the
		// client waits for that. A roostd that stops first removes what is
		// left when it starts again (New).
		defer func() { go bc.Close() }()
		attrs["filename"] = filepath.Base(bc.dockerfile)
		if locals, err = bc.mounts(); err != nil {
			return "", err
		}
		if st, ok := bc.inlineDockerfile(); ok {
			inputs = map[string]llb.State{"dockerfile": st}
			delete(locals, "dockerfile")
		}
	}
	c, err := s.daemon.Client(ctx)
	if err != nil {
		return "", err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ref := opts.BuildID
	if ref == "" {
		ref = randomID()
	}
	s.track(ref, cancel)
	defer s.untrack(ref)

	solveOpt := bkclient.SolveOpt{
		Frontend:       "dockerfile.v0",
		FrontendAttrs:  attrs,
		LocalMounts:    locals,
		FrontendInputs: inputs,
		Exports: []bkclient.ExportEntry{{Type: bkclient.ExporterImage, Attrs: map[string]string{
			string(exptypes.OptKeyDanglingPrefix): danglingPrefix,
			string(exptypes.OptKeyUnpack):         "true",
		}}},
		CacheImports: cacheImports(opts),
		Ref:          ref,
	}
	if opts.NetworkMode == "host" {
		solveOpt.AllowedEntitlements = []string{"network.host"}
	}
	p := newPrinter(out, opts.Quiet)
	statusCh := make(chan *bkclient.SolveStatus)
	var resp *bkclient.SolveResponse
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		resp, err = c.Solve(ectx, nil, solveOpt, statusCh)
		return err
	})
	eg.Go(func() error {
		for st := range statusCh {
			p.status(st)
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		if s.singleID {
			if explained := explainSingleID(err); explained != err {
				log.G(ctx).WithError(err).Warn("build failed in single-ID mode")
				err = explained
			}
		}
		return "", p.failure(err)
	}
	id := resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey]
	if id == "" {
		return "", fmt.Errorf("buildkit exported no image")
	}
	for _, t := range tags {
		if err := s.images.Tag(context.WithoutCancel(ctx), id, reference.FamiliarName(t), t.Tag()); err != nil {
			return "", err
		}
	}
	return id, p.finish(id, tags)
}

// Cancel stops the build started with buildid, as POST /build/cancel does;
// an unknown ID is not an error (the build may have just finished).
func (s *Service) Cancel(buildID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cancel := s.running[buildID]; cancel != nil {
		cancel()
	}
}

func (s *Service) track(ref string, cancel context.CancelFunc) {
	s.mu.Lock()
	s.running[ref] = cancel
	s.mu.Unlock()
}

func (s *Service) untrack(ref string) {
	s.mu.Lock()
	delete(s.running, ref)
	s.mu.Unlock()
}

// parseTags checks the t parameters as dockerd does, before anything runs.
func parseTags(in []string) ([]reference.NamedTagged, error) {
	var out []reference.NamedTagged
	for _, t := range in {
		if t == "" {
			continue
		}
		ref, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(err.Error())
		}
		if _, ok := ref.(reference.Canonical); ok {
			return nil, errdefs.ErrInvalidArgument.WithMessage("build tag cannot contain a digest")
		}
		out = append(out, reference.TagNameOnly(ref).(reference.NamedTagged))
	}
	return out, nil
}

// auxID is the aux message that tells the CLI the built image's ID
// (--iidfile, and the ID of `docker build -q`).
func auxID(id string) jsonstream.Message {
	raw := json.RawMessage(fmt.Sprintf(`{"ID":%q}`, id))
	return jsonstream.Message{Aux: &raw}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
