package negotiate

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestResend(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(live)
	cancel()
	body := func(kind string) func(*http.Request) *replayBody {
		return func(req *http.Request) *replayBody {
			switch kind {
			case "none":
			case "buffered":
				req.Body = io.NopCloser(strings.NewReader("data"))
			case "getbody":
				req.Body = io.NopCloser(strings.NewReader("data"))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("data")), nil }
				req.ContentLength = 4
			case "oneshot", "oneshot-read":
				req.Body = io.NopCloser(strings.NewReader("data"))
				req.ContentLength = 4
			}
			limit := int64(1 << 10)
			if strings.HasPrefix(kind, "oneshot") {
				limit = 1
			}
			rb, err := newReplayBody(req, limit)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "oneshot-read" {
				rb.oneShot.Read(make([]byte, 1))
			}
			return rb
		}
	}
	cases := []struct {
		method string
		header string // a header set on the request, "" for none
		body   string
		ctx    context.Context
		fate   sendFate
		want   bool
	}{
		// Not written: always, once, while the context lives and the body can go.
		{"POST", "", "buffered", live, notWritten, true},
		{"POST", "", "oneshot", live, notWritten, true},
		{"POST", "", "oneshot-read", live, notWritten, false},
		{"POST", "", "buffered", done, notWritten, false},
		// Refused (a challenge, HTTP_1_1_REQUIRED): as not written.
		{"PATCH", "", "getbody", live, refused, true},
		{"DELETE", "", "none", done, refused, false},
		// May have run: idempotent and replayable only.
		{"GET", "", "none", live, mayHaveRun, true},
		{"", "", "none", live, mayHaveRun, true},
		{"HEAD", "", "none", live, mayHaveRun, true},
		{"OPTIONS", "", "buffered", live, mayHaveRun, true},
		{"TRACE", "", "getbody", live, mayHaveRun, true},
		{"GET", "", "oneshot", live, mayHaveRun, false},
		{"GET", "", "none", done, mayHaveRun, false},
		{"POST", "", "none", live, mayHaveRun, false},
		{"POST", "", "buffered", live, mayHaveRun, false},
		{"PUT", "", "getbody", live, mayHaveRun, false},
		{"DELETE", "", "none", live, mayHaveRun, false},
		{"PATCH", "", "buffered", live, mayHaveRun, false},
		{"POST", "Idempotency-Key", "buffered", live, mayHaveRun, true},
		{"DELETE", "X-Idempotency-Key", "none", live, mayHaveRun, true},
		{"POST", "Idempotency-Key", "oneshot", live, mayHaveRun, false},
		{"POST", "Idempotency-Key", "getbody", done, mayHaveRun, false},
		{"POST", "X-Request-Id", "none", live, mayHaveRun, false},
	}
	fates := map[sendFate]string{notWritten: "not written", refused: "refused", mayHaveRun: "may have run"}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, "http://h/", nil)
		req.Method = c.method
		if c.header != "" {
			req.Header[c.header] = []string{"k1"}
		}
		rb := body(c.body)(req)
		alive := "live"
		if c.ctx.Err() != nil {
			alive = "done"
		}
		if got := resend(c.ctx, req, rb, c.fate); got != c.want {
			t.Errorf("resend(%q %s, %s body, %s, %s) = %v; want %v", c.method, c.header, c.body, alive, fates[c.fate], got, c.want)
		}
	}
}
