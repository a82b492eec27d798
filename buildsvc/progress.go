package buildsvc

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
	bkclient "github.com/moby/buildkit/client"
	solvererrdefs "github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	digest "github.com/opencontainers/go-digest"

	"github.com/roostd/roost/buildsvc/buildopts"
)

// stepName matches the Dockerfile frontend's vertex names for
// instructions: "[2/3] RUN make" or, with several stages,
// "[build 2/3] RUN make". Other vertices ([internal] loads, metadata,
// exporting) have no classic-builder counterpart and are not shown.
var stepName = regexp.MustCompile(`^\[(?:(\S+) )?(\d+)/(\d+)\] (.*)$`)

// unnamedStage is the frontend's name for a stage without AS.
var unnamedStage = regexp.MustCompile(`^stage-\d+$`)

// pinnedDigest is what the frontend appends to a FROM it resolved; the
// classic builder shows the instruction as written.
var pinnedDigest = regexp.MustCompile(`@sha256:[0-9a-f]{64}`)

// printer renders BuildKit's solve status as the classic builder's JSON
// messages, which the CLI prints without buildx: a "Step i/n : …" line per
// instruction, " ---> Using cache" for cache hits, and the output of RUN.
type printer struct {
	out   func(jsonstream.Message) error
	quiet bool
	// broken is set once out fails (the client went away); the build is
	// cancelled through the request's context, the rest is dropped.
	broken bool
	shown  map[digest.Digest]bool
	cached map[digest.Digest]bool
	names  map[digest.Digest]string
	// failed is the step whose error ended the build.
	failed string
}

func newPrinter(out func(jsonstream.Message) error, quiet bool) *printer {
	return &printer{out: out, quiet: quiet, shown: map[digest.Digest]bool{},
		cached: map[digest.Digest]bool{}, names: map[digest.Digest]string{}}
}

func (p *printer) send(m jsonstream.Message) {
	if p.broken {
		return
	}
	if err := p.out(m); err != nil {
		p.broken = true
	}
}

func (p *printer) line(format string, args ...any) {
	if !p.quiet {
		p.send(jsonstream.Message{Stream: fmt.Sprintf(format, args...)})
	}
}

// status handles one batch: steps first, so that a step's line comes
// before its output.
func (p *printer) status(st *bkclient.SolveStatus) {
	for _, v := range st.Vertexes {
		m := stepName.FindStringSubmatch(v.Name)
		if m == nil {
			continue
		}
		p.names[v.Digest] = v.Name
		if !p.shown[v.Digest] && (v.Started != nil || v.Cached) {
			p.shown[v.Digest] = true
			if strings.HasPrefix(m[4], "FROM ") {
				m[4] = pinnedDigest.ReplaceAllString(m[4], "")
			}
			if m[1] != "" && !unnamedStage.MatchString(m[1]) {
				p.line("Step %s/%s : %s (stage %s)\n", m[2], m[3], m[4], m[1])
			} else {
				p.line("Step %s/%s : %s\n", m[2], m[3], m[4])
			}
		}
		if v.Cached && !p.cached[v.Digest] {
			p.cached[v.Digest] = true
			p.line(" ---> Using cache\n")
		}
		if v.Error != "" && p.failed == "" {
			p.failed = v.Name
		}
	}
	for _, l := range st.Logs {
		if _, ok := p.names[l.Vertex]; ok && len(l.Data) > 0 {
			p.line("%s", l.Data)
		}
	}
}

// finish writes the classic builder's closing lines.
func (p *printer) finish(id string, tags []reference.NamedTagged) error {
	p.send(auxID(id))
	if p.quiet {
		p.send(jsonstream.Message{Stream: id + "\n"})
	} else {
		p.line("Successfully built %s\n", shortID(id))
		for _, t := range tags {
			p.line("Successfully tagged %s\n", reference.FamiliarString(t))
		}
	}
	return nil
}

// failure turns the solve error into what the CLI shows: BuildKit's
// message (a parse error names its line; a failed RUN its command and exit
// code), with the failing step and its Dockerfile line in front.
func (p *printer) failure(err error) error {
	msg := err.Error()
	var where []string
	for _, src := range solvererrdefs.Sources(err) {
		if src.Info == nil || len(src.Ranges) == 0 || src.Ranges[0].Start == nil {
			continue
		}
		line := src.Ranges[0].Start.Line
		if !strings.Contains(msg, fmt.Sprintf("line %d", line)) {
			where = append(where, fmt.Sprintf("%s:%d", src.Info.Filename, line))
		}
		break
	}
	if p.failed != "" {
		where = append(where, p.failed)
	}
	if len(where) > 0 {
		msg = strings.Join(where, " ") + ": " + msg
	}
	return &buildError{msg: msg, err: err}
}

// buildError is a failed build: not a fault of the engine.
type buildError struct {
	msg string
	err error
}

func (e *buildError) Error() string { return e.msg }
func (e *buildError) Unwrap() error { return e.err }

// BuildFailure marks the error for buildopts.IsBuildFailure, which the API
// side uses to answer 400 rather than 500.
func (e *buildError) BuildFailure() bool { return true }

// IsBuildFailure reports whether err is a build that failed in its
// Dockerfile rather than in the engine.
func IsBuildFailure(err error) bool { return buildopts.IsBuildFailure(err) }

func shortID(id string) string {
	_, hex, _ := strings.Cut(id, ":")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}
