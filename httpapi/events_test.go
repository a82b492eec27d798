package httpapi

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func containerEvent(action events.Action, id string) events.Message {
	return events.Message{
		Type: events.ContainerEventType, Action: action, Scope: "local",
		Actor: events.Actor{ID: id, Attributes: map[string]string{"image": "busybox", "name": "web"}},
		Time:  1700000000, TimeNano: 1700000000000000000,
	}
}

// TestEventsHistoryOnly: with until in the past only history is sent and
// the response ends.
func TestEventsHistoryOnly(t *testing.T) {
	f := newFixture()
	f.ev.history = []events.Message{containerEvent("create", "c1"), containerEvent("start", "c1")}
	f.ev.live = make(chan events.Message) // never used
	rec := f.do("GET", `/events?since=1699999999.5&until=1700000001&filters={"type":{"container":true}}`, "")
	wantStatus(t, rec, 200, "")
	if ct := rec.Header().Get("Content-Type"); ct != "application/jsonl" {
		t.Errorf("Content-Type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("body %q", rec.Body.String())
	}
	var got events.Message
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || !reflect.DeepEqual(got, f.ev.history[1]) {
		t.Errorf("event %s: %v", lines[1], err)
	}
	if f.ev.got != [2]time.Time{time.Unix(1699999999, 500000000).UTC(), time.Unix(1700000001, 0).UTC()} {
		t.Errorf("since, until = %v", f.ev.got)
	}
	if !reflect.DeepEqual(f.ev.gotFilters, Filters{"type": {"container"}}) {
		t.Errorf("filters %v", f.ev.gotFilters)
	}
	select {
	case <-f.ev.closed:
	default:
		t.Error("subscription not cancelled")
	}
}

func TestEventsLegacyFields(t *testing.T) {
	f := newFixture()
	f.ev.history = []events.Message{containerEvent("die", "c1")}
	rec := f.do("GET", "/v1.51/events?since=1&until=2", "")
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["status"] != "die" || got["id"] != "c1" || got["from"] != "busybox" || got["Action"] != "die" {
		t.Errorf("event %v", got)
	}
}

// TestEventsLive reads events as they are published, then leaves.
func TestEventsLive(t *testing.T) {
	f := newFixture()
	f.ev.history = []events.Message{containerEvent("create", "c1")}
	f.ev.live = make(chan events.Message)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events?since=1")
	if err != nil {
		t.Fatal(err)
	}
	// The header was flushed: we are here before any live event.
	br := bufio.NewReader(resp.Body)
	readAction := func() events.Action {
		line, err := br.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var m events.Message
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		return m.Action
	}
	if a := readAction(); a != "create" {
		t.Errorf("history %s", a)
	}
	f.ev.live <- containerEvent("start", "c1")
	if a := readAction(); a != "start" {
		t.Errorf("live %s", a)
	}
	resp.Body.Close()
	select {
	case <-f.ev.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("subscription not cancelled after the client left")
	}
}

func TestEventsUntilInFuture(t *testing.T) {
	f := newFixture()
	f.ev.live = make(chan events.Message)
	until := time.Now().Add(200 * time.Millisecond)
	rec := f.do("GET", "/events?until="+formatUnix(until), "")
	wantStatus(t, rec, 200, "")
	if time.Now().Before(until) {
		t.Error("stream ended before until")
	}
}

func formatUnix(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

func TestEventsBadInput(t *testing.T) {
	f := newFixture()
	wantStatus(t, f.do("GET", "/events?since=soon", ""), 400, `invalid value for 'since': invalid timestamp "soon": invalid seconds`)
	wantStatus(t, f.do("GET", "/events?until=1.x", ""), 400, `invalid value for 'until': invalid timestamp "1.x": invalid nanoseconds`)
	wantStatus(t, f.do("GET", "/events?since=20&until=10", ""), 400, "`since` time (20) cannot be after `until` time (10)")
	wantStatus(t, f.do("GET", "/events?filters=[", ""), 400, "invalid filter")
	f.ev.err = errors.New("bus down")
	wantStatus(t, f.do("GET", "/events", ""), 500, "bus down")
}
