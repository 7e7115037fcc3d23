package krb

import (
	"fmt"
	"testing"
	"time"
)

func TestClientExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tgt  *cred
		want bool
	}{
		{"no TGT yet", nil, false},
		{"valid", &cred{end: now.Add(time.Hour)}, false},
		{"expired", &cred{end: now.Add(-time.Second)}, true},
		{"expired, renewable", &cred{end: now.Add(-time.Second), renewable: true, renewTill: now.Add(time.Hour)}, false},
		{"expired, renewal over", &cred{end: now.Add(-time.Hour), renewable: true, renewTill: now.Add(-time.Second)}, true},
	}
	for _, tt := range tests {
		c := NewPasswordClient("u", "R", "p", nil)
		c.tgt = tt.tgt
		if got := c.Expired(now); got != tt.want {
			t.Errorf("%s: Expired = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestClientTicketsBounded(t *testing.T) {
	c := NewPasswordClient("u", "R", "p", nil)
	now := time.Now()
	for i := range maxTickets + 100 {
		c.mu.Lock()
		c.storeTicket(fmt.Sprintf("HTTP/h%d@R", i), &cred{end: now.Add(time.Hour)})
		c.mu.Unlock()
	}
	if n := len(c.tickets); n > maxTickets {
		t.Errorf("%d service tickets kept; want at most %d", n, maxTickets)
	}
	if c.cached(fmt.Sprintf("HTTP/h%d@R", maxTickets+99)) == nil {
		t.Errorf("the newest ticket was dropped")
	}
}
