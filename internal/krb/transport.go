// This file carries KDC messages over the network (RFC 4120 §7.2): UDP
// first for small requests, TCP with its 4-byte length prefix for large
// ones or when the KDC answers KRB_ERR_RESPONSE_TOO_BIG. Unlike gokrb5's
// client (fixed 5 s timeouts, no context), every dial, write and read here
// is bounded by the caller's context.

package krb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/internal/gss"
)

const (
	// maxTCPReply bounds the length a KDC may announce over TCP, so a
	// broken or hostile peer cannot make us allocate without limit.
	maxTCPReply = 4 << 20
	// udpTimeout is the first wait for a UDP reply; it doubles on each
	// pass over the KDC list (as MIT krb5 does), within ctx.
	udpTimeout = time.Second
	// tcpTimeout bounds one TCP exchange when ctx has no earlier deadline.
	tcpTimeout = 10 * time.Second
	// udpPasses is how many times the KDC list is tried over UDP.
	udpPasses = 3
)

// errResponseTooBig is returned by sendUDP when the KDC asks for TCP.
var errResponseTooBig = errors.New("negotiate: KDC reply too big for UDP")

// kdcAddrs returns the KDCs of realm as host:port, from the [realms]
// section or, with dns_lookup_kdc, from _kerberos._udp/_tcp SRV records.
func kdcAddrs(ctx context.Context, cfg *config.Config, realm string, tcp bool) ([]string, error) {
	var addrs []string
	for _, r := range cfg.Realms {
		if r.Realm == realm {
			for _, k := range r.KDC {
				addrs = append(addrs, withPort(k))
			}
		}
	}
	if len(addrs) > 0 || !cfg.LibDefaults.DNSLookupKDC {
		if len(addrs) == 0 {
			return nil, fmt.Errorf("negotiate: no KDC configured for realm %q: %w", realm, gss.ErrKDCUnreachable)
		}
		return addrs, nil
	}
	proto := "udp"
	if tcp {
		proto = "tcp"
	}
	// RFC 4120 §7.2.3.2: _kerberos._udp.REALM and _kerberos._tcp.REALM.
	_, srvs, err := net.DefaultResolver.LookupSRV(ctx, "kerberos", proto, realm)
	if err != nil {
		return nil, fmt.Errorf("negotiate: looking up KDCs of realm %q: %w (%w)", realm, gss.ErrKDCUnreachable, err)
	}
	for _, s := range srvs {
		if s.Target == "." {
			continue // RFC 2782: service not available
		}
		addrs = append(addrs, net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port))))
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("negotiate: no KDC SRV records for realm %q: %w", realm, gss.ErrKDCUnreachable)
	}
	return addrs, nil
}

// withPort adds the Kerberos port 88 to a KDC address that has none.
func withPort(k string) string {
	k = strings.TrimSpace(k)
	if _, _, err := net.SplitHostPort(k); err == nil {
		return k
	}
	return net.JoinHostPort(strings.Trim(k, "[]"), "88")
}

// sendToKDC sends req to a KDC of realm and returns its reply. A KRB-ERROR
// reply comes back as a messages.KRBError error (not yet mapped: the
// caller knows which principal it concerns). When no KDC answers, the error
// wraps gss.ErrKDCUnreachable and the last network or context error.
func sendToKDC(ctx context.Context, cfg *config.Config, realm string, req []byte) ([]byte, error) {
	rep, err := roundTripKDC(ctx, cfg, realm, req)
	if err != nil {
		return nil, err
	}
	return checkKRBError(rep)
}

// roundTripKDC is sendToKDC without the look at the reply: it returns the
// KDC's bytes as they came (at most maxTCPReply of them).
func roundTripKDC(ctx context.Context, cfg *config.Config, realm string, req []byte) ([]byte, error) {
	limit := cfg.LibDefaults.UDPPreferenceLimit
	// udp_preference_limit = 1 means TCP always; larger requests go over
	// TCP first (MIT krb5's rule; RFC 4120 §7.2.1 allows either).
	useTCP := limit == 1 || len(req) > limit
	var lastErr error
	if !useTCP {
		addrs, err := kdcAddrs(ctx, cfg, realm, false)
		if err != nil {
			return nil, err
		}
		wait := udpTimeout
		for pass := 0; pass < udpPasses; pass++ {
			for _, a := range addrs {
				rep, err := sendUDP(ctx, a, req, wait)
				if errors.Is(err, errResponseTooBig) {
					rep, err = sendTCP(ctx, a, req)
				}
				if err == nil {
					return rep, nil
				}
				lastErr = err
				if ctx.Err() != nil {
					return nil, unreachable(realm, ctx.Err())
				}
			}
			wait *= 2
		}
	}
	addrs, err := kdcAddrs(ctx, cfg, realm, true)
	if err != nil {
		if lastErr != nil {
			return nil, unreachable(realm, lastErr)
		}
		return nil, err
	}
	for _, a := range addrs {
		rep, err := sendTCP(ctx, a, req)
		if err == nil {
			return rep, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, unreachable(realm, ctx.Err())
		}
	}
	return nil, unreachable(realm, lastErr)
}

// unreachable wraps gss.ErrKDCUnreachable together with the cause, so
// errors.Is works for both (net errors, context.DeadlineExceeded).
func unreachable(realm string, cause error) error {
	return fmt.Errorf("negotiate: no KDC of realm %q answered: %w (%w)", realm, gss.ErrKDCUnreachable, cause)
}

// checkKRBError returns the reply, or the KRB-ERROR it holds as an error.
func checkKRBError(b []byte) ([]byte, error) {
	// A KRB-ERROR is [APPLICATION 30] (RFC 4120 §5.9.1): 0x7e.
	if len(b) > 0 && b[0] == 0x7e {
		ke, err := parseKRBError(b)
		if err != nil {
			return nil, fmt.Errorf("negotiate: malformed KRB-ERROR from KDC: %w", gss.ErrMalformedToken)
		}
		return nil, ke
	}
	return b, nil
}

// deadline returns the earlier of ctx's deadline and now+d.
func deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

// withConn runs f on conn, closing conn when ctx is cancelled so that a
// blocked read returns at once.
func withConn(ctx context.Context, conn net.Conn, f func() ([]byte, error)) ([]byte, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	b, err := f()
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return b, err
}

// sendUDP makes one UDP exchange with addr, waiting at most wait.
func sendUDP(ctx context.Context, addr string, req []byte, wait time.Duration) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	return withConn(ctx, conn, func() ([]byte, error) {
		if err := conn.SetDeadline(deadline(ctx, wait)); err != nil {
			return nil, err
		}
		if _, err := conn.Write(req); err != nil {
			return nil, err
		}
		buf := make([]byte, 65536)
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errors.New("negotiate: empty UDP reply from KDC")
		}
		rep := buf[:n]
		if rep[0] == 0x7e {
			if ke, err := parseKRBError(rep); err == nil && ke.ErrorCode == errorcode.KRB_ERR_RESPONSE_TOO_BIG {
				return nil, errResponseTooBig
			}
		}
		return rep, nil
	})
}

// sendTCP makes one TCP exchange with addr: each message is preceded by
// its length as a 4-byte big-endian integer whose high bit is reserved
// (RFC 4120 §7.2.2).
func sendTCP(ctx context.Context, addr string, req []byte) ([]byte, error) {
	d := net.Dialer{Deadline: deadline(ctx, tcpTimeout)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return withConn(ctx, conn, func() ([]byte, error) {
		if err := conn.SetDeadline(deadline(ctx, tcpTimeout)); err != nil {
			return nil, err
		}
		msg := make([]byte, 4+len(req))
		binary.BigEndian.PutUint32(msg, uint32(len(req)))
		copy(msg[4:], req)
		if _, err := conn.Write(msg); err != nil {
			return nil, err
		}
		var hdr [4]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return nil, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n&0x80000000 != 0 || n == 0 || n > maxTCPReply {
			return nil, fmt.Errorf("negotiate: bad TCP reply length %d from KDC: %w", n, gss.ErrMalformedToken)
		}
		rep := make([]byte, n)
		if _, err := io.ReadFull(conn, rep); err != nil {
			return nil, err
		}
		return rep, nil
	})
}
