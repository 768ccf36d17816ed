package ingest

import (
	"bytes"
	"encoding/json"
	"io"
)

// The features of a collection are read by a quick scanner rather than
// by the json.Decoder: it finds where each feature ends, checks its
// syntax as encoding/json would, and hands over a slice of the bytes it
// read, without copying them. Anything it is not sure of (a syntax error,
// a value nested deeper than it follows, the end of the input, an error
// of the reader, the closing bracket, a feature larger than
// maxQuickFeature) it leaves to the json.Decoder, rebuilt to stand where it
// would have stood: after the last element read, inside the array. Errors
// are then found and named as they always were, and after an element the
// json.Decoder read, the quick scanner takes over again.

// chunkSize is how much input the quick scanner reads at a time, in bytes.
// Features read are slices of these chunks, which are never written again.
const chunkSize = 256 << 10

// maxQuickDepth is the deepest nesting the quick scanner follows.
const maxQuickDepth = 512

// The quick scanner scans a feature again from its start after each read
// it needs for it: a feature larger than maxQuickFeature bytes, or one
// that took more than maxScans reads, is left to the json.Decoder, which
// scans each byte once.
const (
	maxQuickFeature = 1 << 20
	maxScans        = 16
)

// quickElements imports the elements of an array of features, from where
// j.dec stands in it, for as long as the quick scanner can, then leaves
// j.dec after the last element it imported. inObject says the array is
// the member of a top-level object (a FeatureCollection's features); else
// it is a top-level array. after says j.dec stands after an element, not
// after the opening bracket; read, that the scanner imported one.
func (j *jsonReader) quickElements(inObject, after bool) (read bool, err error) {
	rest := io.MultiReader(j.dec.Buffered(), j.src)
	c := chunks{r: rest, off: j.base + j.dec.InputOffset()}
	c.buf = make([]byte, 0, chunkSize)
	q := 0 // where j.dec will stand: after the last element, or after the bracket
	for {
		if err := j.im.ctx.Err(); err != nil {
			return read, err
		}
		i := q
		more := true
		// A comma, after an element; then the element's first byte.
		for more {
			i = skipBlank(c.buf, i)
			if i < len(c.buf) {
				break
			}
			i, q, more = c.fill(i, q)
		}
		if !more || (after && c.buf[i] != ',') || (!after && c.buf[i] == ']') {
			break
		}
		if after {
			i++
			for more {
				i = skipBlank(c.buf, i)
				if i < len(c.buf) {
					break
				}
				i, q, more = c.fill(i, q)
			}
			if !more {
				break
			}
		}
		// The element.
		start := i
		end, status := valueEnd(c.buf, start)
		for scans := 1; status == incomplete && more && scans <= maxScans && len(c.buf)-start <= maxQuickFeature; scans++ {
			j.lines.from = c.off + int64(start)
			start, q, more = c.fill(start, q)
			end, status = valueEnd(c.buf, start)
		}
		j.lines.from = -1
		if status != complete {
			break
		}
		raw := c.buf[start:end:end]
		if err := j.feature(j.lines.lineAt(c.off+int64(start)), raw); err != nil {
			return read, err
		}
		q, after, read = end, true, true
		j.im.quick++
	}
	// The json.Decoder goes on from q, as if it had read the elements.
	var prefix []byte
	if inObject {
		prefix = append(prefix, `{"":`...)
	}
	prefix = append(prefix, '[')
	if after {
		prefix = append(prefix, "{}"...)
	}
	j.base = c.off + int64(q) - int64(len(prefix))
	j.src = io.MultiReader(bytes.NewReader(append(prefix, c.buf[q:]...)), rest)
	j.dec = json.NewDecoder(j.src)
	for j.dec.InputOffset() < int64(len(prefix)) {
		if _, err := j.dec.Token(); err != nil {
			return read, err // cannot happen: the prefix is JSON
		}
	}
	return read, nil
}

// chunks holds the input the quick scanner reads.
type chunks struct {
	r   io.Reader
	buf []byte // the chunk being read
	off int64  // offset in the input of buf[0]
	eof bool   // r has no more, or failed
}

// fill reads more input, keeping the bytes from keep on, and returns
// where i and keep now stand; more is false when the input has no more.
func (c *chunks) fill(i, keep int) (int, int, bool) {
	if c.eof {
		return i, keep, false
	}
	if cap(c.buf)-len(c.buf) < chunkSize/4 {
		// A new chunk: the bytes of the old one may be features in a
		// batch not yet decoded.
		held := len(c.buf) - keep
		next := make([]byte, held, max(chunkSize, 2*held))
		copy(next, c.buf[keep:])
		c.buf, c.off = next, c.off+int64(keep)
		i, keep = i-keep, 0
	}
	n, err := c.r.Read(c.buf[len(c.buf):cap(c.buf)])
	c.buf = c.buf[:len(c.buf)+n]
	if err != nil {
		c.eof = true // the json.Decoder meets the error again, or the end
	}
	return i, keep, n > 0 || !c.eof
}

// skipBlank returns the index of the first byte from i on that is not
// JSON blank space.
func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// Verdicts of valueEnd.
const (
	complete   = iota // a whole value
	incomplete        // the bytes end before the value does
	unsure            // a syntax error, or nesting deeper than maxQuickDepth
)

// valueEnd finds the end of the JSON value that starts at b[i], checking
// its syntax as encoding/json's scanner does. A number at the very end of
// b is incomplete: more digits may follow.
func valueEnd(b []byte, i int) (int, int) {
	var stack [maxQuickDepth]byte // '{' or '[' of each open container
	depth := 0
	for {
		// A value.
		if i >= len(b) {
			return i, incomplete
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth == maxQuickDepth {
				return i, unsure
			}
			stack[depth] = c
			depth++
			i = skipBlank(b, i+1)
			if i >= len(b) {
				return i, incomplete
			}
			if (c == '{' && b[i] == '}') || (c == '[' && b[i] == ']') {
				depth--
				i++
				break
			}
			if c == '{' {
				// The first key.
				var status int
				if i, status = stringEnd(b, i); status != complete {
					return i, status
				}
				if i = skipBlank(b, i); i >= len(b) {
					return i, incomplete
				} else if b[i] != ':' {
					return i, unsure
				}
				if i = skipBlank(b, i+1); i >= len(b) {
					return i, incomplete
				}
			}
			continue
		case '"':
			var status int
			if i, status = stringEnd(b, i); status != complete {
				return i, status
			}
		case 't', 'f', 'n':
			word := "null"
			if c == 't' {
				word = "true"
			} else if c == 'f' {
				word = "false"
			}
			for k := 0; k < len(word); k++ {
				if i+k >= len(b) {
					return i, incomplete
				}
				if b[i+k] != word[k] {
					return i, unsure
				}
			}
			i += len(word)
		default:
			var status int
			if i, status = numberEnd(b, i); status != complete {
				return i, status
			}
		}
		// After a value: the end, a comma or the end of its container.
		for {
			if depth == 0 {
				return i, complete
			}
			if i = skipBlank(b, i); i >= len(b) {
				return i, incomplete
			}
			closing := byte(']')
			if stack[depth-1] == '{' {
				closing = '}'
			}
			if b[i] == closing {
				depth--
				i++
				continue
			}
			if b[i] != ',' {
				return i, unsure
			}
			if i = skipBlank(b, i+1); i >= len(b) {
				return i, incomplete
			}
			if closing == '}' {
				var status int
				if i, status = stringEnd(b, i); status != complete {
					return i, status
				}
				if i = skipBlank(b, i); i >= len(b) {
					return i, incomplete
				} else if b[i] != ':' {
					return i, unsure
				}
				if i = skipBlank(b, i+1); i >= len(b) {
					return i, incomplete
				}
			}
			break
		}
	}
}

// stringEnd finds the end of the string that starts at b[i].
func stringEnd(b []byte, i int) (int, int) {
	if b[i] != '"' {
		return i, unsure
	}
	for i++; i < len(b); i++ {
		if !stringSpecial[b[i]] {
			continue
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, complete
		case c < 0x20:
			return i, unsure
		case c == '\\':
			if i+1 >= len(b) {
				return i, incomplete
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= len(b) {
						return i, incomplete
					}
					if !isHex(b[k]) {
						return i, unsure
					}
				}
				i += 5
			default:
				return i, unsure
			}
		}
	}
	return i, incomplete
}

// stringSpecial marks the bytes that end a string, escape, or may not
// stand in one unescaped.
var stringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20
	}
	return t
}()

// numberEnd finds the end of the number that starts at b[i].
func numberEnd(b []byte, i int) (int, int) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, incomplete
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i)
	default:
		return i, unsure
	}
	if i < len(b) && b[i] == '.' {
		k := skipDigits(b, i+1)
		if k == i+1 {
			if k >= len(b) {
				return k, incomplete
			}
			return k, unsure
		}
		i = k
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		k := skipDigits(b, i)
		if k == i {
			if k >= len(b) {
				return k, incomplete
			}
			return k, unsure
		}
		i = k
	}
	if i >= len(b) {
		return i, incomplete
	}
	return i, complete
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
