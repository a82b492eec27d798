package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/registry"
)

// maxTagPages bounds how many pages of a tag list are followed, so that a
// registry whose next link loops cannot hold a pull forever.
const maxTagPages = 100

// pullAllTags pulls every tag of the repository named, one after the
// other, as dockerd's containerd image store does for `docker pull
// --all-tags`; the first tag that fails ends it.
func (s *Service) pullAllTags(ctx context.Context, named reference.Named, opts PullOptions) error {
	tags, err := s.Tags(ctx, named.Name(), opts.Auth)
	if err != nil {
		return err
	}
	for _, tag := range tags {
		ref, err := reference.WithTag(named, tag)
		if err != nil {
			continue // a registry may list what a reference cannot name
		}
		if err := s.Pull(ctx, ref.String(), opts); err != nil {
			return err
		}
	}
	return nil
}

// Tags lists the tags of repository name in its registry
// (GET /v2/<name>/tags/list, every page), authenticated with auth.
func (s *Service) Tags(ctx context.Context, name string, auth *registry.AuthConfig) ([]string, error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, invalidReference(err)
	}
	named = reference.TrimNamed(named)
	ctx = docker.WithScope(ctx, "repository:"+reference.Path(named)+":pull")
	hosts, err := s.hosts(ctx, auth)(reference.Domain(named))
	if err != nil {
		return nil, err
	}
	err = errdefs.ErrNotFound.WithMessage("no endpoint for registry " + reference.Domain(named))
	for _, h := range hosts {
		if h.Capabilities&docker.HostCapabilityResolve == 0 {
			continue
		}
		var tags []string
		if tags, err = listTags(ctx, h, reference.Path(named)); err == nil {
			return tags, nil
		}
	}
	return nil, err
}

// listTags follows the pages of one endpoint's tag list.
func listTags(ctx context.Context, h docker.RegistryHost, repo string) ([]string, error) {
	next := h.Scheme + "://" + h.Host + h.Path + "/" + repo + "/tags/list"
	var all []string
	for page := 0; next != "" && page < maxTagPages; page++ {
		resp, err := registryGet(ctx, h, next)
		if err != nil {
			return nil, err
		}
		var body struct {
			Tags []string `json:"tags"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the tags of %s: %w", repo, err)
		}
		all = append(all, body.Tags...)
		next = ""
		if uri := nextLink(resp.Header.Values("Link")); uri != "" {
			u, err := resp.Request.URL.Parse(uri)
			if err != nil {
				return nil, fmt.Errorf("the tag list's next link %q: %w", uri, err)
			}
			next = u.String()
		}
	}
	return all, nil
}

// authorizedGet sends GET url to one endpoint, answering its
// authentication challenge once, and returns the response whatever its
// status.
func authorizedGet(ctx context.Context, h docker.RegistryHost, u string) (*http.Response, error) {
	get := func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range h.Header {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", userAgent)
		req.Header.Set("Accept", "application/json")
		if h.Authorizer != nil {
			if err := h.Authorizer.Authorize(ctx, req); err != nil {
				return nil, err
			}
		}
		return h.Client.Do(req)
	}
	resp, err := get()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && h.Authorizer != nil {
		resp.Body.Close()
		if err := h.Authorizer.AddResponses(ctx, []*http.Response{resp}); err != nil {
			return nil, err
		}
		return get()
	}
	return resp, nil
}

// registryGet sends GET url to one endpoint, answering its
// authentication challenge once. A status other than 200 is an error
// classified as registryError does.
func registryGet(ctx context.Context, h docker.RegistryHost, u string) (*http.Response, error) {
	resp, err := authorizedGet(ctx, h, u)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var errs struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if json.Unmarshal(body, &errs) == nil && len(errs.Errors) > 0 {
		// The registry's words, as dockerd shows them: "name unknown:
		// repository name not known to registry".
		e := errs.Errors[0]
		msg := strings.ToLower(strings.ReplaceAll(e.Code, "_", " ")) + ": " + e.Message
		switch resp.StatusCode {
		case http.StatusNotFound:
			return nil, errdefs.ErrNotFound.WithMessage(msg)
		case http.StatusUnauthorized, http.StatusForbidden:
			return nil, errdefs.ErrPermissionDenied.WithMessage(msg)
		}
		return nil, errdefs.ErrUnknown.WithMessage(msg)
	}
	path := u
	if pu, err := url.Parse(u); err == nil {
		path = pu.Path
	}
	msg := fmt.Sprintf("unexpected status from GET request to %s: %s", path, resp.Status)
	if resp.StatusCode == http.StatusNotFound {
		return nil, errdefs.ErrNotFound.WithMessage(msg)
	}
	return nil, errdefs.ErrUnknown.WithMessage(strings.TrimSpace(msg))
}

// nextLink finds the target of the rel="next" link among Link headers
// (RFC 8288), as the distribution API paginates: `<uri>; rel="next"`.
func nextLink(headers []string) string {
	for _, h := range headers {
		for _, l := range strings.Split(h, ",") {
			uri, params, _ := strings.Cut(strings.TrimSpace(l), ";")
			if !strings.HasPrefix(uri, "<") || !strings.HasSuffix(uri, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slices.Contains(strings.Fields(strings.Trim(v, `"`)), "next") {
					return uri[1 : len(uri)-1]
				}
			}
		}
	}
	return ""
}
