// This file gives package negotiate's diagnostics what they need from the
// mechanisms: the detail of a Kerberos failure, and the
// ticket cache credentials read. Nothing here ever reveals a password, a
// key, a session key, a checksum or the encrypted part of a ticket.

package mech

import (
	"errors"
	"fmt"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"

	"github.com/negotiate-go/negotiate/internal/gss"
	"github.com/negotiate-go/negotiate/internal/krb"
)

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
