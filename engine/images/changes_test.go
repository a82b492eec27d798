package images

import (
	"reflect"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestApplyChanges(t *testing.T) {
	type cfg = dockerspec.DockerOCIImageConfig
	oci := func(c ocispec.ImageConfig) cfg { return cfg{ImageConfig: c} }
	tests := []struct {
		name    string
		base    cfg
		changes []string
		want    cfg
		wantErr string
	}{
		{name: "none", want: cfg{}},
		{name: "cmd exec form", changes: []string{`CMD ["sh", "-c", "echo hi"]`},
			want: oci(ocispec.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}})},
		{name: "cmd shell form", changes: []string{`CMD echo "hi there"`},
			want: oci(ocispec.ImageConfig{Cmd: []string{"/bin/sh", "-c", `echo "hi there"`}})},
		{name: "lowercase keyword", changes: []string{`cmd ["true"]`},
			want: oci(ocispec.ImageConfig{Cmd: []string{"true"}})},
		{name: "entrypoint resets inherited cmd", base: oci(ocispec.ImageConfig{Cmd: []string{"sh"}}),
			changes: []string{`ENTRYPOINT ["/bin/busybox"]`},
			want:    oci(ocispec.ImageConfig{Entrypoint: []string{"/bin/busybox"}})},
		{name: "cmd then entrypoint keeps cmd", changes: []string{`CMD ["ls"]`, `ENTRYPOINT /bin/busybox`},
			want: oci(ocispec.ImageConfig{Cmd: []string{"ls"}, Entrypoint: []string{"/bin/sh", "-c", "/bin/busybox"}})},
		{name: "env pairs and expansion", base: oci(ocispec.ImageConfig{Env: []string{"PATH=/bin"}}),
			changes: []string{`ENV A=1 B="two words" PATH=/x:$PATH`, `ENV C=${A}-${NOPE:-d}`},
			want:    oci(ocispec.ImageConfig{Env: []string{"PATH=/x:/bin", "A=1", "B=two words", "C=1-d"}})},
		{name: "env legacy form", changes: []string{`ENV GREETING hello world`},
			want: oci(ocispec.ImageConfig{Env: []string{"GREETING=hello world"}})},
		{name: "single quotes do not expand", changes: []string{`ENV A=1`, `ENV B='$A'`},
			want: oci(ocispec.ImageConfig{Env: []string{"A=1", "B=$A"}})},
		{name: "workdir relative", changes: []string{`WORKDIR /srv`, `WORKDIR app`},
			want: oci(ocispec.ImageConfig{WorkingDir: "/srv/app"})},
		{name: "user", changes: []string{`USER nobody`}, want: oci(ocispec.ImageConfig{User: "nobody"})},
		{name: "expose", changes: []string{`EXPOSE 80 53/udp 8000-8001`},
			want: oci(ocispec.ImageConfig{ExposedPorts: map[string]struct{}{
				"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {},
			}})},
		{name: "label", changes: []string{`LABEL a=b "c d"=e`},
			want: oci(ocispec.ImageConfig{Labels: map[string]string{"a": "b", "c d": "e"}})},
		{name: "volume json and words", changes: []string{`VOLUME ["/data"]`, `VOLUME /a /b`},
			want: oci(ocispec.ImageConfig{Volumes: map[string]struct{}{"/data": {}, "/a": {}, "/b": {}}})},
		{name: "stopsignal", changes: []string{`STOPSIGNAL SIGINT`}, want: oci(ocispec.ImageConfig{StopSignal: "SIGINT"})},
		{name: "continuation and comments", changes: []string{"# a comment", "CMD echo \\", "  hi"},
			want: oci(ocispec.ImageConfig{Cmd: []string{"/bin/sh", "-c", "echo  hi"}})},
		{name: "healthcheck", changes: []string{`HEALTHCHECK --interval=5s --retries=2 CMD ["true"]`},
			want: cfg{DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{Healthcheck: &dockerspec.HealthcheckConfig{
				Test: []string{"CMD", "true"}, Interval: 5 * time.Second, Retries: 2,
			}}}},
		{name: "healthcheck shell", changes: []string{`HEALTHCHECK CMD wget -q localhost`},
			want: cfg{DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{Healthcheck: &dockerspec.HealthcheckConfig{
				Test: []string{"CMD-SHELL", "wget -q localhost"},
			}}}},
		{name: "healthcheck none", changes: []string{`HEALTHCHECK NONE`},
			want: cfg{DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{Healthcheck: &dockerspec.HealthcheckConfig{Test: []string{"NONE"}}}}},
		{name: "onbuild", changes: []string{`ONBUILD run echo hi`},
			want: cfg{DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{OnBuild: []string{"RUN echo hi"}}}},

		{name: "run is not allowed", changes: []string{`RUN echo hi`}, wantErr: "run is not a valid change command"},
		{name: "unknown instruction", changes: []string{`FOO bar`}, wantErr: "foo is not a valid change command"},
		{name: "empty cmd", changes: []string{`CMD`}, wantErr: "CMD requires at least one argument"},
		{name: "user needs one word", changes: []string{`USER a b`}, wantErr: "USER requires exactly one argument"},
		{name: "bad port", changes: []string{`EXPOSE http`}, wantErr: "invalid containerPort: http"},
		{name: "bad proto", changes: []string{`EXPOSE 80/foo`}, wantErr: "invalid proto: foo"},
		{name: "unterminated quote", changes: []string{`ENV A="x`}, wantErr: "unexpected end of statement while looking for matching double-quote"},
		{name: "env without value", changes: []string{`ENV A`}, wantErr: "ENV names can not be blank"},
		{name: "healthcheck bad type", changes: []string{`HEALTHCHECK RUN true`}, wantErr: `Unknown type "RUN" in HEALTHCHECK (try CMD)`},
		{name: "onbuild chain", changes: []string{`ONBUILD ONBUILD RUN x`}, wantErr: "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applyChanges(tc.base, tc.changes)
			if tc.wantErr != "" {
				if !errdefs.IsInvalidArgument(err) || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want InvalidArgument %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": ""}
	tests := []struct {
		in    string
		split bool
		want  []string
	}{
		{`a b  c`, true, []string{"a", "b", "c"}},
		{`a b`, false, []string{"a b"}},
		{`"$A x" '$A' \$A`, true, []string{"1 x", "$A", "$A"}},
		{`${EMPTY:-d} ${A:+set} ${NOPE:+set}x`, true, []string{"d", "set", "x"}},
		{`$`, true, []string{"$"}},
		{``, true, nil},
		{``, false, []string{""}},
		{`pre\ fix`, true, []string{"pre fix"}},
	}
	for _, tc := range tests {
		got, err := expand(tc.in, env, tc.split)
		if err != nil {
			t.Errorf("expand(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("expand(%q, %v) = %q, want %q", tc.in, tc.split, got, tc.want)
		}
	}
	if _, err := expand(`${A`, env, true); err == nil {
		t.Error("expand(${A) succeeded")
	}
}
