package storage

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
)

// azureCertificate is a service principal's certificate credential
// (AZURE_CLIENT_CERTIFICATE_PATH, azure-identity's EnvironmentCredential
// with a certificate): the certificate Entra knows the app by and its
// private key, which signs the client assertion of each token request.
type azureCertificate struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// loadAzureCertificate reads a PEM file holding the certificate and its
// RSA private key (unencrypted, PKCS #8 or PKCS #1), as Azure's portal and
// `az ad sp create-for-rbac --create-cert` write it. A PKCS #12 file, or
// an encrypted key, is refused with how to convert it: the standard
// library reads neither.
func loadAzureCertificate(file string) (*azureCertificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var c azureCertificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			if c.cert == nil {
				if c.cert, err = x509.ParseCertificate(block.Bytes); err != nil {
					return nil, fmt.Errorf("its certificate: %w", err)
				}
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("its private key is encrypted, which is not supported here: decrypt it (openssl pkey -in <file>)")
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errors.New("its private key is encrypted, which is not supported here: decrypt it (openssl rsa -in <file>)")
			}
			var key any
			if block.Type == "RSA PRIVATE KEY" {
				key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			} else {
				key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			}
			if err != nil {
				return nil, fmt.Errorf("its private key: %w", err)
			}
			rsaKey, ok := key.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("its private key is a %T, not RSA, which Entra's certificate credentials need", key)
			}
			c.key = rsaKey
		}
	}
	switch {
	case c.cert == nil && c.key == nil:
		return nil, errors.New("no PEM certificate and private key in it (a PKCS #12 .pfx file is not supported here: convert it with openssl pkcs12 -in <file> -nodes)")
	case c.cert == nil:
		return nil, errors.New("no CERTIFICATE in it, only the private key")
	case c.key == nil:
		return nil, errors.New("no PRIVATE KEY in it, only the certificate")
	}
	if pub, ok := c.cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&c.key.PublicKey) {
		return nil, errors.New("its private key is not the certificate's")
	}
	return &c, nil
}

// assertion is the client assertion for a token request to tokenURL, as
// MSAL makes it for a certificate credential: a JWT signed with RS256
// naming the certificate by its SHA-1 (x5t) and SHA-256 (x5t#S256)
// thumbprints, for the token endpoint (aud), issued by and about the
// client, good for ten minutes. golang.org/x/oauth2/jws cannot set the
// thumbprint headers, so it is written here.
func (c *azureCertificate) assertion(client, tokenURL string) (string, error) {
	sha1Sum, sha256Sum := sha1.Sum(c.cert.Raw), sha256.Sum256(c.cert.Raw)
	now := time.Now()
	header, err := json.Marshal(map[string]string{
		"alg": "RS256", "typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(sha1Sum[:]), "x5t#S256": base64.RawURLEncoding.EncodeToString(sha256Sum[:]),
	})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(map[string]any{
		"aud": tokenURL, "iss": client, "sub": client, "jti": uuid.NewString(),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing the client assertion: %w", err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
