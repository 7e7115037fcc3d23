// This file gives package negotiate's diagnostics what they need from the
// mechanisms: token descriptions, the detail of a Kerberos failure, and the
// ticket cache credentials read. Nothing here ever reveals a password, a
// key, a session key, a checksum or the encrypted part of a ticket.

package mech

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
	"github.com/negotiate-go/negotiate/internal/ntlm"
	"github.com/negotiate-go/negotiate/internal/spnego"
)

// DescribeSPNEGO writes a line for the SPNEGO wrapper of token (or says it
// is a bare Kerberos or NTLMSSP token) and then, indented, the description
// of the mechanism token it carries. An undecodable token gives an error
// wrapping gss.ErrMalformedToken, with what was decoded before written.
func DescribeSPNEGO(b *strings.Builder, token []byte) error {
	t, err := spnego.Describe(token)
	if err != nil {
		return err
	}
	if t.Kind == "raw" {
		fmt.Fprintf(b, "bare %s token (no SPNEGO wrapper)\n", spnego.MechName(t.SupportedMech))
	} else {
		fmt.Fprintf(b, "SPNEGO %s\n", t)
	}
	inner := t.MechToken
	if len(inner) == 0 {
		return nil
	}
	// The mechanism of the inner token: a raw token's own, a
	// negTokenResp's supportedMech, or a negTokenInit's first (optimistic)
	// mechanism; failing those, what the token looks like.
	mech := t.SupportedMech
	if mech == nil && len(t.MechTypes) > 0 {
		mech = t.MechTypes[0]
	}
	switch {
	case strings.HasPrefix(string(inner), "NTLMSSP\x00"):
		return DescribeNTLM(b, "  ", inner)
	case mech != nil && (mech.Equal(spnego.OIDKerberos) || mech.Equal(spnego.OIDMSKerberos)),
		inner[0] == 0x60 || inner[0] == 0x6e || inner[0] == 0x6f || inner[0] == 0x7e:
		s, err := krb.Describe(inner)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "  %s\n", s)
		return nil
	}
	fmt.Fprintf(b, "  %s token of %d bytes, not decoded\n", spnego.MechName(mech), len(inner))
	return nil
}

// DescribeNTLM writes the decoded NTLM message token, each line after
// indent.
func DescribeNTLM(b *strings.Builder, indent string, token []byte) error {
	m, err := ntlm.Describe(token)
	if err != nil {
		return err
	}
	for line := range strings.Lines(m.String()) {
		b.WriteString(indent)
		b.WriteString(line)
	}
	return nil
}

// ClockSkew returns the peer's clock minus ours when err wraps a Kerberos
// clock-skew failure whose size is known.
func ClockSkew(err error) (time.Duration, bool) {
	var ke *krb.Error
	if !errors.As(err, &ke) || ke.Code != errorcode.KRB_AP_ERR_SKEW || ke.Skew == 0 {
		return 0, false
	}
	return ke.Skew, true
}

// UnknownPrincipal returns the principal the KDC reported unknown in err.
func UnknownPrincipal(err error) (principal string, ok bool) {
	var ke *krb.Error
	if !errors.As(err, &ke) || !errors.Is(ke.Err, gss.ErrUnknownPrincipal) {
		return "", false
	}
	return ke.Principal, true
}

// CacheInfo describes a ticket cache (negotiate.CacheInfo).
type CacheInfo struct {
	Name, Why, Principal string
	TGTEnd               time.Time
}

// DescribeCache reads the ticket cache c would use, with the krb5.conf at
// krb5Config ("" as for Config.Krb5Config), and describes it; see
// negotiate.DescribeCache.
func DescribeCache(c *Credentials, krb5Config string) (CacheInfo, error) {
	if c == nil || (c.Kind != KindCCache && c.Kind != KindDefault) {
		return CacheInfo{}, fmt.Errorf("%w: not ticket cache credentials", gss.ErrNoCredentials)
	}
	o := krb.CacheOptions{Name: c.Path, Principal: c.Principal, ConfigPath: krb5Config}
	ch, err := krb.ChooseCache(o)
	if err != nil {
		return CacheInfo{Why: ch.Why}, err
	}
	info := CacheInfo{Name: ch.Cache.Name(), Why: ch.Why}
	cfg, cerr := krb.LoadConfig(configOrDefault(krb5Config))
	if cerr != nil {
		cfg = nil
	}
	kc, err := krb.CacheClient(o, cfg)
	if err != nil {
		return info, err
	}
	info.Principal = kc.Principal()
	info.TGTEnd = kc.TGTEnd()
	if !info.TGTEnd.IsZero() && time.Now().After(info.TGTEnd) {
		return info, fmt.Errorf("negotiate: kerberos: the TGT of %s in ticket cache %s expired at %s; run kinit: %w",
			info.Principal, info.Name, info.TGTEnd.Local().Format(time.DateTime), gss.ErrCredentialsExpired)
	}
	return info, nil
}

// configOrDefault returns path, or the krb5.conf DefaultConfig would read.
func configOrDefault(path string) string {
	if path != "" {
		return path
	}
	return krb.ConfigPath()
}
