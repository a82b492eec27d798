package events

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/events"
)

func ctr(id, name, image string, labels map[string]string) events.Actor {
	attrs := map[string]string{"name": name, "image": image}
	for k, v := range labels {
		attrs[k] = v
	}
	return events.Actor{ID: id, Attributes: attrs}
}

func TestFilters(t *testing.T) {
	start := events.Message{Type: events.ContainerEventType, Action: events.ActionStart, Scope: "local",
		Actor: ctr("abc123", "web", "busybox:latest", map[string]string{"com.example": "x", "tier": "front"})}
	exec := events.Message{Type: events.ContainerEventType, Action: "exec_start: sh -c true", Scope: "local",
		Actor: ctr("abc123", "web", "busybox", nil)}
	pull := events.Message{Type: events.ImageEventType, Action: events.ActionPull, Scope: "local",
		Actor: events.Actor{ID: "docker.io/library/alpine:3.20", Attributes: map[string]string{"name": "docker.io/library/alpine:3.20"}}}
	for _, tc := range []struct {
		name    string
		filters map[string][]string
		ev      events.Message
		want    bool
	}{
		{"none", nil, start, true},
		{"empty values", map[string][]string{"type": {}}, start, true},
		{"type", map[string][]string{"type": {"container"}}, start, true},
		{"type other", map[string][]string{"type": {"image"}}, start, false},
		{"type either", map[string][]string{"type": {"image", "container"}}, start, true},
		{"event", map[string][]string{"event": {"start"}}, start, true},
		{"event other", map[string][]string{"event": {"stop"}}, start, false},
		{"event exec prefix", map[string][]string{"event": {"exec_start"}}, exec, true},
		{"event not a prefix key", map[string][]string{"event": {"exec"}}, exec, false},
		{"container id", map[string][]string{"container": {"abc123"}}, start, true},
		{"container id prefix", map[string][]string{"container": {"abc"}}, start, true},
		{"container name", map[string][]string{"container": {"web"}}, start, true},
		{"container other", map[string][]string{"container": {"db"}}, start, false},
		{"container on image event", map[string][]string{"container": {"web"}}, pull, false},
		{"image of container", map[string][]string{"image": {"busybox"}}, start, true},
		{"image of container tagged", map[string][]string{"image": {"busybox:latest"}}, start, true},
		{"image other", map[string][]string{"image": {"alpine"}}, start, false},
		{"image event familiar", map[string][]string{"image": {"alpine"}}, pull, true},
		{"image event full", map[string][]string{"image": {"docker.io/library/alpine:3.20"}}, pull, true},
		{"label key", map[string][]string{"label": {"tier"}}, start, true},
		{"label kv", map[string][]string{"label": {"tier=front"}}, start, true},
		{"label kv other", map[string][]string{"label": {"tier=back"}}, start, false},
		{"labels all must match", map[string][]string{"label": {"tier=front", "missing"}}, start, false},
		{"label no attrs", map[string][]string{"label": {"tier"}}, events.Message{Type: events.DaemonEventType}, false},
		{"scope", map[string][]string{"scope": {"local"}}, start, true},
		{"scope swarm", map[string][]string{"scope": {"swarm"}}, start, false},
		{"volume on container", map[string][]string{"volume": {"data"}}, start, false},
		{"keys and", map[string][]string{"type": {"container"}, "event": {"stop"}}, start, false},
	} {
		f, err := newFilter(tc.filters)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := f.include(tc.ev); got != tc.want {
			t.Errorf("%s: include = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUnknownFilter(t *testing.T) {
	_, _, _, err := New().Subscribe(time.Time{}, time.Time{}, map[string][]string{"type": {"container"}, "nosuch": {"x"}})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Fatalf("err = %v, want InvalidArgument", err)
	}
	if err.Error() != "invalid filter 'nosuch'" {
		t.Errorf("message %q", err)
	}
}

func TestPublishStamps(t *testing.T) {
	b := New()
	_, live, cancel, _ := b.Subscribe(time.Time{}, time.Time{}, nil)
	defer cancel()
	attrs := map[string]string{"name": "web"}
	before := time.Now()
	b.Publish(events.ContainerEventType, events.ActionCreate, events.Actor{ID: "c1", Attributes: attrs})
	attrs["name"] = "changed" // the bus keeps its own copy
	m := <-live
	if m.Type != events.ContainerEventType || m.Action != events.ActionCreate || m.Scope != "local" || m.Actor.Attributes["name"] != "web" {
		t.Errorf("message %+v", m)
	}
	if m.TimeNano < before.UnixNano() || m.Time != m.TimeNano/1e9 {
		t.Errorf("time %d / %d", m.Time, m.TimeNano)
	}
}

func TestSinceUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New()
		var at []time.Time
		for _, id := range []string{"a", "b", "c", "d"} {
			at = append(at, time.Now())
			b.Publish(events.ContainerEventType, events.ActionStart, events.Actor{ID: id})
			time.Sleep(time.Second)
		}
		ids := func(since, until time.Time, f map[string][]string) string {
			h, _, cancel, err := b.Subscribe(since, until, f)
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			s := ""
			for _, m := range h {
				s += m.Actor.ID
			}
			return s
		}
		for _, tc := range []struct {
			name         string
			since, until time.Time
			want         string
		}{
			{"no bounds: no history", time.Time{}, time.Time{}, ""},
			{"since inclusive", at[1], time.Time{}, "bcd"},
			{"since between", at[1].Add(time.Millisecond), time.Time{}, "cd"},
			{"until inclusive", at[0], at[2], "abc"},
			{"only until", time.Time{}, at[1], "ab"},
			{"since future", time.Now(), time.Time{}, ""},
		} {
			if got := ids(tc.since, tc.until, nil); got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
			}
		}
		if got := ids(at[0], time.Time{}, map[string][]string{"container": {"c"}}); got != "c" {
			t.Errorf("filtered history: got %q", got)
		}
	})
}

func TestHistoryBounded(t *testing.T) {
	b := New()
	for range historySize + 10 {
		b.Publish(events.ContainerEventType, events.ActionStart, events.Actor{ID: "x"})
	}
	b.Publish(events.ContainerEventType, events.ActionStop, events.Actor{ID: "last"})
	h, _, cancel, _ := b.Subscribe(time.Unix(1, 0), time.Time{}, nil)
	cancel()
	if len(h) != historySize || h[len(h)-1].Actor.ID != "last" {
		t.Errorf("history has %d events, last %+v", len(h), h[len(h)-1])
	}
	for i := 1; i < len(h); i++ {
		if h[i].TimeNano < h[i-1].TimeNano {
			t.Fatalf("history out of order at %d", i)
		}
	}
}

// TestNoLossBetweenHistoryAndLive subscribes while events are published:
// every event must be in the history or on the channel, exactly once.
func TestNoLossBetweenHistoryAndLive(t *testing.T) {
	b := New()
	const n = 500
	since := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			b.Publish(events.ContainerEventType, events.ActionStart, events.Actor{ID: "c", Attributes: map[string]string{"i": strconv.Itoa(i)}})
		}
	})
	time.Sleep(time.Millisecond)
	history, live, cancel, err := b.Subscribe(since, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	cancel()
	seen := make([]int, n)
	count := func(m events.Message) {
		i, _ := strconv.Atoi(m.Actor.Attributes["i"])
		seen[i]++
	}
	for _, m := range history {
		count(m)
	}
	for m := range live {
		count(m)
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("event %d seen %d times (history had %d)", i, c, len(history))
		}
	}
}

func TestSlowSubscriberDropped(t *testing.T) {
	b := New()
	_, slow, cancelSlow, _ := b.Subscribe(time.Time{}, time.Time{}, nil)
	_, fast, cancelFast, _ := b.Subscribe(time.Time{}, time.Time{}, nil)
	for i := range subscriberBuffer + 10 {
		b.Publish(events.ContainerEventType, events.ActionStart, events.Actor{ID: "x"}) // must not block
		if _, ok := <-fast; !ok {
			t.Fatalf("fast subscriber dropped at event %d", i)
		}
	}
	n := 0
	for range slow {
		n++
	}
	if n != subscriberBuffer {
		t.Errorf("slow subscriber got %d events before its channel closed, want %d", n, subscriberBuffer)
	}
	if b.Subscribers() != 1 {
		t.Errorf("%d subscribers, want 1", b.Subscribers())
	}
	cancelSlow() // already dropped: a no-op
	cancelFast()
	cancelFast()
	if _, ok := <-fast; ok {
		t.Error("channel open after cancel")
	}
	if b.Subscribers() != 0 {
		t.Errorf("%d subscribers left", b.Subscribers())
	}
}

func TestLiveFiltered(t *testing.T) {
	b := New()
	_, live, cancel, _ := b.Subscribe(time.Time{}, time.Time{}, map[string][]string{"type": {"image"}})
	b.Publish(events.ContainerEventType, events.ActionStart, events.Actor{ID: "c"})
	b.Publish(events.ImageEventType, events.ActionPull, events.Actor{ID: "busybox:latest"})
	cancel()
	var ids []string
	for m := range live {
		ids = append(ids, m.Actor.ID)
	}
	if len(ids) != 1 || ids[0] != "busybox:latest" {
		t.Errorf("got %q", ids)
	}
}

func TestClose(t *testing.T) {
	b := New()
	_, live, cancel, _ := b.Subscribe(time.Time{}, time.Time{}, nil)
	b.Close()
	if _, ok := <-live; ok {
		t.Error("live channel open after Close")
	}
	cancel()
	b.Publish(events.ContainerEventType, events.ActionStart, events.Actor{ID: "c"})
	h, live, cancel, err := b.Subscribe(time.Unix(1, 0), time.Time{}, nil)
	if err != nil || len(h) != 1 {
		t.Fatalf("after Close: %d events, %v", len(h), err)
	}
	if _, ok := <-live; ok {
		t.Error("new subscription open after Close")
	}
	cancel()
}
