package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are the commands the scripts get beyond testscript's own:
//
//	curlsock [-H 'Name: value']... [-pad N] METHOD PATH [BODY|@FILE]
//		Sends one raw HTTP request to the API socket and prints the status
//		("400 Bad Request") on the first line of stdout, then the body. For
//		requests the CLI would never send: malformed JSON, a wrong
//		Content-Type, a huge body. A BODY gets Content-Type
//		application/json unless -H says otherwise; -pad N replaces the
//		placeholder @pad@ in BODY with N bytes of 'x'.
//	waitfor [-t DURATION] [-stdout REGEXP] PROG [ARGS...]
//		Runs PROG every 200 ms until it exits 0 (and its stdout matches
//		REGEXP), for at most DURATION (default 10s); stdout and stderr are
//		the last attempt's. For conditions that become true eventually.
//	cleanup PROG [ARGS...]
//		Runs PROG when the script ends, passed or failed, ignoring how it
//		ends: `cleanup docker rm -f web` right after creating web.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"curlsock": cmdCurlsock,
		"waitfor":  cmdWaitfor,
		"cleanup":  cmdCleanup,
	}
}

// headerFlags collects repeated -H flags.
type headerFlags http.Header

func (h headerFlags) String() string { return fmt.Sprint(http.Header(h)) }

func (h headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("header %q is not Name: value", s)
	}
	http.Header(h).Add(strings.TrimSpace(k), strings.TrimSpace(v))
	return nil
}

func cmdCurlsock(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! curlsock (check the status line with stdout instead)")
	}
	fs := flag.NewFlagSet("curlsock", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	header := headerFlags{}
	fs.Var(header, "H", "request header `Name: value` (repeatable)")
	pad := fs.Int("pad", 0, "replace @pad@ in BODY with this many bytes")
	if err := fs.Parse(args); err != nil || fs.NArg() < 2 || fs.NArg() > 3 {
		ts.Fatalf("usage: curlsock [-H 'Name: value']... [-pad N] METHOD PATH [BODY|@FILE]")
	}
	method, path := fs.Arg(0), fs.Arg(1)
	var body io.Reader
	if fs.NArg() == 3 {
		b := fs.Arg(2)
		if file, ok := strings.CutPrefix(b, "@"); ok {
			b = ts.ReadFile(file)
		}
		b = strings.ReplaceAll(b, "@pad@", strings.Repeat("x", *pad))
		body = strings.NewReader(b)
		if http.Header(header).Get("Content-Type") == "" {
			http.Header(header).Set("Content-Type", "application/json")
		}
	}
	sock, ok := strings.CutPrefix(ts.Getenv("DOCKER_HOST"), "unix://")
	if !ok {
		ts.Fatalf("curlsock needs DOCKER_HOST=unix://..., not %q", ts.Getenv("DOCKER_HOST"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := unixRequest(ctx, sock, method, path, http.Header(header), body)
	ts.Check(err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n%s", resp.Status, data)
}

func cmdWaitfor(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitfor")
	}
	fs := flag.NewFlagSet("waitfor", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := fs.Duration("t", 10*time.Second, "give up after `duration`")
	pattern := fs.String("stdout", "", "also wait until stdout matches `regexp`")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 {
		ts.Fatalf("usage: waitfor [-t DURATION] [-stdout REGEXP] PROG [ARGS...]")
	}
	re, err := regexp.Compile("(?m)" + *pattern)
	ts.Check(err)
	deadline := time.Now().Add(*timeout)
	for attempt := 1; ; attempt++ {
		// An attempt that starts just before the deadline may still finish,
		// so that a failure shows what the last attempt printed.
		ctx, cancel := context.WithTimeout(context.Background(), time.Until(deadline)+5*time.Second)
		stdout, stderr, err := scriptExec(ctx, ts, fs.Arg(0), fs.Args()[1:]...)
		cancel()
		if err == nil && re.MatchString(stdout) {
			fmt.Fprint(ts.Stdout(), stdout)
			fmt.Fprint(ts.Stderr(), stderr)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfor: %s did not succeed within %v (%d attempts); last: %v\n[stdout]\n%s[stderr]\n%s",
				strings.Join(fs.Args(), " "), *timeout, attempt, err, stdout, stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func cmdCleanup(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: cleanup PROG [ARGS...]")
	}
	ts.Defer(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
		defer cancel()
		_, _, _ = scriptExec(ctx, ts, args[0], args[1:]...)
	})
}

// scriptExec runs a program the way the script's exec would: in its work
// dir, with the script's docker environment, and returns its output.
func scriptExec(ctx context.Context, ts *testscript.TestScript, prog string, args ...string) (stdout, stderr string, err error) {
	if prog == "docker" {
		prog = harness.dockerCLI
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	env := os.Environ()
	for k, v := range scriptEnv() {
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	cmd.Dir = ts.MkAbs(".")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	return o.String(), e.String(), err
}
