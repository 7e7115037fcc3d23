// Package ccache reads Kerberos credential caches as MIT krb5 keeps them
// on Linux and other Unix systems, in pure Go: FILE caches, DIR
// collections of FILE caches, kernel KEYRING caches (through keyctl(2)),
// KCM caches (the protocol sssd-kcm and Heimdal's kcm speak over a Unix
// socket) and in-process MEMORY caches. It finds the default cache as MIT
// does (KRB5CCNAME, then krb5.conf's default_ccache_name with its %{...}
// expansions, then FILE:/tmp/krb5cc_%{uid}) and picks, from a collection,
// the primary cache or the one holding a given principal
// (krb5_cc_cache_match).
//
// It only reads: kinit, kswitch, sssd or k5start keep the caches; a
// reader re-reads them when they change (see Cache.Stamp).
//
// This file holds the Cache interface and the resolution of names.
package ccache

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/types"
)

// A Cache is one credential cache of any type.
type Cache interface {
	// Name is the cache's full name, TYPE:residual, as klist shows it.
	Name() string
	// Principal returns the cache's default principal (name@REALM),
	// reading no more than that.
	Principal() (string, error)
	// Load reads the default principal and every credential.
	Load() (*credentials.CCache, error)
	// Stamp returns a value that changes whenever the cache's content
	// may have changed (a new kinit, a renewal); it is cheap to get.
	Stamp() (string, error)
}

// Options are the settings cache access depends on.
type Options struct {
	// KCMSocket is the KCM daemon's socket; "" means DefaultKCMSocket.
	KCMSocket string
}

func (o Options) kcmSocket() string {
	if o.KCMSocket != "" {
		return o.KCMSocket
	}
	return DefaultKCMSocket
}

// ErrUnsupportedType: the name's cache type exists elsewhere but cannot be
// read here (API: on macOS, MSLSA: on Windows) or is unknown.
var ErrUnsupportedType = errors.New("unsupported ticket cache type")

// splitName returns a cache name's type (upper-cased) and residual. A name
// without a type prefix is a FILE path, as is a one-letter prefix (a
// Windows drive).
func splitName(name string) (typ, residual string) {
	t, r, ok := strings.Cut(name, ":")
	if !ok || len(t) <= 1 || strings.ContainsAny(t, `/\`) {
		return "FILE", name
	}
	return strings.ToUpper(t), r
}

// unsupported explains a type this package cannot read.
func unsupported(typ string) error {
	switch typ {
	case "API":
		return fmt.Errorf("%w API: (macOS's CCAPI caches are reachable only through Apple's libraries): set KRB5CCNAME to a FILE: or KCM: cache and run kinit again", ErrUnsupportedType)
	case "MSLSA":
		return fmt.Errorf("%w MSLSA: (the Windows logon session's tickets): on Windows leave Kerberos to SSPI, or set KRB5CCNAME to a FILE: cache", ErrUnsupportedType)
	}
	return fmt.Errorf("%w %s: (supported: FILE, DIR, KEYRING, KCM, MEMORY)", ErrUnsupportedType, typ)
}

// Open resolves name to one cache. A collection's name (DIR:dir, KCM:,
// KEYRING:session:name, ...) resolves to its primary cache. Open does not
// check that the cache exists: Principal or Load will say.
func Open(name string, o Options) (Cache, error) {
	typ, res := splitName(name)
	switch typ {
	case "FILE":
		if res == "" {
			return nil, errors.New("FILE: cache name has no path")
		}
		return &fileCache{name: "FILE:" + res, path: res}, nil
	case "DIR":
		if p, ok := strings.CutPrefix(res, ":"); ok {
			// DIR::path names one cache of a collection.
			return &fileCache{name: "DIR::" + p, path: p}, nil
		}
		if res == "" {
			return nil, errors.New("DIR: cache name has no directory")
		}
		primary, err := dirPrimary(res)
		if err != nil {
			return nil, err
		}
		return dirCache(res, primary), nil
	case "KEYRING":
		return openKeyring(res)
	case "KCM":
		if res != "" {
			return &kcmCache{socket: o.kcmSocket(), name: res}, nil
		}
		p, err := kcmPrimary(o.kcmSocket())
		if err != nil {
			return nil, err
		}
		return &kcmCache{socket: o.kcmSocket(), name: p}, nil
	case "MEMORY":
		return &memCache{name: res}, nil
	}
	return nil, unsupported(typ)
}

// List returns the caches of name's collection, its primary first; for a
// name that is not a collection, just that cache.
func List(name string, o Options) ([]Cache, error) {
	typ, res := splitName(name)
	switch typ {
	case "DIR":
		if !strings.HasPrefix(res, ":") && res != "" {
			return dirList(res)
		}
	case "KEYRING":
		return listKeyring(res)
	case "KCM":
		if res == "" {
			names, err := kcmList(o.kcmSocket())
			if err != nil {
				return nil, err
			}
			primary, _ := kcmPrimary(o.kcmSocket())
			var out []Cache
			for _, n := range names {
				c := &kcmCache{socket: o.kcmSocket(), name: n}
				if n == primary {
					out = append([]Cache{c}, out...)
				} else {
					out = append(out, c)
				}
			}
			return out, nil
		}
	}
	c, err := Open(name, o)
	if err != nil {
		return nil, err
	}
	return []Cache{c}, nil
}

// ErrNoMatch: no cache of the collection holds the principal asked for.
var ErrNoMatch = errors.New("no cache in the collection holds the principal")

// Match returns the cache of name's collection whose default principal is
// principal (name@REALM; compared case-sensitively, as MIT compares), as
// krb5_cc_cache_match does. For a name that is not a collection, the
// cache itself must hold principal.
func Match(name, principal string, o Options) (Cache, error) {
	caches, err := List(name, o)
	if err != nil {
		return nil, err
	}
	var seen []string
	for _, c := range caches {
		p, err := c.Principal()
		if err != nil {
			continue // empty or unreadable: not a match
		}
		if p == principal {
			return c, nil
		}
		seen = append(seen, p)
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%w: %s (it holds no readable cache)", ErrNoMatch, principal)
	}
	return nil, fmt.Errorf("%w: %s (it holds %s)", ErrNoMatch, principal, strings.Join(seen, ", "))
}

// principalString formats a principal as MIT unparses it (without
// escaping: names with '/' or '@' inside a component are not expected in
// caches a user makes).
func principalString(realm string, pn types.PrincipalName) string {
	return strings.Join(pn.NameString, "/") + "@" + realm
}

// Env is what the default cache name depends on besides krb5.conf.
type Env struct {
	Getenv    func(string) string
	UID, EUID int
	// Username returns the name of the effective user, for %{username}.
	Username func() (string, error)
}

// OSEnv is the environment of this process.
func OSEnv() Env {
	return Env{
		Getenv: os.Getenv,
		UID:    os.Getuid(),
		EUID:   os.Geteuid(),
		Username: func() (string, error) {
			u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
			if err != nil {
				return "", err
			}
			return u.Username, nil
		},
	}
}

// DefaultCacheName is MIT's compiled-in default.
const DefaultCacheName = "FILE:/tmp/krb5cc_%{uid}"

// DefaultName returns the default cache name as MIT krb5 finds it, and
// why: KRB5CCNAME when set, else configured (krb5.conf's
// default_ccache_name) when not empty, else DefaultCacheName; the last two
// with their %{...} tokens expanded.
func DefaultName(env Env, configured string) (name, why string, err error) {
	if env.Getenv != nil {
		if v := env.Getenv("KRB5CCNAME"); v != "" {
			return v, "KRB5CCNAME", nil
		}
	}
	src, why := DefaultCacheName, "the default"
	if configured != "" {
		src, why = configured, "default_ccache_name in krb5.conf"
	}
	name, err = Expand(src, env)
	if err != nil {
		return "", why, err
	}
	return name, why, nil
}

// Expand replaces the %{...} tokens MIT krb5 documents for paths in
// krb5.conf (krb5.conf(5), "Parameter expansion") that make sense here:
// %{TEMP} (TMPDIR, else /tmp), %{uid} and %{USERID} (the real UID),
// %{euid}, %{username} (the effective user's name) and %{null}. Any other
// token is an error, as it is for MIT.
func Expand(s string, env Env) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated %%{ in %q", s)
		}
		tok := s[i+2 : i+j]
		s = s[i+j+1:]
		switch tok {
		case "TEMP":
			t := ""
			if env.Getenv != nil {
				t = env.Getenv("TMPDIR")
			}
			if t == "" {
				t = "/tmp"
			}
			b.WriteString(strings.TrimRight(t, "/"))
		case "uid", "USERID":
			b.WriteString(strconv.Itoa(env.UID))
		case "euid":
			b.WriteString(strconv.Itoa(env.EUID))
		case "username":
			if env.Username == nil {
				return "", errors.New("no user name for %{username}")
			}
			u, err := env.Username()
			if err != nil {
				return "", fmt.Errorf("%%{username}: %w", err)
			}
			b.WriteString(u)
		case "null":
		default:
			return "", fmt.Errorf("unsupported token %%{%s}", tok)
		}
	}
}

// Settings are krb5.conf's [libdefaults] relations about caches, which
// gokrb5's configuration does not keep.
type Settings struct {
	DefaultName string // default_ccache_name, not expanded
	KCMSocket   string // kcm_socket
}

// ParseSettings reads Settings from krb5.conf text (includes already
// expanded). Like MIT's profile library, the first value of a relation
// wins, and a value may be quoted.
func ParseSettings(text string) Settings {
	var s Settings
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	depth := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if e := strings.IndexByte(line, ']'); e > 0 {
				section = strings.ToLower(strings.TrimSpace(line[1:e]))
				depth = 0
			}
			continue
		}
		if strings.HasPrefix(line, "}") {
			if depth > 0 {
				depth--
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if v == "{" {
			depth++
			continue
		}
		if section != "libdefaults" || depth != 0 {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		switch k {
		case "default_ccache_name":
			if s.DefaultName == "" {
				s.DefaultName = v
			}
		case "kcm_socket":
			if s.KCMSocket == "" {
				s.KCMSocket = v
			}
		}
	}
	return s
}
