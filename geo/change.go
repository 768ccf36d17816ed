package geo

import (
	"encoding/json"
	"time"
)

// Operations recorded in the change log.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Change is one entry of the change log: what happened to which record,
// by whom and when, with the record before and after as GeoJSON Features.
type Change struct {
	Seq        int64           `json:"seq"`
	Collection Collection      `json:"collection"`
	ID         string          `json:"id"`
	Op         string          `json:"op"`
	Version    int64           `json:"version"`
	Actor      string          `json:"actor"`
	Time       time.Time       `json:"time"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	// Restored is the earlier version an update restored; 0 for any
	// other change.
	Restored int64 `json:"restored,omitempty"`
}

// Records decodes the record before and after the change (nil where absent).
func (c *Change) Records() (before, after Record, err error) {
	if len(c.Before) > 0 {
		if before, err = DecodeFeature(c.Collection, c.Before); err != nil {
			return nil, nil, err
		}
	}
	if len(c.After) > 0 {
		if after, err = DecodeFeature(c.Collection, c.After); err != nil {
			return nil, nil, err
		}
	}
	return before, after, nil
}
