package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/registry"
)

// Search limits, dockerd's.
const (
	defaultSearchLimit = 25
	maxSearchLimit     = 100
)

// officialIndex is where searches of Docker Hub go.
const officialIndex = "index.docker.io"

// SearchOptions are the parameters of GET /images/search.
type SearchOptions struct {
	// Term is what to search for; "host[:port]/term" searches that
	// registry instead of Docker Hub.
	Term string
	// Limit is the most results to return: 1 to 100, 0 for 25.
	Limit int
	// Filters are is-official, is-automated and stars.
	Filters map[string][]string
	// Auth are the credentials for the registry searched; nil for none.
	Auth *registry.AuthConfig
}

// Search asks a registry's search API (GET /v1/search, which Docker Hub
// and some registries have; the distribution registry has not) for
// repositories matching the term, and filters the results as dockerd
// does.
func (s *Service) Search(ctx context.Context, opts SearchOptions) ([]registry.SearchResult, error) {
	f, err := parseSearchFilters(opts.Filters)
	if err != nil {
		return nil, err
	}
	if f.automated {
		// Docker Hub no longer has automated builds.
		return []registry.SearchResult{}, nil
	}
	if strings.Contains(opts.Term, "://") {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(
			"invalid repository name: repository name (%s) should not have a scheme", opts.Term))
	}
	limit := opts.Limit
	if limit == 0 {
		limit = defaultSearchLimit
	}
	if limit < 1 || limit > maxSearchLimit {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("limit %d is outside the range of [1, %d]", limit, maxSearchLimit))
	}
	index, term := splitSearchTerm(opts.Term)
	if index == officialIndex {
		term = strings.TrimPrefix(term, "library/")
	}
	results, err := s.searchIndex(ctx, index, term, limit, opts.Auth)
	if err != nil {
		return nil, err
	}
	out := []registry.SearchResult{}
	for _, r := range results {
		if f.official != nil && r.IsOfficial != *f.official {
			continue
		}
		if r.StarCount < f.stars {
			continue
		}
		r.IsAutomated = false //nolint:staticcheck // dockerd clears the deprecated field
		out = append(out, r)
	}
	return out, nil
}

// searchIndex sends the search to the registry index, with its
// certificates, insecure-registry rules and authentication.
func (s *Service) searchIndex(ctx context.Context, index, term string, limit int, auth *registry.AuthConfig) ([]registry.SearchResult, error) {
	hosts, err := s.registryHosts(ctx, auth, false)(index)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, errdefs.ErrNotFound.WithMessage("no endpoint for registry " + index)
	}
	h := hosts[len(hosts)-1]
	endpoint := h.Scheme + "://" + h.Host + "/v1/"
	u := endpoint + "search?q=" + url.QueryEscape(term) + "&n=" + strconv.Itoa(limit)
	resp, err := authorizedGet(ctx, h, u)
	if err != nil {
		// dockerd checks another registry's endpoint first and calls one
		// that does not answer invalid; Docker Hub's is taken as valid, so
		// its failure is the daemon's.
		if index == officialIndex || errdefs.IsCanceled(err) || errdefs.IsDeadlineExceeded(err) || ctx.Err() != nil {
			return nil, err
		}
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid registry endpoint %s: %v", endpoint, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errdefs.ErrUnknown.WithMessage(fmt.Sprintf("unexpected status code %d", resp.StatusCode))
	}
	var results registry.SearchResults
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&results); err != nil {
		return nil, fmt.Errorf("error decoding registry search results: %w", err)
	}
	return results.Results, nil
}

// splitSearchTerm splits "host/term" into the registry and the term, as
// references name registries: the first part is a host if it has a dot or
// a port, or is localhost. Anything else searches Docker Hub.
func splitSearchTerm(term string) (index, rest string) {
	first, after, ok := strings.Cut(term, "/")
	if !ok || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return officialIndex, term
	}
	if first == "docker.io" || first == officialIndex {
		return officialIndex, after
	}
	return first, after
}

// searchFilters are the decoded filters of a search.
type searchFilters struct {
	automated bool
	official  *bool
	stars     int
}

var acceptedSearchFilters = map[string]bool{"is-automated": true, "is-official": true, "stars": true}

func parseSearchFilters(f map[string][]string) (*searchFilters, error) {
	sf := &searchFilters{}
	for key, values := range f {
		if !acceptedSearchFilters[key] {
			return nil, invalidFilter(key, nil)
		}
		switch key {
		case "is-automated":
			b, err := boolFilter(key, values)
			if err != nil {
				return nil, err
			}
			sf.automated = b != nil && *b
		case "is-official":
			b, err := boolFilter(key, values)
			if err != nil {
				return nil, err
			}
			sf.official = b
		case "stars":
			for _, v := range values {
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid filter 'stars=%s': %v", v, err))
				}
				sf.stars = max(sf.stars, n)
			}
		}
	}
	return sf, nil
}
