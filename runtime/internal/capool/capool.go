// Package capool loads a PEM CA bundle into an x509.CertPool: the S3
// endpoint's (AWS_CA_BUNDLE), the predictor's (--predictor_use_ssl) and a
// gRPC client's root certificates are read the same way.
package capool

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrNoCertificate is wrapped by Load's error for a file that was read but
// holds no PEM certificate (a key, a DER file, a typo'd path to some other
// file): AppendCertsFromPEM skips what it cannot parse and says only no.
var ErrNoCertificate = errors.New("no PEM certificate found")

// Load returns a pool of the certificates in the PEM file, and only those:
// a bundle replaces the system's roots, as botocore's verify=<file>,
// Python's ssl cafile and gRPC's root_certificates do, so a bundle that
// works here works in KServe's own containers too.
//
// A file that cannot be read returns its *fs.PathError ("open FILE: ...");
// one with no certificate returns "FILE: no PEM certificate found",
// wrapping ErrNoCertificate. Both name the file but not the setting that
// named it: each caller adds that in its own words (the env var, the flag).
func Load(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: %w", file, ErrNoCertificate)
	}
	return pool, nil
}
