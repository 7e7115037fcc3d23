// This file tells which ticket cache Kerberos credentials read, for
// diagnostics such as negcurl -v.

package negotiate

import (
	"fmt"
	"time"

	"github.com/negotiate-go/negotiate/internal/krb"
)

// CacheInfo describes the ticket cache that [CCache], [CCachePrincipal] or
// [DefaultCredentials] read.
type CacheInfo struct {
	// Name is the cache's full name as klist shows it ("KCM:0",
	// "FILE:/tmp/krb5cc_1000", "DIR::/run/user/1000/krb5cc/tktAbc").
	Name string
	// Why says how the cache was found: "KRB5CCNAME",
	// "default_ccache_name in krb5.conf", "the default" (FILE:/tmp/krb5cc_%{uid})
	// or "given" (named by CCache).
	Why string
	// Principal is the cache's principal, name@REALM.
	Principal string
	// TGTEnd is when its TGT for the principal's realm ends; zero when it
	// holds none (a cache of service tickets only).
	TGTEnd time.Time
}

// DescribeCache reads the ticket cache c would use, with the krb5.conf at
// krb5Config ("" as for Transport.Krb5Config), and describes it. When the
// cache cannot be used, the error says which cache and why (it does not
// exist, it is empty, its type cannot be read here); for
// DefaultCredentials a client keytab may still stand in. Credentials of
// other kinds give an error wrapping ErrNoCredentials.
func DescribeCache(c *Credentials, krb5Config string) (CacheInfo, error) {
	if c == nil || (c.krb.kind != krbCCache && c.krb.kind != krbDefault) {
		return CacheInfo{}, fmt.Errorf("%w: not ticket cache credentials", ErrNoCredentials)
	}
	o := krb.CacheOptions{Name: c.krb.path, Principal: c.krb.principal, ConfigPath: krb5Config}
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
			info.Principal, info.Name, info.TGTEnd.Local().Format(time.DateTime), ErrCredentialsExpired)
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
