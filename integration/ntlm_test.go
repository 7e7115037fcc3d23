//go:build integration

// NTLM against gss-ntlmssp behind Apache mod_auth_gssapi: the raw NTLM
// scheme and NTLM inside SPNEGO, with the password and with the NT hash.

package integration

import (
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/negotiate-go/negotiate"
)

// ntHash is MD4 of the UTF-16LE password (MS-NLMP 3.3.1, NTOWFv1).
func ntHash(password string) []byte {
	h := md4.New()
	for _, u := range utf16.Encode([]rune(password)) {
		h.Write(binary.LittleEndian.AppendUint16(nil, u))
	}
	return h.Sum(nil)
}

// ntlmCredentials returns alice's NTLM credentials: "password" (usable for
// Kerberos too) or "nthash" (NTLM only).
func ntlmCredentials(e labEnv, kind string) *negotiate.Credentials {
	if kind == "nthash" {
		return negotiate.NTHash(e.ntlmUser(), ntHash(e["LAB_PASSWORD"]))
	}
	return negotiate.Password(e.ntlmUser(), e["LAB_PASSWORD"])
}

func TestNTLM(t *testing.T) {
	e := lab(t)
	ntlm := negotiate.SchemeNTLM
	tests := []struct {
		name     string
		location string
		creds    string // "password" or "nthash"
		prefer   []negotiate.Scheme
		mech     string // whoami line 2
		legs     int    // legs of a cold request, the unauthenticated try included
	}{
		// NTLM-only credentials: Kerberos cannot work, raw NTLM is offered.
		{"raw, NT hash", "/ntlm/", "nthash", nil, "NTLM/NTLM", 3},
		{"raw, password, NTLM preferred", "/ntlm/", "password", []negotiate.Scheme{ntlm}, "NTLM/NTLM", 3},
		{"raw on /any/", "/any/", "nthash", nil, "NTLM/NTLM", 3},
		// The mod_auth_gssapi quirk: raw NTLM on a Kerberos-only,
		// connection-bound location.
		{"raw on /krb-conn/", "/krb-conn/", "nthash", nil, "NTLM/NTLM", 3},
		// Negotiate only: NTLM inside SPNEGO (NEGOTIATE, CHALLENGE,
		// AUTHENTICATE with mechListMIC, and gss-ntlmssp's final
		// accept-completed).
		// Kerberos credentials too: SPNEGO offers Kerberos (optimistic
		// token) and NTLM; gss-ntlmssp steers to NTLM (negState
		// request-mic, supportedMech NTLMSSP).
		{"in SPNEGO, steered from Kerberos", "/ntlm/", "password", nil, "Negotiate/NTLM", 4},
	}
	for _, tt := range tests {
		for _, scheme := range []string{"http", "https"} {
			t.Run(tt.name+"/"+scheme, func(t *testing.T) {
				tr := newTransport(t, e, ntlmCredentials(e, tt.creds))
				tr.Preference = tt.prefer
				u := e.url(scheme) + tt.location + "whoami"
				w, r := getWhoami(t, tr, u)
				if want := (whoami{e.ntlmUser(), tt.mech}); w != want {
					t.Fatalf("whoami(%q) = %v; want %v (legs %s)", u, w, want, r.schemes())
				}
				if len(r.legs) != tt.legs || r.legs[0].Sent != nil {
					t.Errorf("cold request: legs %s; want %d, the first without a token", r.schemes(), tt.legs)
				}
				// The connection stays authenticated: the next request
				// goes without a token.
				w, r = getWhoami(t, tr, u)
				if w.user != e.ntlmUser() || len(r.legs) != 1 || r.tokens() != 0 || !r.legs[0].Reused {
					t.Errorf("warm request: whoami %v, legs %s; want %s in one leg without a token on the kept connection", w, r.schemes(), e.ntlmUser())
				}
			})
		}
	}
}

// TestNTLMSecondUser: bob through the same Transport, with his credentials
// in the request's context, gets his own connection: Apache sees bob, and
// alice's connection is not reused for him.
func TestNTLMSecondUser(t *testing.T) {
	e := lab(t)
	tr := newTransport(t, e, ntlmCredentials(e, "nthash"))
	bob := negotiate.NTHash(e["LAB_NTLM_DOMAIN"]+`\`+e["LAB_USER2"], ntHash(e["LAB_PASSWORD2"]))
	u := e.url("http") + "/ntlm/whoami"
	for i := range 3 {
		if w, _ := getWhoami(t, tr, u); w.user != e.ntlmUser() {
			t.Fatalf("round %d: alice's request: whoami(%q) = %v; want %s", i, u, w, e.ntlmUser())
		}
		r := do(t, tr, "GET", u, nil, withCredentials(bob))
		if r.err != nil || r.resp.StatusCode != 200 || r.bodyErr != nil {
			t.Fatalf("round %d: bob's request: %v, %v, %v", i, r.resp, r.err, r.bodyErr)
		}
		if w, want := parseWhoami(r.body), e["LAB_NTLM_DOMAIN"]+`\`+e["LAB_USER2"]; w.user != want {
			t.Fatalf("round %d: bob's request: whoami(%q) = %v; want %s", i, u, w, want)
		}
	}
}

// hideNTLMOffer is a relay hook that removes the NTLM challenge from 401s,
// so the server seems to offer Negotiate only, as many do.
func hideNTLMOffer(resp *http.Response) error {
	if resp.StatusCode != http.StatusUnauthorized {
		return nil
	}
	var keep []string
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		if scheme, _, _ := strings.Cut(v, " "); !strings.EqualFold(scheme, "NTLM") {
			keep = append(keep, v)
		}
	}
	resp.Header["Www-Authenticate"] = keep
	return nil
}

// TestNTLMInSPNEGO: NTLM-only credentials (the NT hash) against a server
// that offers only Negotiate: NTLM inside SPNEGO, with the mechListMIC,
// which gss-ntlmssp checks. /krb-conn/ takes Kerberos only in SPNEGO, so
// there the same handshake ends in a 401 that ResponseError explains.
func TestNTLMInSPNEGO(t *testing.T) {
	e := lab(t)
	base := startRelay(t, e, hideNTLMOffer)
	for _, loc := range []string{"/ntlm/", "/any/"} {
		t.Run(loc, func(t *testing.T) {
			tr := newTransport(t, e, ntlmCredentials(e, "nthash"))
			u := base + loc + "whoami"
			w, r := getWhoami(t, tr, u)
			if want := (whoami{e.ntlmUser(), "Negotiate/NTLM"}); w != want {
				t.Fatalf("whoami(%q) = %v; want %v (legs %s)", u, w, want, r.schemes())
			}
			if r.schemes() != "-,Negotiate,Negotiate" {
				t.Errorf("legs %s; want -,Negotiate,Negotiate", r.schemes())
			}
			w, r = getWhoami(t, tr, u)
			if w.user != e.ntlmUser() || len(r.legs) != 1 || r.tokens() != 0 {
				t.Errorf("warm request: whoami %v, legs %s; want %s in one leg without a token", w, r.schemes(), e.ntlmUser())
			}
		})
	}
	t.Run("/krb-conn/ refuses", func(t *testing.T) {
		tr := newTransport(t, e, ntlmCredentials(e, "nthash"))
		u := base + "/krb-conn/whoami"
		r := do(t, tr, "GET", u, nil, nil)
		if err := final401(t, r); !errors.Is(err, negotiate.ErrRejected) {
			t.Fatalf("ResponseError = %v; want ErrRejected", err)
		}
	})
}

// TestPreferenceNegotiateOnly: a Transport whose Preference lists only
// Negotiate must not answer with the raw NTLM scheme, even when the server
// offers it and Kerberos cannot work: NTLM then goes inside SPNEGO.
func TestPreferenceNegotiateOnly(t *testing.T) {
	e := lab(t)
	for _, loc := range []string{"/ntlm/", "/any/"} {
		t.Run(loc, func(t *testing.T) {
			tr := newTransport(t, e, ntlmCredentials(e, "nthash"))
			tr.Preference = []negotiate.Scheme{negotiate.SchemeNegotiate}
			u := e.url("http") + loc + "whoami"
			w, r := getWhoami(t, tr, u)
			if want := (whoami{e.ntlmUser(), "Negotiate/NTLM"}); w != want {
				t.Fatalf("whoami(%q) with Preference [Negotiate] = %v; want %v (legs %s)", u, w, want, r.schemes())
			}
		})
	}
}
