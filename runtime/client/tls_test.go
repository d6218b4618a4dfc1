package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/kserve-gen/kserve-gen/runtime/client"
	"github.com/kserve-gen/kserve-gen/runtime/dataplane"
	"github.com/kserve-gen/kserve-gen/runtime/grpcserver"
	"github.com/kserve-gen/kserve-gen/runtime/infer"
	"github.com/kserve-gen/kserve-gen/runtime/internal/testcert"
	"github.com/kserve-gen/kserve-gen/runtime/rest"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// selfSigned makes a certificate for 127.0.0.1 and returns it with the
// PEM file a client trusts it by.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	c := testcert.New(t, "127.0.0.1")
	caFile, _ := c.Files(t)
	return c.TLS, caFile
}

func TestTLS_BothClients(t *testing.T) {
	cert, caFile := selfSigned(t)
	m := &echo{name: "echo"}
	m.ready.Store(true)
	dp := dataplane.New(dataplane.Options{})
	require.NoError(t, dp.Register(m, ""))

	gl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpcserver.New(dp, grpcserver.Options{Logger: slog.New(slog.DiscardHandler),
		ServerOptions: []grpc.ServerOption{grpc.Creds(credentials.NewServerTLSFromCert(&cert))}})
	go func() { _ = gs.Serve(gl) }()
	t.Cleanup(func() { _ = gs.Shutdown(context.Background()) })

	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: rest.New(dp, rest.Options{}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() { _ = hs.ServeTLS(hl, "", "") }()
	t.Cleanup(func() { hs.Close() })

	req := &infer.Request{ModelName: "echo", Inputs: []*infer.Tensor{infer.NewTensor("x", []int64{2}, []float64{1, 2})}}

	g, err := client.NewGRPC(gl.Addr().String(), client.WithTLSFiles(caFile, "", ""))
	require.NoError(t, err)
	defer g.Close()
	resp, err := g.Infer(ctxT(t), req)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2}, resp.Outputs[0].Data)

	// Without the CA the server is not trusted.
	untrusted, err := client.NewGRPC(gl.Addr().String(), client.WithTLS(nil), client.WithGRPCRetries(0))
	require.NoError(t, err)
	defer untrusted.Close()
	_, err = untrusted.Infer(ctxT(t), req)
	assert.Equal(t, status.KindUnavailable, status.KindOf(err))
	assert.Contains(t, status.Message(err), "certificate signed by unknown authority")

	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(caFile)
	require.NoError(t, err)
	pool.AppendCertsFromPEM(caPEM)
	r, err := client.NewREST(client.WithProtocol(client.V2), client.WithRESTTLS(&tls.Config{RootCAs: pool}))
	require.NoError(t, err)
	resp, err = r.Infer(ctxT(t), "https://"+hl.Addr().String(), req)
	require.NoError(t, err)
	assert.Equal(t, []float64{1, 2}, resp.Outputs[0].Data)
}

// Each TLS file that cannot be used stops NewGRPC, before any connection
// is tried, with an exact error naming it: crypto/tls's own errors for a
// client certificate name neither file.
func TestTLSFiles_Errors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	junk := filepath.Join(dir, "junk.pem")
	require.NoError(t, os.WriteFile(junk, []byte("not a certificate\n"), 0o600))
	certFile, keyFile := testcert.New(t, "127.0.0.1").Files(t)
	_, otherKey := testcert.New(t, "other").Files(t)
	pair := func(chain, key string) string {
		return "load client certificate (certificate chain " + chain + ", private key " + key + "): "
	}
	for _, tc := range []struct {
		name, rootCA, key, chain, want string
	}{
		{"CA file missing", missing, "", "", "read root certificates: open " + missing + ": no such file or directory"},
		{"CA file without a certificate", junk, "", "", "root certificates " + junk + ": no PEM certificate found"},
		{"key alone", certFile, keyFile, "", "client TLS needs both a private key and a certificate chain"},
		{"chain alone", "", "", certFile, "client TLS needs both a private key and a certificate chain"},
		{"chain missing", "", keyFile, missing, pair(missing, keyFile) + "open " + missing + ": no such file or directory"},
		{"chain without a certificate", "", keyFile, junk, pair(junk, keyFile) + "tls: failed to find any PEM data in certificate input"},
		{"key of another certificate", "", otherKey, certFile, pair(certFile, otherKey) + "tls: private key does not match public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := client.NewGRPC("127.0.0.1:1", client.WithTLSFiles(tc.rootCA, tc.key, tc.chain))
			assert.Nil(t, g)
			assert.EqualError(t, err, tc.want)
		})
	}
}
