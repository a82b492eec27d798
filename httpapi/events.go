package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/containerd/log"
	"github.com/moby/moby/api/types"
	"github.com/moby/moby/api/types/events"
)

func (s *server) eventRoutes() []route {
	return []route{
		{http.MethodGet, "/events", s.getEvents},
	}
}

// getEvents streams the stored events since `since`, then the live ones,
// until `until`, the client leaves or the engine closes the subscription.
// With `until` in the past only history is sent.
func (s *server) getEvents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	since, err := parseUnixTimestamp(q.Get("since"))
	if err != nil {
		return invalidParameter{fmt.Errorf("invalid value for 'since': %w", err)}
	}
	until, err := parseUnixTimestamp(q.Get("until"))
	if err != nil {
		return invalidParameter{fmt.Errorf("invalid value for 'until': %w", err)}
	}
	if !until.IsZero() && until.Before(since) {
		return invalidParameter{fmt.Errorf("`since` time (%s) cannot be after `until` time (%s)", q.Get("since"), q.Get("until"))}
	}
	filters, err := filtersValue(q)
	if err != nil {
		return err
	}

	history, live, cancel, err := s.events.SubscribeEvents(since, until, filters)
	if err != nil {
		return err
	}
	defer cancel()

	contentType := types.MediaTypeJSONLines
	if !versionAtLeast(ctx, "1.52") {
		// Older APIs labelled the same line stream application/json.
		contentType = types.MediaTypeJSON
	}
	out := newJSONStream(w, contentType)
	if err := out.start(); err != nil {
		return err
	}
	legacy := !versionAtLeast(ctx, "1.52")
	for _, ev := range history {
		if err := out.send(eventJSON(ev, legacy)); err != nil {
			return nil // the client went away
		}
	}

	var timeout <-chan time.Time
	if !until.IsZero() {
		wait := time.Until(until)
		if wait <= 0 {
			return nil
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timeout = timer.C
	}
	for {
		select {
		case ev, ok := <-live:
			if !ok {
				return nil
			}
			if err := out.send(eventJSON(ev, legacy)); err != nil {
				return nil
			}
		case <-timeout:
			return nil
		case <-ctx.Done():
			log.G(ctx).Debug("client left, stop sending events")
			return nil
		}
	}
}

// legacyEvent adds the fields dockerd sent before API 1.52 (status, id and
// from), which older clients still read.
type legacyEvent struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	events.Message
}

func eventJSON(ev events.Message, legacy bool) any {
	if !legacy {
		return ev
	}
	switch ev.Type {
	case events.ContainerEventType:
		return legacyEvent{Status: string(ev.Action), ID: ev.Actor.ID, From: ev.Actor.Attributes["image"], Message: ev}
	case events.ImageEventType:
		return legacyEvent{Status: string(ev.Action), ID: ev.Actor.ID, Message: ev}
	}
	return ev
}
