package networks

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/roostd/roost/engine/store"
	"github.com/roostd/roost/netstack"
)

// orderedBridges records the order of CNI calls; a DEL blocks until
// release is closed.
type orderedBridges struct {
	mu      sync.Mutex
	calls   []string
	release chan struct{}
}

func (b *orderedBridges) record(call string) {
	b.mu.Lock()
	b.calls = append(b.calls, call)
	b.mu.Unlock()
}

func (b *orderedBridges) Add(_ context.Context, _ netstack.BridgeNet, ep netstack.Endpoint) error {
	b.record("add " + ep.IfName)
	return nil
}

func (b *orderedBridges) Del(_ context.Context, _ netstack.BridgeNet, ep netstack.Endpoint) error {
	<-b.release
	b.record("del " + ep.IfName)
	return nil
}

func (b *orderedBridges) Remove(netstack.BridgeNet) error { return nil }

func (b *orderedBridges) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// A container's DELs in the background run in order, and its next ADD
// waits for them: libcni's cache entry of the new interface must not be
// removed by the DEL of the old one.
func TestUnplugLaterOrdersDelsBeforeTheNextAdd(t *testing.T) {
	n := &store.Network{ID: "n", Name: "app", Subnet: netip.MustParsePrefix("10.77.0.0/24")}
	b := &orderedBridges{release: make(chan struct{})}
	s := testService(n)
	s.opts.Bridges = b
	s.cniDels = map[string]chan struct{}{}
	ctx := context.Background()
	s.unplugLater(ctx, n, netstack.Endpoint{ContainerID: "c", IfName: "eth0"})
	s.unplugLater(ctx, n, netstack.Endpoint{ContainerID: "c", IfName: "eth1"})

	added := make(chan struct{})
	go func() {
		s.waitCNIDels("c")
		b.Add(ctx, bridgeNet(n), netstack.Endpoint{ContainerID: "c", IfName: "eth0"})
		close(added)
	}()
	select {
	case <-added:
		t.Fatal("the ADD ran while the container's DELs were pending")
	case <-time.After(50 * time.Millisecond):
	}
	close(b.release)
	<-added
	s.cniDelsWG.Wait()
	got := b.seen()
	want := []string{"del eth0", "del eth1", "add eth0"}
	if len(got) != len(want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls %v, want %v", got, want)
		}
	}
	if len(s.cniDels) != 0 {
		t.Errorf("finished DELs still tracked: %v", s.cniDels)
	}
}
