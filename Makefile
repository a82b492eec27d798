# roost: `make` builds, `make run` starts the engine, `make test` runs every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export GOFLAGS := -mod=mod
GO ?= go

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null)
CONTAINERD_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/containerd/containerd/v2)
FUSE_OVERLAYFS_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/containerd/fuse-overlayfs-snapshotter/v2)
BUILDKIT_VERSION = $(shell $(GO) list -m -f '{{.Version}}' github.com/moby/buildkit)
GOBUILD = $(GO) build -trimpath
GO_SRC = $(shell find $(1) -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod
ROOSTD_SRC := $(call GO_SRC,cmd/roostd engine httpapi rootless netstack systemd buildproc buildsvc/buildopts)
BUILD_SRC := $(call GO_SRC,cmd/roost-build buildproc buildsvc engine httpapi)
KEEPER_SRC := $(call GO_SRC,cmd/roost-keeper rootless engine/supervisor)

RUNTIME_BINS := bin/containerd bin/containerd-shim-runc-v2 bin/runc bin/containerd-fuse-overlayfs-grpc \
  bin/cni-bridge bin/cni-static bin/bypass4netns bin/bypass4netnsd bin/buildkitd bin/roost-runc

.PHONY: all deps test-deps run test unit e2e bench clean busybox.tar

all: bin/roostd bin/roost-keeper bin/roost-build $(RUNTIME_BINS)

# grpcnotrace: gRPC's request tracing (x/net/trace, html/template), which
# roost never turns on, stays out of the API process (0.3 MB).
bin/roostd: $(ROOSTD_SRC)
	CGO_ENABLED=1 $(GOBUILD) -tags grpcnotrace -ldflags '-s -w -X main.version=$(VERSION) -X main.gitCommit=$(COMMIT)' -o $@ ./cmd/roostd

# The build service, which roostd starts on the first build: BuildKit's
# client lives here, not in roostd (5 MB less binary, and so about 3 MiB
# less resident memory, in every engine that never builds).
bin/roost-build: $(BUILD_SRC)
	CGO_ENABLED=1 $(GOBUILD) -tags grpcnotrace -ldflags '-s -w -X main.version=$(VERSION)' -o $@ ./cmd/roost-build

# The keeper holds the namespace; it stays small because two of its
# processes live as long as the engine (no CLI library, no text/template:
# cmd/roost-keeper/unshare.go).
bin/roost-keeper: $(KEEPER_SRC)
	CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w' -o $@ ./cmd/roost-keeper

# The runtime binaries come from the module versions pinned in go.mod.
# containerd leaves out what roost never loads: CRI and the btrfs, zfs and
# devmapper snapshotters, tracing (a quarter smaller, about 5 MiB less
# resident memory), and every plugin nsinit's config turns off
# (cmd/roost-keeper/containerd: 8 MB smaller again, 5 MiB less). Three more
# upstream tags drop code no config of roost's reaches: RDT classes
# (no_rdt: Intel's resctrl library and its Prometheus metrics), gRPC's
# /debug/requests tracing (grpcnotrace: x/net/trace and html/template;
# containerd serves no debug endpoint here) and the systemd readiness
# notice (no_systemd: nsinit, not systemd, supervises it). Static, as
# nothing in it needs cgo without btrfs: libc and ld.so are no longer
# mapped into it (1.5 MiB of its RSS).
bin/containerd: go.mod $(call GO_SRC,cmd/roost-keeper/containerd)
	CGO_ENABLED=0 $(GOBUILD) -tags 'no_cri no_btrfs no_zfs no_devmapper no_tracing no_rdt grpcnotrace no_systemd' \
	  -ldflags '-s -w -X github.com/containerd/containerd/v2/version.Version=$(CONTAINERD_VERSION)' \
	  -o $@ ./cmd/roost-keeper/containerd

# Static, as upstream ships it: the shim outlives everything and must not
# depend on the libc it started with. It is containerd's runc shim with a
# `delete` command that skips the second `runc delete` when runc already
# forgot the container (cmd/roost-keeper/shim: one runc start, 4-7 ms, off
# every exit).
bin/containerd-shim-runc-v2: go.mod $(call GO_SRC,cmd/roost-keeper/shim)
	CGO_ENABLED=0 $(GOBUILD) -tags urfave_cli_no_docs,no_grpc \
	  -ldflags '-s -w -X github.com/containerd/containerd/v2/version.Version=$(CONTAINERD_VERSION)' \
	  -o $@ ./cmd/roost-keeper/shim

# Without cgo and -tags seccomp runc builds fine and then fails every
# container that has a seccomp profile.
bin/runc: go.mod
	CGO_ENABLED=1 $(GOBUILD) -tags seccomp -ldflags '-s -w' -o $@ github.com/opencontainers/runc

# containerd's proxy plugin for the fuse-overlayfs snapshotter, the fallback
# where the kernel refuses overlayfs in a user namespace; it runs Debian's
# fuse-overlayfs.
bin/containerd-fuse-overlayfs-grpc: go.mod
	CGO_ENABLED=0 $(GOBUILD) \
	  -ldflags '-s -w -X github.com/containerd/fuse-overlayfs-snapshotter/v2/cmd/containerd-fuse-overlayfs-grpc/version.Version=$(FUSE_OVERLAYFS_VERSION)' \
	  -o $@ github.com/containerd/fuse-overlayfs-snapshotter/v2/cmd/containerd-fuse-overlayfs-grpc

# The CNI plugins roost's networks use, named for their type (netstack
# finds a plugin by the name of its binary, in the directory of roostd).
bin/cni-bridge: go.mod
	CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w' -o $@ github.com/containernetworking/plugins/plugins/main/bridge

bin/cni-static: go.mod
	CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w' -o $@ github.com/containernetworking/plugins/plugins/ipam/static

# bypass4netns (opt-in fast path for container sockets) links libseccomp.
bin/bypass4netns: go.mod
	CGO_ENABLED=1 $(GOBUILD) -ldflags '-s -w' -o $@ github.com/rootless-containers/bypass4netns/cmd/bypass4netns

bin/bypass4netnsd: go.mod
	CGO_ENABLED=1 $(GOBUILD) -ldflags '-s -w' -o $@ github.com/rootless-containers/bypass4netns/cmd/bypass4netnsd

# buildkitd runs builds for roostd with its containerd worker; like runc it
# needs cgo and -tags seccomp for the RUN steps' seccomp profile, and the
# version ldflag, or it reports v0.0.0+unknown.
bin/buildkitd: go.mod
	CGO_ENABLED=1 $(GOBUILD) -tags seccomp \
	  -ldflags '-s -w -X github.com/moby/buildkit/version.Version=$(BUILDKIT_VERSION)' \
	  -o $@ github.com/moby/buildkit/cmd/buildkitd

# The runtime binary of BuildKit's containers in single-ID mode: runc with
# /dev/pts' tty group dropped from the spec (cmd/roost-runc).
bin/roost-runc: $(call GO_SRC,cmd/roost-runc)
	CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w' -o $@ ./cmd/roost-runc

# A real registry for the tests (pull, push), from its own module in
# tests/tools so that its dependencies never move the engine's pins.
bin/registry: tests/tools/go.mod tests/tools/go.sum
	cd tests/tools && CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w' -o ../../bin/registry github.com/distribution/distribution/v3/cmd/registry

# The buildx CLI plugin, for the tests of `docker buildx build` through the
# docker driver; from tests/tools too. The tests install it into a private
# DOCKER_CONFIG, so the CLI's plain `docker build` stays the classic one.
BUILDX_VERSION = $(shell cd tests/tools && $(GO) list -m -f '{{.Version}}' github.com/docker/buildx)
# docker compose v2 for the network tests, from a module of its own: its
# buildkit does not go with buildx's.
COMPOSE_VERSION = $(shell cd tests/tools/compose && $(GO) list -m -f '{{.Version}}' github.com/docker/compose/v2)
bin/docker-compose: tests/tools/compose/go.mod tests/tools/compose/go.sum
	cd tests/tools/compose && CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w -X github.com/docker/compose/v2/internal.Version=$(COMPOSE_VERSION)' \
	  -o ../../../bin/docker-compose github.com/docker/compose/v2/cmd

bin/docker-buildx: tests/tools/go.mod tests/tools/go.sum
	cd tests/tools && CGO_ENABLED=0 $(GOBUILD) -ldflags '-s -w -X github.com/docker/buildx/version.Version=$(BUILDX_VERSION)' \
	  -o ../../bin/docker-buildx github.com/docker/buildx/cmd/buildx

# deps installs Debian's packages when run as root and only checks otherwise.
deps:
	@hack/deps.sh

test-deps:
	@hack/deps.sh test

busybox.tar:
	$(GO) run ./tests/busybox -o busybox.tar -rootfs busybox-rootfs.tar

run: deps all
	@hack/run.sh

# As a user, the tests run as root of a user namespace with a private /run
# (hack/userns.sh): those that start their own containerd need it. As root
# they run as they are.
unit: test-deps all bin/registry
	$(GO) vet ./...
	$(if $(filter 0,$(shell id -u)),,hack/userns.sh) $(GO) test -count=1 $$($(GO) list ./... | grep -v /tests/e2e)

e2e: test-deps all bin/registry bin/docker-buildx bin/docker-compose
	$(GO) test -count=1 -v -timeout 45m ./tests/e2e/

test: unit e2e

# BENCHFLAGS passes flags, e.g. make bench BENCHFLAGS='-quick -user roostbench'.
bench: deps all bin/registry
	$(GO) run ./tests/bench $(BENCHFLAGS)

clean:
	rm -rf bin busybox.tar busybox-rootfs.tar
