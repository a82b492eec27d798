package containers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dockerSeccomp is the profile format `docker run --security-opt
// seccomp=file.json` sends: the OCI filter plus dockerd's archMap and
// per-rule conditions (includes/excludes on capabilities, architectures
// and kernel version), which are resolved here against the container.
type dockerSeccomp struct {
	DefaultAction    specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet  *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures    []specs.Arch             `json:"architectures,omitempty"`
	ArchMap          []seccompArch            `json:"archMap,omitempty"`
	Flags            []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	ListenerPath     string                   `json:"listenerPath,omitempty"`
	ListenerMetadata string                   `json:"listenerMetadata,omitempty"`
	Syscalls         []seccompRule            `json:"syscalls"`
}

type seccompArch struct {
	Arch      specs.Arch   `json:"architecture"`
	SubArches []specs.Arch `json:"subArchitectures"`
}

type seccompRule struct {
	specs.LinuxSyscall
	Name     string         `json:"name,omitempty"`
	Comment  string         `json:"comment,omitempty"`
	Includes *seccompFilter `json:"includes,omitempty"`
	Excludes *seccompFilter `json:"excludes,omitempty"`
}

type seccompFilter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// nativeArch maps GOARCH to the libseccomp name archMap entries use.
var nativeArch = map[string]specs.Arch{
	"386": specs.ArchX86, "amd64": specs.ArchX86_64, "arm": specs.ArchARM, "arm64": specs.ArchAARCH64,
	"mips64": specs.ArchMIPS64, "mips64le": specs.ArchMIPSEL64, "ppc64": specs.ArchPPC64,
	"ppc64le": specs.ArchPPC64LE, "riscv64": specs.ArchRISCV64, "s390x": specs.ArchS390X,
	"loong64": specs.ArchLOONGARCH64,
}

// loadSeccompProfile turns a Docker seccomp profile into the OCI filter
// for spec s (whose bounding capabilities decide the rules that depend on
// them; nil only checks the profile). A profile with neither a default
// action nor rules means no filter, as in dockerd.
func loadSeccompProfile(body []byte, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	var p dockerSeccomp
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decoding seccomp profile failed: %w", err)
	}
	if p.DefaultAction == "" && len(p.Syscalls) == 0 {
		return nil, nil
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return nil, errors.New("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")
	}
	out := &specs.LinuxSeccomp{
		DefaultAction:    p.DefaultAction,
		DefaultErrnoRet:  p.DefaultErrnoRet,
		Architectures:    p.Architectures,
		Flags:            p.Flags,
		ListenerPath:     p.ListenerPath,
		ListenerMetadata: p.ListenerMetadata,
	}
	native := nativeArch[runtime.GOARCH]
	for _, a := range p.ArchMap {
		if a.Arch == native {
			out.Architectures = append(out.Architectures, a.Arch)
			out.Architectures = append(out.Architectures, a.SubArches...)
		}
	}
	var bounding []string
	if s != nil && s.Process != nil && s.Process.Capabilities != nil {
		bounding = s.Process.Capabilities.Bounding
	}
	kernel := kernelRelease()
	for _, r := range p.Syscalls {
		if r.Name != "" {
			if len(r.Names) > 0 {
				return nil, errors.New("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'")
			}
			r.Names = []string{r.Name}
		}
		for _, f := range []*seccompFilter{r.Includes, r.Excludes} {
			if f != nil && f.MinKernel != "" {
				if _, err := parseKernel(f.MinKernel); err != nil {
					return nil, err
				}
			}
		}
		if r.Excludes != nil && r.Excludes.matchesAny(bounding, kernel) {
			continue
		}
		if r.Includes != nil && !r.Includes.matchesAll(bounding, kernel) {
			continue
		}
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: r.Names, Action: r.Action, ErrnoRet: r.ErrnoRet, Args: r.Args})
	}
	return out, nil
}

// matchesAny: an exclusion applies when the architecture is listed, any
// listed capability is held, or the kernel is at least MinKernel.
func (f *seccompFilter) matchesAny(caps []string, kernel [2]int) bool {
	if slices.Contains(f.Arches, runtime.GOARCH) {
		return true
	}
	for _, c := range f.Caps {
		if slices.Contains(caps, c) {
			return true
		}
	}
	if f.MinKernel != "" {
		min, _ := parseKernel(f.MinKernel)
		return !kernelBefore(kernel, min)
	}
	return false
}

// matchesAll: an inclusion applies when every condition given holds.
func (f *seccompFilter) matchesAll(caps []string, kernel [2]int) bool {
	if len(f.Arches) > 0 && !slices.Contains(f.Arches, runtime.GOARCH) {
		return false
	}
	for _, c := range f.Caps {
		if !slices.Contains(caps, c) {
			return false
		}
	}
	if f.MinKernel != "" {
		min, _ := parseKernel(f.MinKernel)
		return !kernelBefore(kernel, min)
	}
	return true
}

// parseKernel reads "major.minor" as dockerd's minKernel.
func parseKernel(v string) ([2]int, error) {
	maj, min, ok := strings.Cut(v, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 0 || b < 0 {
		return [2]int{}, fmt.Errorf("invalid kernel version: %s, expected \"<kernel>.<major>\"", v)
	}
	return [2]int{a, b}, nil
}

func kernelBefore(k, min [2]int) bool {
	return k[0] < min[0] || (k[0] == min[0] && k[1] < min[1])
}

// kernelRelease is the running kernel's major and minor version.
func kernelRelease() [2]int {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return [2]int{}
	}
	rel := unix.ByteSliceToString(u.Release[:])
	maj, rest, _ := strings.Cut(rel, ".")
	min := rest
	if i := strings.IndexFunc(min, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		min = min[:i]
	}
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(min)
	return [2]int{a, b}
}
