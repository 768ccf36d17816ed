package geo

// ActorSummary is one actor of the actor list: how many records of each
// collection name it, when it was first and last seen, and where.
type ActorSummary struct {
	Name      string   `json:"name"`      // canonical
	Spellings []string `json:"spellings"` // as the records spell it
	Incidents int64    `json:"incidents"`
	Routes    int64    `json:"routes"`
	Links     int64    `json:"links"`
	FirstSeen string   `json:"first_seen,omitempty"` // YYYY-MM-DD: the earliest start of a dated record
	LastSeen  string   `json:"last_seen,omitempty"`  // YYYY-MM-DD: the latest end of a dated record
	Countries []Count  `json:"countries"`            // incidents and routes by country, most first
}

// Records is how many records name the actor.
func (a *ActorSummary) Records() int64 { return a.Incidents + a.Routes + a.Links }

// Connection is one record that joins an actor to a neighbour.
type Connection struct {
	Collection Collection `json:"collection"`
	ID         string     `json:"id"`
	Kind       string     `json:"kind"` // incident type, route commodity or link relation
}

// Neighbour is an actor that shares records with another: explicit links
// and co-occurrence in the same incident or route.
type Neighbour struct {
	Name    string       `json:"name"`
	Links   int64        `json:"links"`          // links between the two
	Records int64        `json:"records"`        // incidents and routes naming both
	Through []Connection `json:"through"`        // the records that connect them, links first, at most a limit
	More    bool         `json:"more,omitempty"` // more records connect them than Through lists
}

// MergeActorCounts turns counts by spelling (case aside) into counts by
// actor under the canonical names of the alias table, so that a record
// counts once per actor whatever spellings of it it lists: for each actor
// with several spellings among the counts, twice tells how many more times
// the matching records list those spellings than there are such records.
// Every engine's Stats by actor answers through it.
func MergeActorCounts(a *Aliases, bySpelling []Count, twice func(spellings []string) (int64, error)) ([]Count, error) {
	out := []Count{}
	at := map[string]int{}
	var spellings [][]string
	for _, c := range bySpelling {
		name := a.Canonical(c.Key)
		k := ActorKey(name)
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, Count{Key: name})
			spellings = append(spellings, nil)
		}
		out[i].Count += c.Count
		spellings[i] = append(spellings[i], c.Key)
	}
	for i, s := range spellings {
		if len(s) < 2 {
			continue
		}
		n, err := twice(s)
		if err != nil {
			return nil, err
		}
		out[i].Count -= n
	}
	return out, nil
}
