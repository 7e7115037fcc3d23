// This file serves the KDC over UDP and TCP on loopback (RFC 4120 §7.2.1,
// §7.2.2).

package kdc

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/types"
)

// tcpIdle bounds how long a TCP connection may sit without a request.
const tcpIdle = 30 * time.Second

func (k *KDC) serveUDP() {
	defer k.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := k.udp.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if k.isDown() {
			k.count(func(s *Stats) { s.Dropped++ })
			continue
		}
		k.count(func(s *Stats) { s.UDP++ })
		// Requests are answered one at a time: a test KDC needs no more,
		// and it keeps the goroutine count bounded.
		rep := k.handle(append([]byte(nil), buf[:n]...), true)
		k.udp.WriteToUDP(rep, from)
	}
}

func (k *KDC) serveTCP() {
	defer k.wg.Done()
	for {
		c, err := k.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		k.mu.Lock()
		if k.closed {
			k.mu.Unlock()
			c.Close()
			return
		}
		k.conns[c] = struct{}{}
		k.wg.Add(1)
		k.mu.Unlock()
		go k.serveConn(c)
	}
}

// serveConn answers length-prefixed requests on one TCP connection until
// the client closes it, it idles for tcpIdle, or the KDC closes.
func (k *KDC) serveConn(c net.Conn) {
	defer k.wg.Done()
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.mu.Unlock()
		c.Close()
	}()
	var hdr [4]byte
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n&0x80000000 != 0 || n > maxRequest {
			// The high bit is reserved for extensions we do not know
			// (RFC 4120 §7.2.2): answer KRB_ERR_FIELD_TOOLONG and close.
			k.writeTCP(c, k.errorReply(errf(errorcode.KRB_ERR_FIELD_TOOLONG, "request too long"), nil, types.PrincipalName{}))
			return
		}
		req := make([]byte, n)
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		if k.isDown() {
			k.count(func(s *Stats) { s.Dropped++ })
			continue
		}
		k.count(func(s *Stats) { s.TCP++ })
		if err := k.writeTCP(c, k.handle(req, false)); err != nil {
			return
		}
	}
}

func (k *KDC) writeTCP(c net.Conn, rep []byte) error {
	b := make([]byte, 4+len(rep))
	binary.BigEndian.PutUint32(b, uint32(len(rep)))
	copy(b[4:], rep)
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write(b)
	return err
}
