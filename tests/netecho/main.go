// Command netecho is the server of the network tests, run in a container:
// it tells each TCP client and each UDP datagram the address it came from,
// then echoes, so a test sees both the path and the source address a
// published port delivers.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
)

func main() {
	tcpAddr := flag.String("tcp", "", "listen for TCP on this address")
	udpAddr := flag.String("udp", "", "listen for UDP on this address")
	flag.Parse()
	if *tcpAddr == "" && *udpAddr == "" {
		log.Fatal("netecho: give -tcp and/or -udp")
	}
	done := make(chan error)
	if *tcpAddr != "" {
		go func() { done <- serveTCP(*tcpAddr) }()
	}
	if *udpAddr != "" {
		go func() { done <- serveUDP(*udpAddr) }()
	}
	log.Fatal(<-done)
}

func serveTCP(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "peer %s\n", host)
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s\n", sc.Text())
			}
		}()
	}
}

func serveUDP(addr string) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		host, _, _ := net.SplitHostPort(from.String())
		if _, err := c.WriteTo([]byte(fmt.Sprintf("peer %s %s", host, buf[:n])), from); err != nil {
			log.Print(err)
		}
	}
}
