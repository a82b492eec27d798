package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The network figures of the issue: iperf3 TCP throughput from the host
// through a published port, against host loopback (the limit) and, for
// roost, with bypass4netns. Every connection goes to 127.0.0.1.
var networkWorkloads = []workload{{"net", hasAPI, netWorkload}}

// Row names of the network workload; the host loopback figure is a row of
// each, as the engine "host loopback", so the ratio column reads roost's
// share of the limit.
const (
	netPublished = "TCP via a published port"
	netBypass    = "TCP via a published port, bypass4netns"
	loopbackName = "host loopback (floor)"
	iperfImage   = "roost-bench-iperf3:1"
	iperfPort    = 28201
)

// netWorkload measures one engine; on roost it also measures host
// loopback and bypass4netns.
func netWorkload(b *bench, e *engine) []row {
	iperf, err := exec.LookPath("iperf3")
	if err != nil {
		return []row{{workload: netPublished, engine: e.name, unit: unitGbps, err: errors.New("iperf3 is not installed (apt-get install iperf3)")}}
	}
	var rows []row
	if e.name == roostEngine {
		rows = append(rows, loopbackRows(b, iperf)...)
	}
	if err := ensureIperfImage(b, e, iperf); err != nil {
		return append(rows, row{workload: netPublished, engine: e.name, unit: unitGbps, err: err})
	}
	rows = append(rows, publishedRow(b, e, iperf, netPublished))
	if e.name == roostEngine {
		rows = append(rows, publishedRow(b, e, iperf, netBypass, "--label", "io.roost.net.bypass4netns=true"))
	}
	return rows
}

// loopbackRows run iperf3 server and client on the host's loopback: the
// same figure for both rows.
func loopbackRows(b *bench, iperf string) []row {
	r := row{workload: netPublished, engine: loopbackName, unit: unitGbps}
	port := iperfPort + 1
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	srv := exec.CommandContext(ctx, iperf, "-s", "-B", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := srv.Start(); err != nil {
		r.err = err
		return []row{r}
	}
	defer func() { cancel(); _ = srv.Wait() }()
	r.samples, r.err = iperfClient(b, iperf, port)
	byp := r
	byp.workload = netBypass
	return []row{r, byp}
}

// publishedRow runs the iperf3 server in a container on e with its port
// published on 127.0.0.1 and measures from the host.
func publishedRow(b *bench, e *engine, iperf, workload string, extra ...string) row {
	r := row{workload: workload, engine: e.name, unit: unitGbps}
	name := "roost-bench-iperf3"
	_, _ = b.docker(e, "rm", "-f", name)
	args := append([]string{"run", "-d", "--name", name, "-p", fmt.Sprintf("%d:5201", iperfPort)}, extra...)
	args = append(args, iperfImage, "-s")
	if _, err := b.docker(e, args...); err != nil {
		r.err = err
		return r
	}
	defer b.docker(e, "rm", "-f", name)
	e.runs++
	r.samples, r.err = iperfClient(b, iperf, iperfPort)
	return r
}

// iperfClient waits for the server, then runs the client rounds.
func iperfClient(b *bench, iperf string, port int) ([]float64, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the iperf3 server on %s did not answer: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A few short runs bound the traffic.
	rounds, secs := b.sizes.iperfRounds, b.sizes.iperfSeconds
	var out []float64
	for range rounds {
		ctx, cancel := context.WithTimeout(b.ctx, time.Duration(secs+20)*time.Second)
		res, err := exec.CommandContext(ctx, iperf, "-c", "127.0.0.1", "-p", strconv.Itoa(port), "-t", strconv.Itoa(secs), "-J").Output()
		cancel()
		if err != nil {
			return out, fmt.Errorf("iperf3 client: %v: %s", err, bytes.TrimSpace(res))
		}
		var rep struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(res, &rep); err != nil {
			return out, fmt.Errorf("iperf3's JSON: %w", err)
		}
		if rep.Error != "" {
			return out, fmt.Errorf("iperf3: %s", rep.Error)
		}
		out = append(out, rep.End.SumReceived.BitsPerSecond/1e9)
	}
	return out, nil
}

// ensureIperfImage imports an image of the host's iperf3 and the shared
// libraries it needs (as ldd lists them) into e, once per engine.
func ensureIperfImage(b *bench, e *engine, iperf string) error {
	tarPath := filepath.Join(b.tmp, "iperf3.tar")
	if _, err := os.Stat(tarPath); err != nil {
		if err := writeIperfRootfs(tarPath, iperf); err != nil {
			return fmt.Errorf("building the iperf3 image: %w", err)
		}
	}
	if _, err := b.dockerOutput(e, "image", "inspect", iperfImage); err == nil {
		return nil
	}
	_, err := b.docker(e, "import", "--change", `ENTRYPOINT ["/usr/bin/iperf3"]`, tarPath, iperfImage)
	return err
}

func writeIperfRootfs(path, iperf string) error {
	out, err := exec.Command("ldd", iperf).Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", iperf, err)
	}
	files := []string{iperf}
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				files = append(files, f)
			}
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	add := func(name string, data []byte, mode int64) error {
		for d := filepath.Dir(name); d != "/" && d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		return tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(name, "/"), Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg})
	}
	for _, f := range files {
		real, err := filepath.EvalSymlinks(f)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(real)
		if err != nil {
			return err
		}
		if err := add(f, data, 0o755); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	// iperf3 writes its temporary files to /tmp.
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Mode: 0o1777, Typeflag: tar.TypeDir}); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
