// Package kcmtest is a KCM daemon for tests: it serves credential caches
// held in memory over a Unix socket, speaking the part of the KCM protocol
// (MIT krb5's kcm.h, as sssd-kcm answers it) that a reader of caches uses:
// GET_PRINCIPAL, GET_CRED_UUID_LIST, GET_CRED_BY_UUID, GET_CRED_LIST,
// GET_CACHE_UUID_LIST, GET_CACHE_BY_UUID and GET_DEFAULT_CACHE. Any other
// opcode gets KRB5_CC_IO, as sssd answers an opcode it does not know.
package kcmtest

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jcmturner/gokrb5/v8/credentials"

	"github.com/negotiate-go/negotiate/internal/ccache"
)

// errIO is KRB5_CC_IO, sssd's answer to an opcode it does not know.
const errIO = -1765328252

// Server is a KCM daemon serving in-memory caches.
type Server struct {
	ln     net.Listener
	socket string

	mu       sync.Mutex
	caches   map[string]*cache
	order    []string // cache names in creation order
	primary  string
	noList   bool // answer GET_CRED_LIST as an old sssd does
	requests map[uint16]int
	wg       sync.WaitGroup
}

type cache struct {
	uuid  []byte
	princ []byte // version-4 encoding
	creds []cred
}

type cred struct {
	uuid []byte
	data []byte // version-4 encoding
}

// New starts a Server on a socket in a temporary directory; it stops when
// the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	dir, err := os.MkdirTemp("", "kcm")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{socket: filepath.Join(dir, "kcm.socket"), caches: map[string]*cache{}, requests: map[uint16]int{}}
	s.ln, err = net.Listen("unix", s.socket)
	if err != nil {
		tb.Fatal(err)
	}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(func() {
		s.ln.Close()
		s.wg.Wait()
	})
	return s
}

// Socket is the path clients connect to.
func (s *Server) Socket() string { return s.socket }

// SetCredList says whether GET_CRED_LIST is answered (the default) or
// refused as sssd before 2.5 refuses it.
func (s *Server) SetCredList(ok bool) {
	s.mu.Lock()
	s.noList = !ok
	s.mu.Unlock()
}

// Requests returns how many requests of opcode op the server has had.
func (s *Server) Requests(op uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[op]
}

func newUUID() []byte {
	u := make([]byte, 16)
	rand.Read(u)
	return u
}

// Put stores cc as the cache name, replacing its credentials as kinit
// does (each gets a new UUID). The first cache put becomes the default.
func (s *Server) Put(name string, cc *credentials.CCache) {
	c := &cache{uuid: newUUID(), princ: ccache.MarshalPrincipal(cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName)}
	for _, cr := range cc.Credentials {
		c.creds = append(c.creds, cred{uuid: newUUID(), data: ccache.MarshalCredential(cr)})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.caches[name]; ok {
		c.uuid = old.uuid
	} else {
		s.order = append(s.order, name)
	}
	s.caches[name] = c
	if s.primary == "" {
		s.primary = name
	}
}

// SetDefault makes name the default (primary) cache, as kswitch does.
func (s *Server) SetDefault(name string) {
	s.mu.Lock()
	s.primary = name
	s.mu.Unlock()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			for s.one(c) == nil {
			}
		}()
	}
}

// one answers one request.
func (s *Server) one(c net.Conn) error {
	var lb [4]byte
	if _, err := io.ReadFull(c, lb[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(lb[:])
	if n < 4 || n > 1<<20 {
		return io.ErrUnexpectedEOF
	}
	req := make([]byte, n)
	if _, err := io.ReadFull(c, req); err != nil {
		return err
	}
	op := binary.BigEndian.Uint16(req[2:])
	status, body := s.answer(op, req[4:])
	out := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	out = binary.BigEndian.AppendUint32(out, 0) // transport status
	out = binary.BigEndian.AppendUint32(out, uint32(status))
	out = append(out, body...)
	_, err := c.Write(out)
	return err
}

// name splits a NUL-terminated name parameter off args.
func name(args []byte) (string, []byte, bool) {
	for i, b := range args {
		if b == 0 {
			return string(args[:i]), args[i+1:], true
		}
	}
	return "", nil, false
}

func (s *Server) answer(op uint16, args []byte) (int32, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[op]++
	switch op {
	case ccache.KCMOpGetDefaultCache:
		if s.primary == "" {
			return 0, []byte("0\x00")
		}
		return 0, append([]byte(s.primary), 0)
	case ccache.KCMOpGetCacheUUIDList:
		var b []byte
		for _, n := range s.order {
			b = append(b, s.caches[n].uuid...)
		}
		return 0, b
	case ccache.KCMOpGetCacheByUUID:
		for _, n := range s.order {
			if string(s.caches[n].uuid) == string(args) {
				return 0, append([]byte(n), 0)
			}
		}
		return ccache.KCMErrNoCache, nil
	}
	n, rest, ok := name(args)
	if !ok {
		return errIO, nil
	}
	c := s.caches[n]
	if c == nil && op != 0 {
		return ccache.KCMErrNoCache, nil
	}
	switch op {
	case ccache.KCMOpGetPrincipal:
		return 0, c.princ
	case ccache.KCMOpGetCredUUIDList:
		var b []byte
		for _, cr := range c.creds {
			b = append(b, cr.uuid...)
		}
		return 0, b
	case ccache.KCMOpGetCredByUUID:
		for _, cr := range c.creds {
			if string(cr.uuid) == string(rest) {
				return 0, cr.data
			}
		}
		return ccache.KCMErrNoCache, nil
	case ccache.KCMOpGetCredList:
		if s.noList {
			return errIO, nil
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(len(c.creds)))
		for _, cr := range c.creds {
			b = binary.BigEndian.AppendUint32(b, uint32(len(cr.data)))
			b = append(b, cr.data...)
		}
		return 0, b
	}
	return errIO, nil
}
