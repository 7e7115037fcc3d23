// This file decides which encryption types the client asks the KDC for
// when krb5.conf does not say: MIT krb5 1.20's defaults minus the
// deprecated ones (RC4-HMAC, DES3), so the AES-SHA2 enctypes of RFC 8009
// are asked for and RC4 never is unless the configuration lists it.

package krb

import (
	"bufio"
	"strings"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
)

// DefaultEnctypes are the enctypes asked for when krb5.conf names none
// (default_tkt_enctypes, default_tgs_enctypes, permitted_enctypes), in
// order of preference: AES with SHA-1 first, as MIT krb5 and Active
// Directory prefer, then AES with SHA-2 (RFC 8009).
var DefaultEnctypes = []int32{
	etypeID.AES256_CTS_HMAC_SHA1_96,
	etypeID.AES128_CTS_HMAC_SHA1_96,
	etypeID.AES256_CTS_HMAC_SHA384_192,
	etypeID.AES128_CTS_HMAC_SHA256_128,
}

// applyEnctypeDefaults replaces gokrb5's built-in enctype lists (which
// include RC4-HMAC and DES3 but not AES-SHA2) with DefaultEnctypes where
// text, the krb5.conf, sets none. permitted_enctypes alone stands for the
// other two, as in MIT krb5.
func applyEnctypeDefaults(cfg *config.Config, text string) {
	set := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		k, _, ok := strings.Cut(sc.Text(), "=")
		if ok {
			set[strings.ToLower(strings.TrimSpace(k))] = true
		}
	}
	ld := &cfg.LibDefaults
	fallback := DefaultEnctypes
	if set["permitted_enctypes"] {
		fallback = ld.PermittedEnctypeIDs
	} else {
		ld.PermittedEnctypeIDs = append([]int32(nil), DefaultEnctypes...)
	}
	if !set["default_tkt_enctypes"] {
		ld.DefaultTktEnctypeIDs = append([]int32(nil), fallback...)
	}
	if !set["default_tgs_enctypes"] {
		ld.DefaultTGSEnctypeIDs = append([]int32(nil), fallback...)
	}
}
