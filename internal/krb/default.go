// This file finds the credentials a user already has, as MIT krb5 and
// `curl --negotiate -u :` do: the ticket cache KRB5CCNAME names (or the
// default /tmp/krb5cc_<uid>), else the client keytab.

package krb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"

	"github.com/negotiate-go/negotiate/internal/gss"
)

// DefaultClient returns a Client for the user's existing credentials: the
// FILE ticket cache named by KRB5CCNAME ("FILE:/path" or "/path"; other
// cache types are not supported and the error names the type), else
// /tmp/krb5cc_<uid>; when there is no cache, the client keytab named by
// KRB5_CLIENT_KTNAME (or cfg's default_client_keytab_name), whose first
// entry gives the principal. When nothing is found the error wraps
// gss.ErrNoCredentials. A nil cfg means an empty configuration.
func DefaultClient(cfg *config.Config) (*Client, error) {
	if cfg == nil {
		cfg = config.New()
	}
	path := "/tmp/krb5cc_" + strconv.Itoa(os.Getuid())
	if env := os.Getenv("KRB5CCNAME"); env != "" {
		typ, rest, ok := strings.Cut(env, ":")
		switch {
		case !ok || strings.HasPrefix(env, "/"):
			path = env
		case strings.EqualFold(typ, "FILE"):
			path = rest
		default:
			return nil, fmt.Errorf("negotiate: kerberos: ticket cache type %s (KRB5CCNAME) is not supported, only FILE: %w", typ, gss.ErrNoCredentials)
		}
	}
	cc, err := credentials.LoadCCache(path)
	if err == nil {
		return NewCCacheClient(cc, cfg)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("negotiate: kerberos: reading ticket cache %s: %v: %w", path, err, gss.ErrNoCredentials)
	}
	ktPath := os.Getenv("KRB5_CLIENT_KTNAME")
	if ktPath == "" {
		ktPath = cfg.LibDefaults.DefaultClientKeytabName
	}
	ktPath = strings.TrimPrefix(ktPath, "FILE:")
	if ktPath != "" {
		kt, kerr := LoadKeytab(ktPath)
		if kerr == nil {
			if len(kt.Entries) == 0 {
				return nil, fmt.Errorf("negotiate: kerberos: client keytab %s is empty: %w", ktPath, gss.ErrNoCredentials)
			}
			p := kt.Entries[0].Principal
			return NewKeytabClient(strings.Join(p.Components, "/"), p.Realm, kt, cfg), nil
		}
		if !errors.Is(kerr, fs.ErrNotExist) {
			return nil, fmt.Errorf("negotiate: kerberos: reading client keytab %s: %v: %w", ktPath, kerr, gss.ErrNoCredentials)
		}
	}
	return nil, fmt.Errorf("negotiate: kerberos: no ticket cache at %s and no client keytab: %w", path, gss.ErrNoCredentials)
}
