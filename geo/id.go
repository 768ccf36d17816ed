package geo

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"sync"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new record identifier, the same on every engine: 80 bits,
// 16 characters. The first 40 bits are the Unix second it was made in, the
// other 40 count up from a random number drawn anew every second, so that
// the ids of one batch follow each other: they go into the indexes of ids
// at one end, where random ids would touch a page of the index each, which
// a large import writes out again and again.
func NewID() string {
	now := time.Now().Unix()
	ids.mu.Lock()
	if now != ids.second {
		// 39 random bits leave room for 2³⁹ ids in the second.
		var r [8]byte
		rand.Read(r[:])
		ids.second, ids.next = now, binary.BigEndian.Uint64(r[:])>>25
	}
	n := ids.next
	ids.next++
	ids.mu.Unlock()
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now)<<24|n>>16)
	binary.BigEndian.PutUint16(b[8:], uint16(n))
	return idEncoding.EncodeToString(b[:])
}

// ids is the state of NewID: the second of the last id and the count of
// the next.
var ids struct {
	mu     sync.Mutex
	second int64
	next   uint64
}
