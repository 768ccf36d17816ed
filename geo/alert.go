package geo

import (
	"encoding/json"
	"time"
)

// StoredWatch is a watch area as the database holds it.
type StoredWatch struct {
	ID      string
	Owner   string
	Version int64
	Since   int64  // the change-log seq when it was created: it sees later changes
	Feature []byte // the encoded Feature, without the webhook secret
	// Secret is the webhook's signing secret, set only by the write that
	// made it: it is shown once.
	Secret string
}

// WatchState is a watch as the alert evaluator sees it.
type WatchState struct {
	ID    string
	Owner string
	Since int64
	Watch *Watch // nil: the watch was deleted
}

// Alert says that a change of the log made a record enter, change inside
// or leave a watch area. A watch has at most one alert per seq.
type Alert struct {
	Watch      string          `json:"watch"`
	Seq        int64           `json:"seq"`
	Event      string          `json:"event"`
	Collection Collection      `json:"collection"`
	ID         string          `json:"id"` // the record's
	Time       time.Time       `json:"time"`
	Read       bool            `json:"read"`
	Feature    json.RawMessage `json:"feature,omitempty"`
}

// Delivery is one alert to POST to a webhook.
type Delivery struct {
	DID      int64
	Watch    string
	Seq      int64
	URL      string
	Body     []byte
	Secret   string
	Attempts int
}

// AlertQuery selects alerts: of one watch, or of every watch of an owner.
type AlertQuery struct {
	Watch  string
	Owner  string
	Before int64 // only alerts with a smaller seq; 0: from the newest
	Limit  int
	Unread bool // only unread alerts
}

// Attempt is the outcome of one try of a delivery.
type Attempt struct {
	Attempt  int           `json:"attempt"`
	Time     time.Time     `json:"time"`
	Status   int           `json:"status"` // HTTP status; 0 when there was no answer
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"-"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // given up after the last try
)

// DeliveryLog is one delivery of a watch with its tries.
type DeliveryLog struct {
	Seq      int64     `json:"seq"`
	URL      string    `json:"url"`
	State    string    `json:"state"`
	Created  time.Time `json:"created"`
	Attempts []Attempt `json:"attempts"`
}
