// Package events is the engine's event bus: every state change of a
// container or image is published here and streamed by GET /events.
package events

import (
	"maps"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
)

const (
	// historySize is how many events the bus remembers for `since`.
	// dockerd keeps 256; a few more cost little and let `docker events
	// --since` reach further back on a busy engine.
	historySize = 1024
	// subscriberBuffer is how many events a subscriber may fall behind
	// before it is dropped (see Publish).
	subscriberBuffer = 1024
)

// Bus keeps a bounded history of events and fans them out to subscribers.
type Bus struct {
	mu     sync.Mutex
	hist   []events.Message // ring of the last historySize events
	head   int              // index of the oldest event once hist is full
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch     chan events.Message
	filter filter
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{subs: map[*subscriber]struct{}{}}
}

// Publish records an event of type typ (container, image, …) now.
//
// Publish never blocks on a subscriber. One whose buffer is full is
// dropped: its channel is closed, so its /events stream ends. dockerd
// instead waits up to 100 ms per slow subscriber and then skips the event
// for it; waiting would stall the container operation publishing the event
// behind an HTTP client, and skipping would hide the loss from the client.
func (b *Bus) Publish(typ events.Type, action events.Action, actor events.Actor) {
	// The attributes are shared by every subscriber: take our own copy.
	actor.Attributes = maps.Clone(actor.Attributes)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now().UTC()
	m := events.Message{
		Type:     typ,
		Action:   action,
		Actor:    actor,
		Scope:    "local",
		Time:     now.Unix(),
		TimeNano: now.UnixNano(),
	}
	if len(b.hist) < historySize {
		b.hist = append(b.hist, m)
	} else {
		b.hist[b.head] = m
		b.head = (b.head + 1) % historySize
	}
	for s := range b.subs {
		if !s.filter.include(m) {
			continue
		}
		select {
		case s.ch <- m:
		default:
			close(s.ch)
			delete(b.subs, s)
		}
	}
}

// Subscribe returns the recorded events matching filters between since and
// until and, taken under the same lock, a live channel of later matching
// events. Filter keys are dockerd's (type, event, container, image, label,
// …); an unknown key is an errdefs.ErrInvalidArgument. cancel releases the
// subscription.
//
// As in dockerd, the history is empty only when both since and until are
// zero; a zero since with an until returns every recorded event up to
// until. Both bounds are inclusive. The live channel is not bounded by
// until: the caller stops reading at until. It is closed by cancel (which
// may be called more than once), by Close, or when the subscriber falls
// too far behind (see Publish).
func (b *Bus) Subscribe(since, until time.Time, filters map[string][]string) ([]events.Message, <-chan events.Message, func(), error) {
	f, err := newFilter(filters)
	if err != nil {
		return nil, nil, nil, err
	}
	s := &subscriber{ch: make(chan events.Message, subscriberBuffer), filter: f}
	b.mu.Lock()
	defer b.mu.Unlock()
	history := b.history(since, until, f)
	if b.closed {
		close(s.ch)
		return history, s.ch, func() {}, nil
	}
	b.subs[s] = struct{}{}
	return history, s.ch, func() { b.unsubscribe(s) }, nil
}

// history returns the recorded events in [since, until] matching f, oldest
// first. b.mu is held.
func (b *Bus) history(since, until time.Time, f filter) []events.Message {
	if since.IsZero() && until.IsZero() {
		return nil
	}
	var from, to int64
	if !since.IsZero() {
		from = since.UnixNano()
	}
	if !until.IsZero() {
		to = until.UnixNano()
	}
	var out []events.Message
	for i := range b.hist {
		m := b.hist[(b.head+i)%len(b.hist)]
		if m.TimeNano < from || (to != 0 && m.TimeNano > to) || !f.include(m) {
			continue
		}
		out = append(out, m)
	}
	return out
}

func (b *Bus) unsubscribe(s *subscriber) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// Subscribers returns the number of live subscriptions (the
// NEventsListener of /info).
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Close ends every live subscription, so /events streams finish at
// shutdown. Later subscriptions get the history and a closed channel;
// events are still recorded.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		close(s.ch)
		delete(b.subs, s)
	}
}
