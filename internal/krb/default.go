// This file finds the credentials a user already has, as MIT krb5 and
// `curl --negotiate -u :` do: the ticket cache KRB5CCNAME names, else
// krb5.conf's default_ccache_name, else FILE:/tmp/krb5cc_<uid> (any type
// package ccache reads: FILE, DIR, KEYRING, KCM, MEMORY), else the client
// keytab.

package krb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/negotiate-go/negotiate/internal/ccache"
	"github.com/negotiate-go/negotiate/internal/gss"
)

// CacheOptions choose a ticket cache.
type CacheOptions struct {
	// Name is the cache's name (TYPE:residual, or a FILE path); "" means
	// the default cache.
	Name string
	// Principal (name@REALM), when set, picks the cache of that principal
	// from the collection Name (or the default name) belongs to, as
	// krb5_cc_cache_match does; otherwise the collection's primary cache.
	Principal string
	// ConfigPath is the krb5.conf whose default_ccache_name and
	// kcm_socket apply; "" means KRB5_CONFIG's first file that exists,
	// else /etc/krb5.conf.
	ConfigPath string
}

// CacheChoice is the cache CacheOptions resolved to, and how.
type CacheChoice struct {
	Cache ccache.Cache
	// Why says where the name came from: "KRB5CCNAME", "default_ccache_name
	// in krb5.conf", "the default" or "given".
	Why string
	// Collection is the name the cache was chosen from (the same as
	// Cache.Name() for a single cache).
	Collection string
}

// ConfigPath returns the krb5.conf DefaultConfig loads: the first file of
// KRB5_CONFIG that exists, else /etc/krb5.conf.
func ConfigPath() string { return configPath("") }

// configPath returns path, or the krb5.conf DefaultConfig would load.
func configPath(path string) string {
	if path != "" {
		return path
	}
	for _, p := range filepath.SplitList(os.Getenv("KRB5_CONFIG")) {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/etc/krb5.conf"
}

// cacheSettings reads the cache relations of the krb5.conf at path; a
// missing or unreadable file means none. They are read again only when the
// file's size or modification time changes (its includes are not watched),
// because DefaultCredentials resolve the cache on every request (the
// Transport keys connections by the principal it holds) and parsing
// krb5.conf costs a hundred times more than the rest of that.
func cacheSettings(path string) ccache.Settings {
	path = configPath(path)
	var stamp string
	if fi, err := os.Stat(path); err == nil {
		stamp = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	settingsMemo.Lock()
	e, ok := settingsMemo.m[path]
	settingsMemo.Unlock()
	if ok && e.stamp == stamp {
		return e.set
	}
	var set ccache.Settings
	ex := expander{seen: map[string]bool{}}
	if err := ex.expand(path, 0); err == nil {
		set = ccache.ParseSettings(ex.b.String())
	}
	settingsMemo.Lock()
	if len(settingsMemo.m) >= maxSourceMemo {
		clear(settingsMemo.m)
	}
	settingsMemo.m[path] = settingsEntry{stamp: stamp, set: set}
	settingsMemo.Unlock()
	return set
}

// settingsMemo holds the cache settings of each krb5.conf read, by path.
var settingsMemo = struct {
	sync.Mutex
	m map[string]settingsEntry
}{m: map[string]settingsEntry{}}

type settingsEntry struct {
	stamp string
	set   ccache.Settings
}

// ChooseCache resolves o to one cache without reading its tickets.
func ChooseCache(o CacheOptions) (CacheChoice, error) {
	set := cacheSettings(o.ConfigPath)
	env := ccache.OSEnv()
	name, why := o.Name, "given"
	if name == "" {
		var err error
		name, why, err = ccache.DefaultName(env, set.DefaultName)
		if err != nil {
			return CacheChoice{Why: why}, fmt.Errorf("negotiate: kerberos: default ticket cache name (%s): %v: %w", why, err, gss.ErrNoCredentials)
		}
	}
	opts := ccache.Options{KCMSocket: set.KCMSocket}
	var c ccache.Cache
	var err error
	if o.Principal != "" {
		c, err = ccache.Match(name, o.Principal, opts)
	} else {
		c, err = ccache.Open(name, opts)
	}
	if err != nil {
		return CacheChoice{Why: why, Collection: name}, fmt.Errorf("negotiate: kerberos: ticket cache %s (%s): %w: %w", name, why, err, gss.ErrNoCredentials)
	}
	return CacheChoice{Cache: c, Why: why, Collection: name}, nil
}

// ResolveDefault returns the default credential source of the environment
// and the principal it holds, reading no tickets: the default ticket cache
// (source is its full name, "KCM:0", "FILE:/tmp/krb5cc_0") when it holds a
// principal, else the client keytab ("keytab:" and its path, the principal
// of its first entry). cfgPath is the krb5.conf as for CacheOptions.
// When there is neither, the error wraps gss.ErrNoCredentials.
func ResolveDefault(cfgPath string) (source, principal string, err error) {
	ch, cerr := ChooseCache(CacheOptions{ConfigPath: cfgPath})
	if cerr == nil {
		p, perr := principalOf(ch.Cache)
		if perr == nil {
			return ch.Cache.Name(), p, nil
		}
		cerr = fmt.Errorf("negotiate: kerberos: ticket cache %s (%s): %v: %w", ch.Cache.Name(), ch.Why, perr, gss.ErrNoCredentials)
	}
	if errors.Is(cerr, ccache.ErrUnsupportedType) {
		return "", "", cerr
	}
	kt, ktPath, kerr := clientKeytab(nil, cfgPath)
	if kerr != nil {
		if errors.Is(kerr, fs.ErrNotExist) {
			return "", "", cerr
		}
		return "", "", kerr
	}
	p := kt.Entries[0].Principal
	return "keytab:" + ktPath, strings.Join(p.Components, "/") + "@" + p.Realm, nil
}

// ResolveCache is ResolveDefault for CCache and CCachePrincipal: the full
// name of the cache name (and principal, when not empty) resolve to, and
// the principal it holds, reading no tickets. Errors wrap
// gss.ErrNoCredentials.
func ResolveCache(name, principal, cfgPath string) (source, holds string, err error) {
	ch, err := ChooseCache(CacheOptions{Name: name, Principal: principal, ConfigPath: cfgPath})
	if err != nil {
		return "", "", err
	}
	p, err := principalOf(ch.Cache)
	if err != nil {
		return ch.Cache.Name(), "", fmt.Errorf("negotiate: kerberos: ticket cache %s (%s): %v: %w", ch.Cache.Name(), ch.Why, err, gss.ErrNoCredentials)
	}
	return ch.Cache.Name(), p, nil
}

// principalOf returns c's default principal, read again only when the
// cache's stamp changed: for a FILE cache a stat instead of a read.
func principalOf(c ccache.Cache) (string, error) {
	stamp, err := c.Stamp()
	if err != nil {
		return c.Principal()
	}
	principalMemo.Lock()
	e, ok := principalMemo.m[c.Name()]
	principalMemo.Unlock()
	if ok && e.stamp == stamp {
		return e.principal, nil
	}
	p, err := c.Principal()
	if err != nil {
		return "", err
	}
	principalMemo.Lock()
	if len(principalMemo.m) >= maxSourceMemo {
		clear(principalMemo.m)
	}
	principalMemo.m[c.Name()] = principalEntry{stamp: stamp, principal: p}
	principalMemo.Unlock()
	return p, nil
}

// principalMemo holds the principal of each cache read, by name.
var principalMemo = struct {
	sync.Mutex
	m map[string]principalEntry
}{m: map[string]principalEntry{}}

type principalEntry struct{ stamp, principal string }

// maxSourceMemo bounds the memos of krb5.conf settings and cache
// principals: a process reads few distinct files.
const maxSourceMemo = 64

// clientKeytab loads the client keytab KRB5_CLIENT_KTNAME names, else
// krb5.conf's default_client_keytab_name. An error wrapping
// fs.ErrNotExist means there is none.
func clientKeytab(cfg *config.Config, cfgPath string) (*keytab.Keytab, string, error) {
	ktPath := os.Getenv("KRB5_CLIENT_KTNAME")
	if ktPath == "" && cfg != nil {
		ktPath = cfg.LibDefaults.DefaultClientKeytabName
	}
	if ktPath == "" && cfg == nil {
		if c, err := LoadConfig(configPath(cfgPath)); err == nil {
			ktPath = c.LibDefaults.DefaultClientKeytabName
		}
	}
	ktPath = strings.TrimPrefix(ktPath, "FILE:")
	if ktPath == "" {
		return nil, "", fmt.Errorf("no client keytab: %w", fs.ErrNotExist)
	}
	kt, err := LoadKeytab(ktPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ktPath, err
		}
		return nil, ktPath, fmt.Errorf("negotiate: kerberos: reading client keytab %s: %v: %w", ktPath, err, gss.ErrNoCredentials)
	}
	if len(kt.Entries) == 0 {
		return nil, ktPath, fmt.Errorf("negotiate: kerberos: client keytab %s is empty: %w", ktPath, gss.ErrNoCredentials)
	}
	return kt, ktPath, nil
}

// CacheClient returns a Client for the tickets of the cache o chooses.
// The Client reads the cache again when its TGT nears its end, when the
// cache has changed and a TGT is needed, and when the KDC says the TGT has
// expired, so that a kinit, kinit -R, k5start or sssd renewal reaches a
// running program. Errors wrap gss.ErrNoCredentials.
func CacheClient(o CacheOptions, cfg *config.Config) (*Client, error) {
	ch, err := ChooseCache(o)
	if err != nil {
		return nil, err
	}
	return newCacheClient(ch, o, cfg)
}

func newCacheClient(ch CacheChoice, o CacheOptions, cfg *config.Config) (*Client, error) {
	stamp, _ := ch.Cache.Stamp()
	cc, err := ch.Cache.Load()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("negotiate: kerberos: no ticket cache %s (%s): %w", ch.Cache.Name(), ch.Why, gss.ErrNoCredentials)
	}
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: ticket cache %s (%s): %v: %w", ch.Cache.Name(), ch.Why, err, gss.ErrNoCredentials)
	}
	c, err := NewCCacheClient(cc, cfg)
	if err != nil {
		return nil, fmt.Errorf("negotiate: kerberos: ticket cache %s (%s): %w", ch.Cache.Name(), ch.Why, err)
	}
	c.src = &cacheSource{opts: o, name: ch.Cache.Name(), stamp: stamp, checked: time.Now()}
	return c, nil
}

// DefaultClient is DefaultClientWith with default options.
func DefaultClient(cfg *config.Config) (*Client, error) {
	return DefaultClientWith(CacheOptions{}, cfg)
}

// DefaultClientWith returns a Client for the user's existing credentials:
// the cache o chooses (the default cache, see ChooseCache), else, when
// that cache does not exist or holds nothing, the client keytab named by
// KRB5_CLIENT_KTNAME (or cfg's default_client_keytab_name), whose first
// entry gives the principal. When nothing is found the error wraps
// gss.ErrNoCredentials and says why each source was not usable. A nil cfg
// means an empty configuration.
func DefaultClientWith(o CacheOptions, cfg *config.Config) (*Client, error) {
	if cfg == nil {
		cfg = config.New()
	}
	ch, cerr := ChooseCache(o)
	if cerr == nil {
		c, err := newCacheClient(ch, o, cfg)
		if err == nil {
			return c, nil
		}
		cerr = err
		if errors.Is(err, ccache.ErrUnsupportedType) {
			return nil, err
		}
	} else if errors.Is(cerr, ccache.ErrUnsupportedType) {
		return nil, cerr
	}
	if o.Principal != "" {
		return nil, cerr
	}
	kt, ktPath, kerr := clientKeytab(cfg, o.ConfigPath)
	if kerr == nil {
		p := kt.Entries[0].Principal
		return NewKeytabClient(strings.Join(p.Components, "/"), p.Realm, kt, cfg), nil
	}
	if !errors.Is(kerr, fs.ErrNotExist) {
		return nil, kerr
	}
	if ktPath != "" {
		return nil, fmt.Errorf("%w; no client keytab at %s", cerr, ktPath)
	}
	return nil, fmt.Errorf("%w; no client keytab", cerr)
}
