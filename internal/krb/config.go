// This file loads krb5.conf. gokrb5's parser ignores the include and
// includedir directives MIT krb5 supports (krb5.conf(5), "Including other
// files"), which Debian and Fedora use for /etc/krb5.conf.d, so the text is
// expanded here first and then handed to gokrb5.

package krb

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jcmturner/gokrb5/v8/config"

	"github.com/negotiate-go/negotiate/internal/gss"
)

const (
	// maxIncludeDepth bounds nested includes (and so include cycles).
	maxIncludeDepth = 8
	// maxConfigFiles bounds how many files one krb5.conf may read with
	// its includes, so that files including each other many times over
	// cannot make loading take forever (the sizes are bounded in guard.go).
	maxConfigFiles = 256
	// maxConfigLines bounds the lines of settings handed to gokrb5's
	// parser (see parseConfig); real files have tens.
	maxConfigLines = 10000
)

// LoadConfig reads the krb5.conf at path, with its include and includedir
// directives expanded, and parses it. Directives gokrb5 does not support
// are ignored, as MIT krb5 ignores relations it does not know. A file
// over 1 MiB, a text over 4 MiB with its includes, more than 256 files or
// includes nested deeper than 8 are refused; such errors, and a text
// gokrb5 cannot parse at all, wrap gss.ErrNoCredentials.
func LoadConfig(path string) (*config.Config, error) {
	ex := expander{seen: map[string]bool{}}
	if err := ex.expand(path, 0); err != nil {
		return nil, err
	}
	return parseConfig(ex.b.String())
}

// DefaultConfig loads the file KRB5_CONFIG names (the first of a
// colon-separated list that exists), else /etc/krb5.conf.
func DefaultConfig() (*config.Config, error) {
	if env := os.Getenv("KRB5_CONFIG"); env != "" {
		var first error
		for _, p := range filepath.SplitList(env) {
			if p == "" {
				continue
			}
			cfg, err := LoadConfig(p)
			if err == nil {
				return cfg, nil
			}
			if first == nil {
				first = err
			}
		}
		if first != nil {
			return nil, first
		}
	}
	return LoadConfig("/etc/krb5.conf")
}

// parseConfig parses expanded krb5.conf text. Sections are merged by name
// first: gokrb5 keeps only the last [realms] (or [libdefaults]) section it
// sees, while included files commonly add sections of the same name.
// Only what gokrb5 reads is handed to it: the sections and subsections it
// knows (see subsectionDepth), without blank lines and comments, and at
// most maxConfigLines lines, as it spends tens of microseconds on each
// line (it compiles five regular expressions per line).
func parseConfig(text string) (*config.Config, error) {
	var order []string
	sections := map[string][]string{}
	cur := ""
	depth, keep, lines := 0, 0, 0
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			cur = strings.ToLower(strings.TrimSpace(t[1 : len(t)-1]))
			if _, ok := sections[cur]; !ok {
				order = append(order, cur)
				sections[cur] = nil
			}
			depth, keep = 0, subsectionDepth(cur)
			continue
		}
		if cur == "" || keep < 0 {
			continue // outside any section, or in one gokrb5 skips
		}
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue // krb5.conf(5): comments start with # or ;
		}
		// krb5.conf(5): "name = {" opens a subsection, "}" closes it.
		drop := false
		switch {
		case strings.HasPrefix(t, "}"):
			drop = depth > keep
			if depth > 0 {
				depth-- // a stray "}" is left for gokrb5 to refuse
			}
		case strings.HasSuffix(t, "{"):
			depth++
			drop = depth > keep
		default:
			drop = depth > keep
		}
		if !drop {
			if lines++; lines > maxConfigLines {
				return nil, fmt.Errorf("negotiate: krb5.conf has more than %d lines of settings: %w", maxConfigLines, gss.ErrNoCredentials)
			}
			sections[cur] = append(sections[cur], line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("negotiate: reading krb5.conf: %w", err)
	}
	var b strings.Builder
	for _, name := range order {
		fmt.Fprintf(&b, "[%s]\n", name)
		for _, l := range sections[name] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	var cfg *config.Config
	gerr := guard("krb5.conf", gss.ErrNoCredentials, func() error {
		gs := bufio.NewScanner(strings.NewReader(b.String()))
		gs.Buffer(make([]byte, 64*1024), 1<<20) // as long lines as ours
		var err error
		cfg, err = config.NewFromScanner(gs)
		return err
	})
	if errors.Is(gerr, errPanicked) {
		return nil, gerr
	}
	if err := gerr; err != nil {
		var unsupported config.UnsupportedDirective
		if !errors.As(err, &unsupported) || cfg == nil {
			return nil, fmt.Errorf("negotiate: parsing krb5.conf: %w (%w)", gss.ErrNoCredentials, err)
		}
	}
	applyEnctypeDefaults(cfg, strings.Join(sections["libdefaults"], "\n"))
	return cfg, nil
}

// subsectionDepth is how deep gokrb5 reads the subsections of a krb5.conf
// section: one level in [realms] (the realms themselves), none in
// [libdefaults] and [domain_realm], and -1 for the sections it skips whole
// ([capaths], [appdefaults], [plugins] ...). Deeper subsections, valid for
// MIT krb5 (a realm's auth_to_local_names, a realm-specific [libdefaults]
// block), hold nothing gokrb5 uses and would make gokrb5 v8.4.4 fail or
// panic (index out of range).
func subsectionDepth(section string) int {
	switch section {
	case "realms":
		return 1
	case "libdefaults", "domain_realm":
		return 0
	}
	return -1
}

// expander expands the include and includedir directives of a krb5.conf
// into one text, within the limits of maxIncludeDepth, maxConfigFiles,
// maxConfigFileSize and maxConfigSize.
type expander struct {
	b     strings.Builder
	seen  map[string]bool // the files being expanded, to find cycles
	files int             // the files read so far
}

// expand appends the text of the file at path to e.b, with every
// "include FILE" line replaced by FILE's expanded text and every
// "includedir DIR" line by the expanded text of DIR's files.
func (e *expander) expand(path string, depth int) error {
	if depth > maxIncludeDepth {
		return fmt.Errorf("negotiate: krb5.conf includes nested deeper than %d at %s: %w", maxIncludeDepth, path, gss.ErrNoCredentials)
	}
	if e.files++; e.files > maxConfigFiles {
		return fmt.Errorf("negotiate: krb5.conf and its includes are more than %d files: %w", maxConfigFiles, gss.ErrNoCredentials)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("negotiate: krb5.conf: %w", err)
	}
	if e.seen[abs] {
		return fmt.Errorf("negotiate: krb5.conf include cycle at %s", path)
	}
	e.seen[abs] = true
	defer delete(e.seen, abs)
	data, err := readFileLimited(path, maxConfigFileSize)
	var big *errTooLarge
	if errors.As(err, &big) {
		return fmt.Errorf("negotiate: reading krb5.conf: %w (%w)", gss.ErrNoCredentials, err)
	}
	if err != nil {
		return fmt.Errorf("negotiate: reading krb5.conf: %w", err)
	}
	b := &e.b
	// header is this file's current section: an included file is parsed
	// on its own in MIT krb5, so the lines after an include line are still
	// in the includer's section.
	header := ""
	resume := func() {
		if header != "" {
			b.WriteString(header)
			b.WriteByte('\n')
		}
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			header = t
		}
		// The directives must start the line (krb5.conf(5)).
		switch {
		case strings.HasPrefix(line, "include ") || strings.HasPrefix(line, "include\t"):
			file := strings.TrimSpace(line[len("include"):])
			if err := e.expand(file, depth+1); err != nil {
				return err
			}
			resume()
		case strings.HasPrefix(line, "includedir ") || strings.HasPrefix(line, "includedir\t"):
			dir := strings.TrimSpace(line[len("includedir"):])
			ents, err := os.ReadDir(dir)
			if err != nil {
				return fmt.Errorf("negotiate: krb5.conf includedir: %w", err)
			}
			names := make([]string, 0, len(ents))
			for _, e := range ents {
				if !e.IsDir() && includable(e.Name()) {
					names = append(names, e.Name())
				}
			}
			sort.Strings(names)
			for _, n := range names {
				if err := e.expand(filepath.Join(dir, n), depth+1); err != nil {
					return err
				}
			}
			resume()
		case strings.HasPrefix(line, "module ") || strings.HasPrefix(line, "module\t"):
			// Plugin modules: nothing we can load.
		default:
			b.WriteString(line)
			b.WriteByte('\n')
		}
		if b.Len() > maxConfigSize {
			return fmt.Errorf("negotiate: krb5.conf with its includes is larger than %d bytes: %w", maxConfigSize, gss.ErrNoCredentials)
		}
	}
	return nil
}

// includable reports whether includedir takes the file name: names of
// letters, digits, dashes and underscores only, or ending in ".conf" and
// not starting with "." (krb5.conf(5), MIT krb5 1.15 and later).
func includable(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	if strings.HasSuffix(name, ".conf") {
		return true
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return name != ""
}
