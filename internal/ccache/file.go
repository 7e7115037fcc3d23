// This file holds the FILE cache type and the DIR collection of FILE
// caches (MIT krb5's cc_file.c and cc_dir.c).

package ccache

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/types"
)

// fileCache is a cache in the FILE format; name is how it was named
// ("FILE:/tmp/krb5cc_0" or, in a collection, "DIR::/dir/tktAbc").
type fileCache struct {
	name string
	path string
}

func (c *fileCache) Name() string { return c.name }

// read reads the file, refusing one larger than MaxSize.
func (c *fileCache) read() ([]byte, error) {
	f, err := os.Open(c.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", errFormat, MaxSize)
	}
	return b, nil
}

func (c *fileCache) Principal() (string, error) {
	b, err := c.read()
	if err != nil {
		return "", err
	}
	realm, pn, err := parseFilePrincipal(b)
	if err != nil {
		return "", err
	}
	return principalString(realm, pn), nil
}

func (c *fileCache) Load() (*credentials.CCache, error) {
	b, err := c.read()
	if err != nil {
		return nil, err
	}
	cc, err := ParseFile(b)
	if err != nil {
		return nil, err
	}
	cc.Path = c.path
	return cc, nil
}

// Stamp is the file's identity, size and modification time: kinit writes
// a new file and renames it over the old one, so each writer changes it.
func (c *fileCache) Stamp() (string, error) {
	fi, err := os.Stat(c.path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %d %d %s", c.path, fi.Size(), fi.ModTime().UnixNano(), fileID(fi)), nil
}

// parseFilePrincipal decodes a FILE cache only up to its default
// principal.
func parseFilePrincipal(b []byte) (string, types.PrincipalName, error) {
	cc, _, err := parseFileHead(b)
	if err != nil {
		return "", types.PrincipalName{}, err
	}
	return cc.DefaultPrincipal.Realm, cc.DefaultPrincipal.PrincipalName, nil
}

// dirPrimary returns the name of a DIR collection's primary cache file: the
// first line of its "primary" file, else "tkt" (cc_dir.c).
func dirPrimary(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "primary"))
	if os.IsNotExist(err) {
		return "tkt", nil
	}
	if err != nil {
		return "", err
	}
	name, _, _ := strings.Cut(string(b), "\n")
	name = strings.TrimSpace(name)
	if !validSubsidiary(name) {
		return "", fmt.Errorf("%w: bad primary %q in %s", errFormat, name, dir)
	}
	return name, nil
}

// validSubsidiary reports whether name may name a cache file in a DIR
// collection: MIT requires the "tkt" prefix and no path separators.
func validSubsidiary(name string) bool {
	return strings.HasPrefix(name, "tkt") && !strings.ContainsAny(name, "/\\") && name != ""
}

// dirList returns the collection's caches, primary first.
func dirList(dir string) ([]Cache, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	primary, err := dirPrimary(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && validSubsidiary(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return names[i] == primary && names[j] != primary })
	var out []Cache
	for _, n := range names {
		out = append(out, dirCache(dir, n))
	}
	return out, nil
}

func dirCache(dir, name string) *fileCache {
	p := filepath.Join(dir, name)
	return &fileCache{name: "DIR::" + p, path: p}
}
