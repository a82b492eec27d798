package netstack

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/log"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// dnsTTL is what dockerd's embedded server gives its answers.
const dnsTTL = 600

// upstreamTimeout bounds one forwarded query; the client retries itself.
const upstreamTimeout = 2 * time.Second

// LookupFunc answers a name (lower case, no trailing dot) with the
// addresses of the containers known by it, ok=false when none is.
type LookupFunc func(name string) (addrs []netip.Addr, ok bool)

// DNSServer answers the containers of one network: their names and
// aliases itself, everything else by asking the host's resolvers.
type DNSServer struct {
	netNS    string
	lookup   LookupFunc
	upstream []string
	udp      net.PacketConn
	tcp      net.Listener
	wg       sync.WaitGroup
}

// ServeDNS listens on addr:53 (UDP and TCP) inside the network namespace
// netNS. The address may not exist yet (the bridge gets it with its
// first container): the sockets are bound with IP_FREEBIND.
func ServeDNS(netNS string, addr netip.Addr, lookup LookupFunc, upstream []string) (*DNSServer, error) {
	s := &DNSServer{netNS: netNS, lookup: lookup, upstream: upstream}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	hostport := netip.AddrPortFrom(addr, 53).String()
	err := InNetNS(netNS, func() error {
		var err error
		if s.udp, err = lc.ListenPacket(context.Background(), "udp4", hostport); err != nil {
			return err
		}
		if s.tcp, err = lc.Listen(context.Background(), "tcp4", hostport); err != nil {
			s.udp.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// Close stops the server.
func (s *DNSServer) Close() {
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

func (s *DNSServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				log.L.WithError(err).Warn("dns: reading a query")
			}
			return
		}
		q := append([]byte(nil), buf[:n]...)
		go func() {
			if resp := s.answer(q); resp != nil {
				_, _ = s.udp.WriteTo(resp, from)
			}
		}()
	}
}

func (s *DNSServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				resp := s.answer(q)
				if resp == nil {
					return
				}
				out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
				if _, err := c.Write(append(out, resp...)); err != nil {
					return
				}
			}
		}()
	}
}

// answer returns the response to the query q, or nil to drop it.
func (s *DNSServer) answer(q []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil || h.Response {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return reply(h, qs, dnsmessage.RCodeFormatError, nil)
	}
	question := qs[0]
	name := strings.ToLower(strings.TrimSuffix(question.Name.String(), "."))
	if question.Class == dnsmessage.ClassINET && (question.Type == dnsmessage.TypeA || question.Type == dnsmessage.TypeAAAA) {
		if addrs, ok := s.lookup(name); ok {
			return reply(h, qs, dnsmessage.RCodeSuccess, addrs)
		}
	}
	if resp := s.forward(q); resp != nil {
		return resp
	}
	return reply(h, qs, dnsmessage.RCodeServerFailure, nil)
}

// forward asks the upstream resolvers from inside the namespace (where
// slirp4netns' forwarder answers for the host's resolvers).
func (s *DNSServer) forward(q []byte) []byte {
	buf := make([]byte, 65535)
	for _, up := range s.upstream {
		var c net.Conn
		err := InNetNS(s.netNS, func() error {
			var err error
			c, err = net.DialTimeout("udp", up, upstreamTimeout)
			return err
		})
		if err != nil {
			continue
		}
		_ = c.SetDeadline(time.Now().Add(upstreamTimeout))
		if _, err := c.Write(q); err == nil {
			if n, err := c.Read(buf); err == nil {
				c.Close()
				return buf[:n]
			}
		}
		c.Close()
	}
	return nil
}

func reply(h dnsmessage.Header, qs []dnsmessage.Question, rcode dnsmessage.RCode, addrs []netip.Addr) []byte {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: rcode == dnsmessage.RCodeSuccess,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil
	}
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			return nil
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil
	}
	if len(qs) == 1 {
		for _, a := range addrs {
			rh := dnsmessage.ResourceHeader{Name: qs[0].Name, Class: dnsmessage.ClassINET, TTL: dnsTTL}
			switch {
			case a.Is4() && qs[0].Type == dnsmessage.TypeA:
				_ = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
			case a.Is6() && !a.Is4In6() && qs[0].Type == dnsmessage.TypeAAAA:
				_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
