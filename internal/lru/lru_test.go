package lru

import "testing"

func TestCache(t *testing.T) {
	c := New[string, int](2)
	c.Put("a", 1)
	c.Put("b", 2)
	c.Get("a") // b is now the least recently used
	c.Put("c", 3)
	if _, ok := c.Get("b"); ok {
		t.Errorf("b survived; want the least recently used entry forgotten")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Errorf("Get(a) = %d, %v; want 1, true", v, ok)
	}
	if got := c.Add("a", 9, func(int) bool { return true }); got != 1 {
		t.Errorf("Add over a kept value = %d; want the stored 1", got)
	}
	if got := c.Add("a", 9, func(int) bool { return false }); got != 9 {
		t.Errorf("Add over a value not kept = %d; want 9", got)
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d; want 2", c.Len())
	}
	c.Remove("a")
	if _, ok := c.Get("a"); ok || c.Len() != 1 {
		t.Errorf("after Remove(a): Get(a) found it or Len = %d; want gone, 1", c.Len())
	}
}
