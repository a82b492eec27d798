package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
)

// The bench talks HTTP to the engines' unix sockets itself for what the
// docker CLI would make slow without measuring anything (creating the
// thousand containers `docker ps -a` lists) and for the API throughput,
// where wrk cannot help: it speaks no unix sockets. The same client serves
// every engine.

// apiClient is a keep-alive HTTP client on an engine's unix socket.
type apiClient struct {
	hc *http.Client
}

func newAPIClient(dockerHost string, conns int) *apiClient {
	sock := strings.TrimPrefix(dockerHost, "unix://")
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return new(net.Dialer).DialContext(ctx, "unix", sock)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}
	return &apiClient{hc: &http.Client{Transport: tr, Timeout: runTimeout}}
}

func (c *apiClient) close() { c.hc.CloseIdleConnections() }

// do sends one request and returns the body of a 2xx answer. Paths carry
// no API version: every engine serves its default for them.
func (c *apiClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://engine"+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	return data, nil
}

// createContainers creates n stopped busybox containers named
// prefix-<i>, a few at a time, and returns their IDs.
func (c *apiClient) createContainers(ctx context.Context, prefix string, n, workers int) ([]string, error) {
	ids := make([]string, n)
	err := parallel(ctx, n, workers, func(i int) error {
		body := container.CreateRequest{Config: &container.Config{Image: "busybox", Cmd: []string{"true"}}}
		data, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/containers/create?name=%s-%d", prefix, i), body)
		if err != nil {
			return err
		}
		var resp container.CreateResponse
		if err := json.Unmarshal(data, &resp); err != nil {
			return err
		}
		ids[i] = resp.ID
		return nil
	})
	return ids, err
}

// removeContainers removes the containers, a few at a time; an empty ID
// (a create that failed) is skipped.
func (c *apiClient) removeContainers(ctx context.Context, ids []string, workers int) error {
	return parallel(ctx, len(ids), workers, func(i int) error {
		if ids[i] == "" {
			return nil
		}
		_, err := c.do(ctx, http.MethodDelete, "/containers/"+ids[i]+"?force=1", nil)
		return err
	})
}

// parallel calls f(0..n-1) on at most workers goroutines and returns the
// first error; after one, no new call starts.
func parallel(ctx context.Context, n, workers int, f func(i int) error) error {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				mu.Lock()
				stop := firstErr != nil
				mu.Unlock()
				if i >= n || stop || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// loadResult is what one load run measured: completed requests per window
// of loadWindow, and failed requests.
type loadResult struct {
	perWindow []float64 // requests per second in each window
	failures  int64
	firstErr  error
}

// load sends GET path from conns keep-alive connections, each request
// after the previous answer (a closed loop, like wrk), for windows
// consecutive windows of length window after a warm-up window, and
// counts the answers completed in each window.
func (c *apiClient) load(ctx context.Context, path string, conns, windows int, window time.Duration) loadResult {
	var (
		counts   = make([]atomic.Int64, windows+1)
		failures atomic.Int64
		errOnce  sync.Once
		res      loadResult
		wg       sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(window * time.Duration(windows+1))
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, err := c.do(ctx, http.MethodGet, path, nil)
				at := time.Since(start)
				if ctx.Err() != nil {
					return // cut off by the end, not the engine's failure
				}
				if err != nil {
					failures.Add(1)
					errOnce.Do(func() { res.firstErr = err })
					continue
				}
				if w := int(at / window); w <= windows {
					counts[w].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// The first window warms up connections and caches; it is not counted.
	for w := 1; w <= windows; w++ {
		res.perWindow = append(res.perWindow, float64(counts[w].Load())/window.Seconds())
	}
	res.failures = failures.Load()
	return res
}
