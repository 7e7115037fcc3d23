package negotiate

import (
	"net/http"
	"strings"
	"testing"
)

// chain makes the request http.Client sends after following redirects
// through urls (the caller's first).
func chain(t *testing.T, urls ...string) *http.Request {
	t.Helper()
	var prev *http.Request
	for _, u := range urls {
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			req.Response = &http.Response{StatusCode: http.StatusFound, Request: prev}
		}
		prev = req
	}
	return prev
}

func TestHostAllowed(t *testing.T) {
	trustH := func(host string) bool { return host == "h" }
	cases := []struct {
		urls  []string
		trust func(string) bool
		want  bool
	}{
		{[]string{"https://h:8443/a"}, nil, true},
		{[]string{"http://h/a"}, nil, true},
		{[]string{"https://h:8443/a", "https://h:8443/b"}, nil, true},
		{[]string{"https://H:443/a", "https://h/b"}, nil, true},
		// Another scheme on the same host and port: another origin.
		{[]string{"https://h:8080/a", "http://h:8080/b"}, nil, false},
		{[]string{"http://h:8080/a", "https://h:8080/b"}, nil, false},
		{[]string{"http://h:8080/a", "https://h:8080/b"}, trustH, true},
		// Never plain HTTP after HTTPS, even trusted.
		{[]string{"https://h:8080/a", "http://h:8080/b"}, trustH, false},
		{[]string{"https://h/a", "https://o/b", "http://h/c"}, trustH, false},
		{[]string{"https://o/a", "http://h/b"}, trustH, false},
		// Another host or port.
		{[]string{"https://h/a", "https://o/b"}, nil, false},
		{[]string{"https://h/a", "https://h:444/b"}, nil, false},
		{[]string{"https://o/a", "https://h/b"}, trustH, true},
		{[]string{"http://o/a", "http://h/b"}, trustH, true},
	}
	for _, c := range cases {
		tr := &Transport{TrustHost: c.trust}
		if got := tr.hostAllowed(chain(t, c.urls...)); got != c.want {
			t.Errorf("hostAllowed(%q, trust h %v) = %v; want %v", strings.Join(c.urls, " -> "), c.trust != nil, got, c.want)
		}
	}
}
