// Package parallel spreads the work of a loop over every core.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(0) … f(n-1) on every core, in chunks, and returns when all
// calls have returned.
func For(n int, f func(int)) { forChunks(n, 64, f) }

// Each is For for a few long calls: each core takes one index at a time.
func Each(n int, f func(int)) { forChunks(n, 1, f) }

func forChunks(n, chunk int, f func(int)) {
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(int64(chunk))) - chunk
			if i >= n {
				return
			}
			for k := i; k < min(i+chunk, n); k++ {
				f(k)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (n+chunk-1)/chunk) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
