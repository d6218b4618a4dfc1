package capool_test

import (
	"crypto/x509"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kserve-gen/kserve-gen/runtime/internal/capool"
	"github.com/kserve-gen/kserve-gen/runtime/internal/testcert"
)

func TestLoad_Unreadable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "missing.pem")
	_, err := capool.Load(file)
	assert.EqualError(t, err, "open "+file+": no such file or directory")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestLoad_NoCertificate(t *testing.T) {
	file := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(file, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600))
	_, err := capool.Load(file)
	assert.EqualError(t, err, file+": no PEM certificate found")
	assert.ErrorIs(t, err, capool.ErrNoCertificate)
}

// The pool holds the bundle's certificate and nothing else: not the
// system's roots, which a bundle replaces.
func TestLoad_BundleAlone(t *testing.T) {
	c := testcert.New(t, "test CA")
	cert := c.X509
	file := filepath.Join(t.TempDir(), "ca.pem")
	// Text around the block, as in a bundle with comments, is skipped.
	bundle := append([]byte("# test CA\n"), c.CertPEM...)
	require.NoError(t, os.WriteFile(file, bundle, 0o600))

	pool, err := capool.Load(file)
	require.NoError(t, err)
	want := x509.NewCertPool()
	want.AddCert(cert)
	assert.True(t, want.Equal(pool), "the pool holds only the bundle's certificate")
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool})
	assert.NoError(t, err)
}
