package store

import (
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"modernc.org/sqlite"
)

// Stored Features are packed: compressed with S2 against a dictionary of
// sample Features kept in the database (table dictionaries). The Features
// of one data set share most of their text (keys, types, sources, the
// form of dates and ids), so a Feature packed against a few dozen of its
// kind takes a fifth of its size, and unpacks in a microsecond.
//
// A packed Feature is the byte packedS2, the key of its dictionary (8
// bytes, big endian) and the S2 block. Anything else is a Feature as
// written before packing (its JSON text, which starts with '{'), read as
// it is. The key is the first 8 bytes of the SHA-256 of the dictionary, so
// a key names the same dictionary in every database this process opens,
// and the dictionaries can be kept in one map for all of them.

// packedS2 is the first byte of a packed Feature.
const packedS2 = 0x01

// dictTarget is how many bytes of sample Features a dictionary is made
// of, at most: more found no more repetitions in the data sets tried.
const dictTarget = 32 << 10

// dictionary is one dictionary of sample Features.
type dictionary struct {
	key  int64
	data []byte // as stored: s2.Dict.Bytes
	s2   *s2.Dict
}

// dicts holds the dictionaries read or made by this process, by key.
var dicts sync.Map

// openPaths counts the databases open in this process, by file path:
// where a dictionary missing from dicts (made by another process) is
// looked for.
var openPaths = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

func init() {
	// nexus_feature(blob) is the JSON text of a stored Feature, for
	// json_extract and json_each.
	sqlite.MustRegisterFunction("nexus_feature", &sqlite.FunctionImpl{NArgs: 1, Deterministic: true, VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case []byte:
				b, err := unpack(nil, v)
				if err != nil {
					return nil, err
				}
				return string(b), nil
			case string:
				return string([]byte(v)), nil
			}
			return args[0], nil
		}})
}

// dictKey is the key of a dictionary's stored bytes.
func dictKey(data []byte) int64 {
	h := sha256.Sum256(data)
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// loadDictionary makes a dictionary of its stored bytes and keeps it.
func loadDictionary(data []byte) (*dictionary, error) {
	d := s2.NewDict(data)
	if d == nil {
		return nil, errors.New("a stored Feature dictionary is invalid")
	}
	dict := &dictionary{key: dictKey(data), data: data, s2: d}
	if have, loaded := dicts.LoadOrStore(dict.key, dict); loaded {
		return have.(*dictionary), nil
	}
	return dict, nil
}

// makeDictionary makes a dictionary of up to dictTarget bytes of the
// features, taken evenly from all of them; nil when they are too few.
func makeDictionary(features [][]byte) *dictionary {
	total := 0
	for _, f := range features {
		total += len(f)
	}
	step := max(1, total/dictTarget)
	var sample []byte
	for i := 0; i < len(features) && len(sample) < dictTarget; i += step {
		sample = append(sample, features[i]...)
	}
	if len(sample) > s2.MaxDictSize {
		sample = sample[len(sample)-s2.MaxDictSize:]
	}
	d := s2.MakeDict(sample, []byte(`{"type":"Feature","id":"`))
	if d == nil {
		return nil
	}
	data := d.Bytes()
	dict, err := loadDictionary(data)
	if err != nil {
		return nil
	}
	return dict
}

// packFeature returns the packed form of a Feature, or the Feature itself
// with no dictionary.
func packFeature(d *dictionary, feature []byte) []byte {
	if d == nil {
		return feature
	}
	out := make([]byte, 9, 9+s2.MaxEncodedLen(len(feature)))
	out[0] = packedS2
	binary.BigEndian.PutUint64(out[1:], uint64(d.key))
	block := d.s2.Encode(out[9:cap(out)], feature)
	return out[:9+len(block)]
}

// unpack returns the Feature of a stored blob: the blob itself when it
// is not packed, otherwise the unpacked Feature, in dst's memory when it
// has room.
func unpack(dst, blob []byte) ([]byte, error) {
	if len(blob) == 0 || blob[0] != packedS2 {
		return blob, nil
	}
	if len(blob) < 9 {
		return nil, errors.New("a stored Feature is truncated")
	}
	key := int64(binary.BigEndian.Uint64(blob[1:9]))
	d, err := lookupDictionary(key)
	if err != nil {
		return nil, err
	}
	out, err := d.s2.Decode(dst[:cap(dst)], blob[9:])
	if err != nil {
		return nil, fmt.Errorf("a stored Feature: %w", err)
	}
	return out, nil
}

// lookupDictionary finds a dictionary by key: in memory, or else in the
// databases open in this process (another process may have made it since
// they were opened), through a connection of its own: the caller may hold
// every pooled one.
func lookupDictionary(key int64) (*dictionary, error) {
	if d, ok := dicts.Load(key); ok {
		return d.(*dictionary), nil
	}
	openPaths.Lock()
	paths := make([]string, 0, len(openPaths.n))
	for p := range openPaths.n {
		paths = append(paths, p)
	}
	openPaths.Unlock()
	for _, p := range paths {
		data, err := readDictionary(p, key)
		if err != nil {
			return nil, err
		}
		if data != nil {
			return loadDictionary(data)
		}
	}
	return nil, fmt.Errorf("a stored Feature names dictionary %x, which no open database holds", uint64(key))
}

// readDictionary reads one dictionary of the database at path; nil when
// it has none of that key.
func readDictionary(path string, key int64) ([]byte, error) {
	conn, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var data []byte
	err = conn.QueryRow("SELECT data FROM dictionaries WHERE key = ?", key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return data, err
}
