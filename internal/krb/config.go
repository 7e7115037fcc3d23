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
)

// maxIncludeDepth bounds nested includes (and so include cycles).
const maxIncludeDepth = 8

// LoadConfig reads the krb5.conf at path, with its include and includedir
// directives expanded, and parses it. Directives gokrb5 does not support
// are ignored, as MIT krb5 ignores relations it does not know.
func LoadConfig(path string) (*config.Config, error) {
	text, err := expandConfig(path, 0, map[string]bool{})
	if err != nil {
		return nil, err
	}
	return parseConfig(text)
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
func parseConfig(text string) (*config.Config, error) {
	var order []string
	sections := map[string][]string{}
	cur := ""
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
			continue
		}
		if cur == "" {
			continue // relations outside any section mean nothing
		}
		sections[cur] = append(sections[cur], line)
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
	cfg, err := config.NewFromString(b.String())
	if err != nil {
		var unsupported config.UnsupportedDirective
		if !errors.As(err, &unsupported) || cfg == nil {
			return nil, fmt.Errorf("negotiate: parsing krb5.conf: %w", err)
		}
	}
	applyEnctypeDefaults(cfg, strings.Join(sections["libdefaults"], "\n"))
	return cfg, nil
}

// expandConfig returns the text of the file at path with every
// "include FILE" line replaced by FILE's expanded text and every
// "includedir DIR" line by the expanded text of DIR's files.
func expandConfig(path string, depth int, seen map[string]bool) (string, error) {
	if depth > maxIncludeDepth {
		return "", fmt.Errorf("negotiate: krb5.conf includes nested deeper than %d at %s", maxIncludeDepth, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("negotiate: krb5.conf: %w", err)
	}
	if seen[abs] {
		return "", fmt.Errorf("negotiate: krb5.conf include cycle at %s", path)
	}
	seen[abs] = true
	defer delete(seen, abs)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("negotiate: reading krb5.conf: %w", err)
	}
	var b strings.Builder
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
			sub, err := expandConfig(file, depth+1, seen)
			if err != nil {
				return "", err
			}
			b.WriteString(sub)
			resume()
		case strings.HasPrefix(line, "includedir ") || strings.HasPrefix(line, "includedir\t"):
			dir := strings.TrimSpace(line[len("includedir"):])
			ents, err := os.ReadDir(dir)
			if err != nil {
				return "", fmt.Errorf("negotiate: krb5.conf includedir: %w", err)
			}
			names := make([]string, 0, len(ents))
			for _, e := range ents {
				if !e.IsDir() && includable(e.Name()) {
					names = append(names, e.Name())
				}
			}
			sort.Strings(names)
			for _, n := range names {
				sub, err := expandConfig(filepath.Join(dir, n), depth+1, seen)
				if err != nil {
					return "", err
				}
				b.WriteString(sub)
			}
			resume()
		case strings.HasPrefix(line, "module ") || strings.HasPrefix(line, "module\t"):
			// Plugin modules: nothing we can load.
		default:
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
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
