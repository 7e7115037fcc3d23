package authscheme

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestChallengeLimits(t *testing.T) {
	list := func(n int) string { return strings.TrimSuffix(strings.Repeat("NTLM, ", n), ", ") }
	cases := []struct {
		name   string
		lines  []string
		wantN  int
		wantOK bool
	}{
		{"32 challenges", []string{list(MaxChallengesPerLine)}, MaxChallengesPerLine, true},
		{"33 challenges", []string{list(MaxChallengesPerLine + 1)}, 0, false},
		{"33 on two lines", []string{list(MaxChallengesPerLine), "Negotiate"}, MaxChallengesPerLine + 1, true},
		{"longest token68", []string{"Negotiate " + strings.Repeat("A", MaxToken68Length)}, 1, true},
		{"token68 too long", []string{"Negotiate " + strings.Repeat("A", MaxToken68Length+1)}, 0, false},
		{"largest field", []string{"Basic realm=\"" + strings.Repeat("r", MaxChallengeBytes-14) + "\""}, 1, true},
		{"field too large", []string{"Basic realm=\"" + strings.Repeat("r", MaxChallengeBytes-13) + "\""}, 0, false},
		{"lines too large together", []string{"NTLM" + strings.Repeat(" ", MaxChallengeBytes/2), "Negotiate" + strings.Repeat(" ", MaxChallengeBytes/2)}, 0, false},
	}
	for _, c := range cases {
		cs, err := ParseChallenges(http.Header{"Www-Authenticate": c.lines}, "WWW-Authenticate")
		if (err == nil) != c.wantOK || len(cs) != c.wantN {
			t.Errorf("ParseChallenges(%s) = %d challenges, %v; want %d, ok %v", c.name, len(cs), err, c.wantN, c.wantOK)
		}
		if err != nil && !errors.Is(err, ErrMalformedChallenge) {
			t.Errorf("ParseChallenges(%s) error %v; want ErrMalformedChallenge", c.name, err)
		}
	}
}
