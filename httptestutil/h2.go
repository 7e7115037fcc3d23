// This file makes a TLS Server speak HTTP/2 (Config.H2) but, like IIS
// (HTTP.sys), refuse Windows authentication over it: connection-based schemes such
// as NTLM and Negotiate need HTTP/1.1, where a TCP connection carries one
// request at a time.

package httptestutil

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Mode is Config.H2: whether a TLS Server offers HTTP/2 and how it
// answers requests that arrive over it. Over HTTP/1.1 the server is
// unchanged (authentication, Extended Protection, Stats); over HTTP/2 it
// authenticates no one. Stats counts requests by protocol.
//
// s.Client() speaks HTTP/1.1 only; a client that wants HTTP/2 needs a
// Transport with ForceAttemptHTTP2 (or Protocols) and s.Certificate() in
// its roots.
type H2Mode int

const (
	// H2Off offers HTTP/1.1 only, as httptest's servers do by default.
	H2Off H2Mode = iota
	// H2Reset resets every HTTP/2 stream with HTTP_1_1_REQUIRED (RFC 9113
	// §7), as HTTP.sys does where the answer would be a Windows
	// authentication challenge: the client must retry over HTTP/1.1.
	H2Reset
	// H2ChallengeThenReset answers a request without credentials with the
	// 401 challenge over HTTP/2, and resets with HTTP_1_1_REQUIRED a
	// request carrying a Negotiate or NTLM token.
	H2ChallengeThenReset
	// H2Challenge answers every HTTP/2 request with the 401 challenge,
	// token or not: a connection-based handshake can never complete over
	// HTTP/2, and a client must understand that from a NTLM or Negotiate
	// challenge on an HTTP/2 response and switch to HTTP/1.1 itself.
	H2Challenge
)

func (m H2Mode) String() string {
	switch m {
	case H2Off:
		return "Off"
	case H2Reset:
		return "Reset"
	case H2ChallengeThenReset:
		return "ChallengeThenReset"
	case H2Challenge:
		return "Challenge"
	}
	return "H2Mode(?)"
}

// h2Timeout bounds how long an HTTP/2 connection may sit without a frame.
const h2Timeout = 30 * time.Second

// setUpH2 makes the unstarted server offer HTTP/2 by ALPN and serve it
// with serveH2.
func (s *Server) setUpH2() {
	s.TLS.NextProtos = []string{"h2", "http/1.1"}
	// net/http hands a connection whose ALPN protocol is in TLSNextProto
	// to that function instead of its own HTTP/2 server, which has no way
	// to send HTTP_1_1_REQUIRED.
	s.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){
		"h2": func(_ *http.Server, c *tls.Conn, _ http.Handler) { s.serveH2(c) },
	}
}

// serveH2 is a minimal HTTP/2 server (RFC 9113) for one connection: the
// preface and SETTINGS exchange, PING, flow control credit for request
// bodies it discards, and an answer to each request's HEADERS. It returns
// when the client goes away, on a protocol error, or after h2Timeout
// without a frame.
func (s *Server) serveH2(c *tls.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(h2Timeout))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	bw := bufio.NewWriter(c)
	fr := http2.NewFramer(bw, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	if fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}) != nil || bw.Flush() != nil {
		return
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for {
		c.SetDeadline(time.Now().Add(h2Timeout))
		f, err := fr.ReadFrame()
		if err != nil {
			if ce, ok := err.(http2.ConnectionError); ok {
				fr.WriteGoAway(0, http2.ErrCode(ce), nil)
				bw.Flush()
			}
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				err = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				err = fr.WritePing(true, f.Data)
			}
		case *http2.DataFrame:
			// The body is discarded; give the connection's credit back so
			// that later streams are not starved.
			if n := f.Length; n > 0 {
				err = fr.WriteWindowUpdate(0, n)
			}
		case *http2.MetaHeadersFrame:
			err = s.answerH2(fr, enc, &block, f)
		case *http2.GoAwayFrame:
			return
		}
		if err != nil || bw.Flush() != nil {
			return
		}
	}
}

// answerH2 answers the request that f opens, as Config.H2 says.
func (s *Server) answerH2(fr *http2.Framer, enc *hpack.Encoder, block *bytes.Buffer, f *http2.MetaHeadersFrame) error {
	s.h2.Add(1)
	var token bool
	for _, hf := range f.RegularFields() {
		if hf.Name == "authorization" {
			scheme, _, _ := strings.Cut(strings.TrimSpace(hf.Value), " ")
			token = strings.EqualFold(scheme, "Negotiate") || strings.EqualFold(scheme, "NTLM")
		}
	}
	if mode := s.cfg.H2; mode == H2Reset || (mode == H2ChallengeThenReset && token) {
		s.h2Resets.Add(1)
		return fr.WriteRSTStream(f.StreamID, http2.ErrCodeHTTP11Required)
	}
	block.Reset()
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: "401"})
	schemes := s.cfg.Schemes
	if schemes == nil {
		schemes = []string{"Negotiate", "NTLM"}
	}
	for _, sc := range schemes {
		enc.WriteField(hpack.HeaderField{Name: "www-authenticate", Value: sc})
	}
	enc.WriteField(hpack.HeaderField{Name: "content-length", Value: "0"})
	s.challenges.Add(1)
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return err
	}
	if !f.StreamEnded() {
		// Answered before the body ended: tell the client to stop sending
		// it (RFC 9113 §8.1).
		return fr.WriteRSTStream(f.StreamID, http2.ErrCodeNo)
	}
	return nil
}
