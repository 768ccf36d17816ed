package live

import (
	"slices"
	"testing"
)

func TestRecentKeepsTheNewestInOrder(t *testing.T) {
	r := recent{buf: make([]cached, 4)}
	seqs := func(cs []cached) (out []int64) {
		for _, c := range cs {
			out = append(out, c.seq)
		}
		return out
	}
	if _, ok := r.after(0, 10, nil); ok {
		t.Fatal("an empty ring claims to reach back to 0")
	}
	for seq := int64(1); seq <= 6; seq++ { // 1 and 2 fall out
		r.add(cached{seq: seq})
	}
	for _, tc := range []struct {
		pos  int64
		max  int
		want []int64
		ok   bool
	}{
		{pos: 0, max: 10, ok: false},            // 1 is gone
		{pos: 1, max: 10, want: nil, ok: false}, // 2 is gone
		{pos: 2, max: 10, want: []int64{3, 4, 5, 6}, ok: true},
		{pos: 3, max: 2, want: []int64{4, 5}, ok: true}, // at most max
		{pos: 6, max: 10, want: nil, ok: true},          // up to date
	} {
		got, ok := r.after(tc.pos, tc.max, nil)
		if ok != tc.ok || !slices.Equal(seqs(got), tc.want) {
			t.Errorf("after(%d, %d) = %v %v, want %v %v", tc.pos, tc.max, seqs(got), ok, tc.want, tc.ok)
		}
	}
}
