package proxy

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testCert is a CA made for one test and a leaf it signed for localhost and
// 127.0.0.1, as the local CA's (package localca, which the proxy must not
// import, even in tests).
type testCert struct {
	pool   *x509.CertPool
	caDER  []byte // the CA's certificate, for tools that read it from a file
	server *tls.Config
}

func newTestCert(t testing.TB) testCert {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "proxy test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cert := tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
	// The local CA's settings (localca.ServerConfig): TLS 1.2+, h2 then http/1.1.
	server := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}, Certificates: []tls.Certificate{cert}}
	return testCert{pool: pool, caDER: caDER, server: server}
}

// tlsProxy serves the proxy over HTTPS with a local CA made for the test, and
// returns it with a client config that trusts that CA alone.
func tlsProxy(t testing.TB, cfg Config) (*testProxy, *tls.Config) {
	t.Helper()
	ca := newTestCert(t)
	cfg.TLSConfig = ca.server
	tp := startProxy(t, cfg)
	tp.URL = "https://" + tp.Addr
	return tp, &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}
}

// tlsClient speaks HTTP/2 when h2, else HTTP/1.1, with TLS versions from min
// to max.
func tlsClient(t testing.TB, base *tls.Config, h2 bool, minV, maxV uint16) *http.Client {
	t.Helper()
	cfg := base.Clone()
	cfg.MinVersion, cfg.MaxVersion = minV, maxV
	tr := &http.Transport{Proxy: nil, TLSClientConfig: cfg, ForceAttemptHTTP2: h2, MaxIdleConnsPerHost: 64}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// forwardedEcho answers with the forwarding headers it got.
func forwardedEcho(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "proto=%s port=%s host=%s len=%d body=%s", r.Header.Get("X-Forwarded-Proto"),
		r.Header.Get("X-Forwarded-Port"), r.Host, len(body), body)
}

func TestTLSServesHTTP1AndHTTP2(t *testing.T) {
	t.Parallel()
	tp, ccfg := tlsProxy(t, Config{})
	b := startBackend(t, "web.1", forwardedEcho)
	tp.Enable("web.1", b.Addr)
	_, port, _ := net.SplitHostPort(tp.Addr)
	for _, tc := range []struct {
		name       string
		h2         bool
		minV, maxV uint16
		wantProto  string
		wantTLS    uint16
	}{
		{"h1 over TLS 1.2", false, tls.VersionTLS12, tls.VersionTLS12, "HTTP/1.1", tls.VersionTLS12},
		{"h1 over TLS 1.3", false, tls.VersionTLS13, tls.VersionTLS13, "HTTP/1.1", tls.VersionTLS13},
		{"h2 over TLS 1.2", true, tls.VersionTLS12, tls.VersionTLS12, "HTTP/2.0", tls.VersionTLS12},
		{"h2 over TLS 1.3", true, tls.VersionTLS13, tls.VersionTLS13, "HTTP/2.0", tls.VersionTLS13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tlsClient(t, ccfg, tc.h2, tc.minV, tc.maxV)
			for i := range 3 { // the second and third reuse the connection and its backend one
				resp, err := c.Get(tp.URL + "/x?i=" + fmt.Sprint(i))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Proto != tc.wantProto || resp.TLS == nil || resp.TLS.Version != tc.wantTLS {
					t.Fatalf("got %d %s TLS %v, want 200 %s TLS %x", resp.StatusCode, resp.Proto, resp.TLS != nil, tc.wantProto, tc.wantTLS)
				}
				if want := "proto=https port=" + port + " host=" + tp.Addr + " len=0 body="; string(body) != want {
					t.Errorf("instance saw %q, want %q", body, want)
				}
				if got := resp.Header.Get("X-Devcluster-Instance"); got != "web.1" {
					t.Errorf("X-Devcluster-Instance: got %q, want web.1", got)
				}
			}
		})
	}
}

func TestTLSRefusesTLS11(t *testing.T) {
	t.Parallel()
	tp, ccfg := tlsProxy(t, Config{})
	cfg := ccfg.Clone()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	conn, err := tls.Dial("tcp", tp.Addr, cfg)
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 handshake succeeded; want it refused (TLS 1.2 and later only)")
	}
}

func TestH2RequestBodies(t *testing.T) {
	t.Parallel()
	tp, ccfg := tlsProxy(t, Config{})
	b := startBackend(t, "web.1", forwardedEcho)
	tp.Enable("web.1", b.Addr)
	c := tlsClient(t, ccfg, true, tls.VersionTLS12, 0)
	big := strings.Repeat("0123456789", 10_000)
	for _, tc := range []struct {
		name string
		body io.Reader
		want string
	}{
		{"known length", strings.NewReader("hello"), "len=5 body=hello"},
		{"unknown length", io.MultiReader(strings.NewReader("hel"), strings.NewReader("lo")), "len=5 body=hello"},
		{"large", strings.NewReader(big), "len=100000 body=" + big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Post(tp.URL+"/up", "text/plain", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Proto != "HTTP/2.0" || !strings.HasSuffix(string(got), tc.want) {
				t.Errorf("got %s %.80q, want HTTP/2.0 ending %.80q", resp.Proto, got, tc.want)
			}
		})
	}
}

// TestH2StreamsFlushedResponse: a response the instance sends piece by piece
// (SSE) reaches an HTTP/2 client piece by piece: the first event arrives while
// the instance still holds the response open.
func TestH2StreamsFlushedResponse(t *testing.T) {
	t.Parallel()
	tp, ccfg := tlsProxy(t, Config{})
	release := make(chan struct{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, "data: two\n\n")
	})
	tp.Enable("web.1", b.Addr)
	c := tlsClient(t, ccfg, true, tls.VersionTLS12, 0)
	resp, err := c.Get(tp.URL + "/events")
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	close(release) // only now may the instance end the response
	if err != nil || line != "data: one\n" {
		t.Fatalf("first line: got %q, %v; want \"data: one\\n\" before the response ends", line, err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: two\n\n" || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Proto != "HTTP/2.0" {
		t.Errorf("rest %q, type %q, proto %s", rest, resp.Header.Get("Content-Type"), resp.Proto)
	}
}

// TestH2ConcurrentStreams: many streams at once on one connection, each
// answered with its own body, and each OnRequest'ed once.
func TestH2ConcurrentStreams(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	tp, ccfg := tlsProxy(t, Config{OnRequest: func(ri RequestInfo) {
		mu.Lock()
		seen[ri.Path]++
		mu.Unlock()
	}})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
	tp.Enable("web.1", b.Addr)
	c := tlsClient(t, ccfg, true, tls.VersionTLS12, 0)
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			path := fmt.Sprintf("/s%d", i)
			r := fetch(c, tp.URL+path)
			if r.err == nil && (r.code != 200 || r.body != path) {
				r.err = fmt.Errorf("%s: got %d %q", path, r.code, r.body)
			}
			errs <- r.err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n {
		t.Errorf("OnRequest heard %d paths, want %d", len(seen), n)
	}
	for p, k := range seen {
		if k != 1 {
			t.Errorf("OnRequest heard %s %d times, want once", p, k)
		}
	}
}

func TestTLSWebSocket(t *testing.T) {
	t.Parallel()
	tp, ccfg := tlsProxy(t, Config{})
	b := startBackend(t, "web.1", func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		typ, msg, err := conn.Read(r.Context())
		if err != nil {
			return
		}
		conn.Write(r.Context(), typ, []byte("echo "+string(msg)+" proto="+r.Header.Get("X-Forwarded-Proto")))
	})
	tp.Enable("web.1", b.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A WebSocket needs HTTP/1.1: a browser opens it on a connection of its own.
	c := tlsClient(t, ccfg, false, tls.VersionTLS12, 0)
	conn, _, err := websocket.Dial(ctx, "wss://"+tp.Addr+"/ws", &websocket.DialOptions{HTTPClient: c})
	if err != nil {
		t.Fatalf("dial wss through the proxy: %v", err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	_, got, err := conn.Read(ctx)
	if err != nil || string(got) != "echo hi proto=https" {
		t.Errorf("got %q, %v; want \"echo hi proto=https\"", got, err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
}

func TestTLSSessionResumption(t *testing.T) {
	t.Parallel()
	tp, ccfg := tlsProxy(t, Config{})
	startWeb(t, tp, 1)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := ccfg.Clone()
		cfg.MinVersion, cfg.MaxVersion = v, v
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		for i := range 2 {
			conn, err := tls.Dial("tcp", tp.Addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			// TLS 1.3 tickets come after the handshake: a read takes them in.
			conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
			io.Copy(io.Discard, conn)
			resumed := conn.ConnectionState().DidResume
			conn.Close()
			if resumed != (i == 1) {
				t.Errorf("TLS %x connection %d: resumed %v, want %v", v, i+1, resumed, i == 1)
			}
		}
	}
}

// TestTLSBesidePlainHTTP: with HTTPSListen, plain HTTP stays on Listen; with
// RedirectHTTP it answers 308 to the same URL over HTTPS.
func TestTLSBesidePlainHTTP(t *testing.T) {
	t.Parallel()
	ca := newTestCert(t)
	ccfg := &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}
	for _, redirect := range []bool{false, true} {
		t.Run(fmt.Sprintf("redirect=%v", redirect), func(t *testing.T) {
			p, err := New(Config{TLSConfig: ca.server, HTTPSListen: "127.0.0.1:0", RedirectHTTP: redirect})
			if err != nil {
				t.Fatal(err)
			}
			p.AddPool(PoolConfig{Process: "web"})
			plain, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			secure, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- p.ServeBoth(ctx, plain, secure) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("ServeBoth: %v", err)
				}
			}()
			b := startBackend(t, "web.1", forwardedEcho)
			p.Enable("web", "web.1", b.Addr)
			_, sport, _ := net.SplitHostPort(secure.Addr().String())
			_, pport, _ := net.SplitHostPort(plain.Addr().String())

			c := tlsClient(t, ccfg, true, tls.VersionTLS12, 0)
			code, _, body := get(t, c, "https://"+secure.Addr().String()+"/a")
			if want := "proto=https port=" + sport; code != 200 || !strings.HasPrefix(body, want) {
				t.Errorf("HTTPS: got %d %q, want 200 %q...", code, body, want)
			}
			plainClient := newClient(t)
			plainClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := plainClient.Get("http://localhost:" + pport + "/a?b=1")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if redirect {
				if want := "https://localhost:" + sport + "/a?b=1"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
					t.Errorf("plain HTTP: got %d Location %q, want 308 %s", resp.StatusCode, resp.Header.Get("Location"), want)
				}
			} else if want := "proto=http port=" + pport; resp.StatusCode != 200 || !strings.HasPrefix(string(got), want) {
				t.Errorf("plain HTTP: got %d %q, want 200 %q...", resp.StatusCode, got, want)
			}
		})
	}
}

// TestH2LocalHandler: the proxy's own pages (the dashboard) over HTTP/2, a
// live feed included: each flush reaches the client, and the handler's
// context lasts until the client goes.
func TestH2LocalHandler(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 1)
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_devcluster/page" {
			fmt.Fprintf(w, "page host=%s tls-proto=%s", r.Host, r.Header.Get("X-Forwarded-Proto"))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		ended <- r.Context().Err()
	})
	tp, ccfg := tlsProxy(t, Config{Local: local})
	c := tlsClient(t, ccfg, true, tls.VersionTLS12, 0)
	code, _, body := get(t, c, tp.URL+"/_devcluster/page")
	if want := "page host=" + tp.Addr + " tls-proto="; code != 200 || body != want {
		t.Errorf("page: got %d %q, want 200 %q", code, body, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", tp.URL+"/_devcluster/feed", nil)
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "data: one\n" || resp.Proto != "HTTP/2.0" {
		t.Errorf("feed: got %q, %v over %s; want \"data: one\\n\" over HTTP/2.0", line, err, resp.Proto)
	}
	select {
	case err := <-ended:
		t.Errorf("the feed's context ended (%v) while the client still read it", err)
	default:
	}
	cancel() // the client goes: the handler hears of it
	resp.Body.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Error("the feed's handler still runs 10s after its client went away")
	}
}
