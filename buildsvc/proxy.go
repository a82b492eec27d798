package buildsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/containerd/log"
	"github.com/distribution/reference"
	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// solveMethod is the one call the proxy looks into.
const solveMethod = "/moby.buildkit.v1.Control/Solve"

// frame is one gRPC message passed through without decoding.
type frame struct{ payload []byte }

// rawCodec passes frames through and encodes anything else as protobuf;
// it takes the "proto" name so that both sides see ordinary gRPC.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	if f, ok := v.(*frame); ok {
		return f.payload, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("cannot encode %T", v)
	}
	return proto.Marshal(m)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	if f, ok := v.(*frame); ok {
		f.payload = append([]byte(nil), data...)
		return nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("cannot decode into %T", v)
	}
	return proto.Unmarshal(data, m)
}

// upstream is the proxy's own connection to buildkitd, made once; grpc
// redials it when buildkitd is restarted.
func (s *Service) upstream(ctx context.Context) (*grpc.ClientConn, error) {
	if _, err := s.daemon.Client(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.up != nil {
		return s.up, nil
	}
	up, err := grpc.NewClient("unix://"+s.daemon.cfg.socket(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	s.up = up
	return up, nil
}

// proxy passes every call of one /grpc connection to buildkitd.
type proxy struct {
	s  *Service
	up *grpc.ClientConn
}

var bidi = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

func (p *proxy) handle(_ any, down grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(down)
	if !ok {
		return status.Error(codes.Internal, "no method")
	}
	ctx, cancel := context.WithCancel(down.Context())
	defer cancel()
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		ctx = metadata.NewOutgoingContext(ctx, md.Copy())
	}
	if method == solveMethod {
		return p.solve(ctx, down)
	}
	up, err := p.up.NewStream(ctx, bidi, method)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() {
		for {
			f := &frame{}
			if err := down.RecvMsg(f); err != nil {
				_ = up.CloseSend()
				if !errors.Is(err, io.EOF) {
					errc <- err
				}
				return
			}
			if err := up.SendMsg(f); err != nil {
				return // the upstream's RecvMsg reports why
			}
		}
	}()
	first := true
	for {
		f := &frame{}
		err := up.RecvMsg(f)
		if first {
			first = false
			if md, herr := up.Header(); herr == nil && len(md) > 0 {
				_ = down.SendHeader(md)
			}
		}
		if err != nil {
			down.SetTrailer(up.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			select {
			case derr := <-errc:
				return derr
			default:
			}
			return err
		}
		if err := down.SendMsg(f); err != nil {
			return err
		}
	}
}

// solve is Control.Solve with the moby exporter translated.
func (p *proxy) solve(ctx context.Context, down grpc.ServerStream) error {
	req := &controlapi.SolveRequest{}
	if err := down.RecvMsg(req); err != nil {
		return err
	}
	var names []string
	var pushers []*controlapi.Exporter
	loading := false
	if req.ExporterDeprecated == mobyExporter {
		// The old single-exporter fields, as a list entry: a push adds a
		// second exporter.
		req.Exporters = append(req.Exporters, &controlapi.Exporter{Type: req.ExporterDeprecated, Attrs: req.ExporterAttrsDeprecated})
		req.ExporterDeprecated, req.ExporterAttrsDeprecated = "", nil
	}
	for _, e := range req.Exporters {
		if e.Type != mobyExporter {
			continue
		}
		loading = true
		n, pusher, err := mobyToImage(e)
		if err != nil {
			return err
		}
		names = append(names, n...)
		if pusher != nil {
			pushers = append(pushers, pusher)
		}
	}
	req.Exporters = append(req.Exporters, pushers...)
	tags, err := parseTags(names)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if loading {
		// Attestations (buildx adds provenance by default) make the result
		// an index, while an image in roost's store is one manifest whose
		// config digest is its ID, as in dockerd's classic store.
		for k := range req.FrontendAttrs {
			if strings.HasPrefix(k, "attest:") {
				delete(req.FrontendAttrs, k)
			}
		}
	}
	resp := &controlapi.SolveResponse{}
	if err := p.up.Invoke(ctx, solveMethod, req, resp); err != nil {
		return err
	}
	id := resp.ExporterResponse[exptypes.ExporterImageConfigDigestKey]
	if loading && id == "" {
		return status.Error(codes.FailedPrecondition, "the build made a multi-platform image, which roost cannot load into its image store yet: build one platform, or use --output type=oci")
	}
	if loading {
		// What buildx prints (-q, --iidfile) is this digest: the image ID
		// here, as with dockerd's moby exporter on its classic store.
		resp.ExporterResponse[exptypes.ExporterImageDigestKey] = id
	}
	if len(tags) > 0 {
		for _, t := range tags {
			if err := p.s.images.Tag(context.WithoutCancel(ctx), id, reference.FamiliarName(t), t.Tag()); err != nil {
				log.G(ctx).WithError(err).Warnf("tagging the built image %s", t)
				return status.Error(codes.Internal, err.Error())
			}
		}
		resp.ExporterResponse[exptypes.ExporterImageNameKey] = joinNames(tags)
	}
	return down.SendMsg(resp)
}

func joinNames(tags []reference.NamedTagged) string {
	var out string
	for i, t := range tags {
		if i > 0 {
			out += ","
		}
		out += t.String()
	}
	return out
}
