package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key
// as PEM files, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "nexus test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With -tls-cert and -tls-key the server speaks HTTPS and its websocket
// wss, to a client that trusts the certificate; plain HTTP is refused.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil, "-tls-cert", certFile, "-tls-key", keyFile)
	if !strings.HasPrefix(m.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s", m.URL)
	}
	tlsConf := &tls.Config{RootCAs: pool}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()

	req, _ := http.NewRequest("POST", m.URL+"/api/collections/incidents/items", strings.NewReader(
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.06,4.65]},"properties":{"title":"Over TLS","type":"other","date":"2024"}}`))
	req.Header.Set("Authorization", "Bearer "+m.token)
	req.Header.Set("Content-Type", "application/geo+json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("create over HTTPS: %d %+v", resp.StatusCode, resp.TLS)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "https://") {
		t.Errorf("Location %q is not https", loc)
	}

	// wss: hello, subscribe, and a change made over HTTPS arrives.
	d := websocket.Dialer{TLSClientConfig: tlsConf, HandshakeTimeout: 30 * time.Second}
	ws, wresp, err := d.Dial("wss"+strings.TrimPrefix(m.URL, "https")+"/api/live", nil)
	if err != nil {
		t.Fatalf("wss: %v %v", err, wresp)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	var hello struct {
		Type string
		Seq  int64
	}
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Fatalf("hello: %+v %v", hello, err)
	}
	ws.WriteJSON(map[string]any{"type": "subscribe", "since": 0})
	for {
		var fr struct {
			Type    string
			Feature struct{ Properties struct{ Title string } }
		}
		if err := ws.ReadJSON(&fr); err != nil {
			t.Fatalf("no change over wss: %v", err)
		}
		if fr.Type == "change" && fr.Feature.Properties.Title == "Over TLS" {
			break
		}
	}

	// Plain HTTP to the HTTPS port gets no data.
	plain := "http" + strings.TrimPrefix(m.URL, "https") + "/api/collections/incidents/items"
	if resp, err := http.Get(plain); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || strings.Contains(string(b), "Over TLS") {
			t.Fatalf("plain HTTP: %d %s", resp.StatusCode, b)
		}
	}
	// A client that does not trust the certificate does not get in.
	if _, err := http.Get(m.URL + "/healthz"); err == nil {
		t.Fatal("an untrusting client connected")
	}
}

func TestTLSFlags(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"-tls-cert", "cert.pem"}); err == nil || !strings.Contains(err.Error(), "-tls-key") {
		t.Fatalf("-tls-cert alone: %v", err)
	}
	certFile, _, _ := selfSigned(t)
	m = NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "nexus.db"), "-seed=false",
		"-tls-cert", certFile, "-tls-key", certFile}); err != nil {
		t.Fatal(err)
	}
	err := m.Run(t.Context())
	if err == nil {
		m.Close()
		t.Fatal("a certificate file given as its key was taken")
	}
	if !strings.Contains(err.Error(), "-tls-key") {
		t.Fatalf("error %q does not name the flag", err)
	}
}
