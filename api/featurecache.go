package api

import (
	"bytes"
	lru "container/list"
	"context"
	"encoding/json"
	"sync"

	"nexus/geo"
	"nexus/overview"
)

// viewCacheBytes bounds the stored Features the views keep, in bytes.
const viewCacheBytes = 32 << 20

// featureCache keeps the stored Features of the incidents that views sent
// lately, each with the overview's seq of its version (overview.Ref): a
// view reads from the store only the incidents that changed since, or that
// no recent view sent. Panning, zooming and Play ask for much the same
// incidents again and again. The least recently sent go first.
type featureCache struct {
	mu    sync.Mutex
	max   int // bytes
	size  int
	byID  map[string]*lru.Element
	order lru.List // of *cachedFeature, the most recently used first
}

type cachedFeature struct {
	id      string
	seq     int64
	feature []byte
}

func newFeatureCache(max int) *featureCache {
	return &featureCache{max: max, byID: map[string]*lru.Element{}}
}

// features returns the stored Features of the incidents, in no particular
// order: those kept at the same seq from the cache, the others from read
// (the store), which must read them after their seq. Incidents that are
// gone are left out.
func (c *featureCache) features(ctx context.Context, refs []overview.Ref, read func(ctx context.Context, ids []string) ([][]byte, error)) ([][]byte, error) {
	out := make([][]byte, 0, len(refs))
	var miss []string
	seqOf := map[string]int64{}
	c.mu.Lock()
	for _, r := range refs {
		if e, ok := c.byID[r.ID]; ok {
			if cf := e.Value.(*cachedFeature); cf.seq == r.Seq {
				c.order.MoveToFront(e)
				out = append(out, cf.feature)
				continue
			}
		}
		miss = append(miss, r.ID)
		seqOf[r.ID] = r.Seq
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	got, err := read(ctx, miss)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range got {
		out = append(out, f)
		id := featureID(f)
		seq, ok := seqOf[id]
		if !ok {
			continue
		}
		// Read after seq: the version of seq or a later one. Kept under
		// seq, it is only ever taken for a version at least as new.
		c.put(id, seq, f)
	}
	return out, nil
}

// put keeps the Feature of id at seq, dropping the least recently used
// beyond the bound.
func (c *featureCache) put(id string, seq int64, f []byte) {
	if len(f) > c.max/16 {
		return
	}
	if e, ok := c.byID[id]; ok {
		cf := e.Value.(*cachedFeature)
		c.size += len(f) - len(cf.feature)
		cf.seq, cf.feature = seq, f
		c.order.MoveToFront(e)
	} else {
		c.byID[id] = c.order.PushFront(&cachedFeature{id: id, seq: seq, feature: f})
		c.size += len(f) + len(id)
	}
	for c.size > c.max {
		e := c.order.Back()
		cf := e.Value.(*cachedFeature)
		c.order.Remove(e)
		delete(c.byID, cf.id)
		c.size -= len(cf.feature) + len(cf.id)
	}
}

// featurePrefix is how a stored Feature of this server begins.
var featurePrefix = []byte(`{"type":"Feature","id":"`)

// featureID is the top-level id of a stored Feature, "" if it has none.
func featureID(f []byte) string {
	if rest, ok := bytes.CutPrefix(f, featurePrefix); ok {
		if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end])
		}
	}
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(f, &v) != nil {
		return ""
	}
	return v.ID
}

// viewFeatures reads the stored Features of the incidents a view sends,
// through the cache.
func (s *Server) viewFeatures(ctx context.Context, refs []overview.Ref) ([][]byte, error) {
	return s.viewCache.features(ctx, refs, func(ctx context.Context, ids []string) ([][]byte, error) {
		return s.cfg.Store.Features(ctx, geo.Incidents, ids)
	})
}
