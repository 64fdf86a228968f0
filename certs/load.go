package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// LoadCertificates returns every CERTIFICATE block of each PEM file, in
// order. Errors name the file.
func LoadCertificates(files ...string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		n := 0
		for {
			var block *pem.Block
			block, data = pem.Decode(data)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: certificate %d: %w", f, n+1, err)
			}
			out = append(out, c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no PEM CERTIFICATE found", f)
		}
	}
	return out, nil
}

// LoadPool returns a pool of every certificate in the given PEM files.
func LoadPool(files ...string) (*x509.CertPool, error) {
	cs, err := LoadCertificates(files...)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range cs {
		pool.AddCert(c)
	}
	return pool, nil
}

// LoadPrivateKey reads the first PEM private key in file, in PKCS#8,
// PKCS#1 (RSA) or SEC 1 (EC) form; other PEM blocks are skipped. Errors
// name the file. (NewSigner accepts RSA keys only.)
func LoadPrivateKey(file string) (crypto.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s: no PEM private key found", file)
		}
		var key any
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			// Decrypting would need a passphrase in the configuration,
			// next to the file: file permissions (or an HSM) protect
			// the key instead.
			return nil, fmt.Errorf("%s: encrypted private keys are not supported", file)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		s, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: key type %T cannot sign", file, key)
		}
		return s, nil
	}
}
