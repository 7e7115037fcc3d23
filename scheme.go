// This file names the authentication schemes in the package's own terms;
// package authscheme defines them, with the challenge parser.

package negotiate

import "github.com/negotiate-go/negotiate/authscheme"

// Scheme identifies an authentication scheme: Negotiate, NTLM or Basic.
// The zero value is SchemeUnknown.
type Scheme = authscheme.Scheme

// The schemes a Transport speaks.
const (
	SchemeUnknown   = authscheme.Unknown   // any scheme not listed below
	SchemeBasic     = authscheme.Basic     // RFC 7617
	SchemeNTLM      = authscheme.NTLM      // MS-NTHT, raw NTLMSSP tokens
	SchemeNegotiate = authscheme.Negotiate // RFC 4559, SPNEGO (or raw Kerberos or NTLM) tokens
)

// defaultPreference is the order of schemes of a Transport whose
// Preference is nil: Negotiate, then NTLM, then Basic.
func defaultPreference() []Scheme {
	return []Scheme{SchemeNegotiate, SchemeNTLM, SchemeBasic}
}
