package parallel

import (
	"sync/atomic"
	"testing"
)

// Every index below n is given to f exactly once, whatever n is beside
// the chunk size.
func TestForCallsEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 4097} {
		calls := make([]atomic.Int32, n)
		For(n, func(k int) { calls[k].Add(1) })
		for k := range calls {
			if c := calls[k].Load(); c != 1 {
				t.Fatalf("n=%d: f(%d) called %d times", n, k, c)
			}
		}
	}
}

// Each gives every index below n to f exactly once too.
func TestEachCallsEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 17} {
		calls := make([]atomic.Int32, n)
		Each(n, func(k int) { calls[k].Add(1) })
		for k := range calls {
			if c := calls[k].Load(); c != 1 {
				t.Fatalf("n=%d: f(%d) called %d times", n, k, c)
			}
		}
	}
}
