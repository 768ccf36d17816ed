package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"nexus/ingest"
)

// progressLine is one line of an import's progress stream.
type progressLine struct {
	Type    string         `json:"type"`
	Bytes   int64          `json:"bytes"`
	Rows    int64          `json:"rows"`
	Report  *ingest.Report `json:"report"`
	Problem *struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	} `json:"problem"`
}

// startImport posts a body that the test writes as it goes, asking for
// the progress stream, and returns the body's writer and the lines.
func startImport(t *testing.T, e *env) (io.WriteCloser, *bufio.Scanner, *http.Response) {
	t.Helper()
	pr, pw := io.Pipe()
	hr, err := http.NewRequest("POST", e.URL+"/api/import", pr)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+e.editor)
	hr.Header.Set("Content-Type", "application/geo+json")
	hr.Header.Set("Accept", "application/x-ndjson")
	got := make(chan *http.Response, 1)
	fail := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(hr)
		if err != nil {
			fail <- err
			return
		}
		got <- res
	}()
	pw.Write([]byte(`{"type":"FeatureCollection","features":[`))
	select {
	case res := <-got:
		t.Cleanup(func() { res.Body.Close() })
		return pw, bufio.NewScanner(res.Body), res
	case err := <-fail:
		t.Fatal(err)
	}
	return nil, nil, nil
}

func readLine(t *testing.T, sc *bufio.Scanner) progressLine {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("the stream ended: %v", sc.Err())
	}
	var l progressLine
	if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
		t.Fatalf("line %s: %v", sc.Bytes(), err)
	}
	return l
}

// TestImportProgress: with Accept: application/x-ndjson the import answers
// while the body is still arriving, with progress lines, and ends with the
// report; a body that breaks ends with the problem.
func TestImportProgress(t *testing.T) {
	e := newEnv(t)
	t.Run("report", func(t *testing.T) {
		body, lines, res := startImport(t, e)
		if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "application/x-ndjson" {
			t.Fatalf("status %d, type %q", res.StatusCode, ct)
		}
		// The answer began before the body ended.
		if l := readLine(t, lines); l.Type != "progress" {
			t.Fatalf("first line %+v", l)
		}
		for i := range 30 {
			if i > 0 {
				body.Write([]byte(","))
			}
			feature := strings.Replace(validIncident, `"tags"`, fmt.Sprintf(`"external_id":"progress:%d","tags"`, i), 1)
			if i == 7 {
				feature = `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"title":"No type","date":"2020"}}`
			}
			body.Write([]byte("\n" + feature))
		}
		body.Write([]byte("\n]}\n"))
		body.Close()
		var last progressLine
		for last = readLine(t, lines); last.Type == "progress"; last = readLine(t, lines) {
		}
		if last.Type != "report" || last.Report == nil {
			t.Fatalf("last line %+v", last)
		}
		rep := last.Report
		if rep.Created != 29 || rep.RejectedCount != 1 || len(rep.Rejected) != 1 || rep.Rejected[0].Line != 9 || rep.Rejected[0].Field != "type" {
			t.Errorf("report %+v", rep)
		}
		if last.Rows != 30 || last.Bytes == 0 {
			t.Errorf("the last line counts %d rows and %d bytes", last.Rows, last.Bytes)
		}
		if lines.Scan() {
			t.Errorf("a line after the report: %s", lines.Bytes())
		}
	})
	t.Run("malformed", func(t *testing.T) {
		body, lines, _ := startImport(t, e)
		readLine(t, lines)
		body.Write([]byte(`{"type":"Feature",]`))
		body.Close()
		var last progressLine
		for last = readLine(t, lines); last.Type == "progress"; last = readLine(t, lines) {
		}
		if last.Type != "error" || last.Problem == nil || last.Problem.Status != 400 || !strings.Contains(last.Problem.Detail, "malformed") {
			t.Fatalf("last line %+v", last)
		}
	})
}
