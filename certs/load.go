package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// PKCS#12 key files. A signing key may come as a PKCS#12 file (named
// *.p12 or *.pfx) instead of PEM: give the same file as key and
// certificate (signing[].key and signing[].cert, or LoadSigner(f, f)), or
// the PKCS#12 file as key and a PEM certificate file. The file's password
// is read from the environment variable PKCS12PasswordEnv, never from the
// configuration; unset means the empty password. LoadSignerPKCS12 takes
// the password as a value instead.

// PKCS12PasswordEnv names the environment variable that holds the password
// of PKCS#12 files read by LoadPrivateKey, LoadCertificates and LoadSigner.
const PKCS12PasswordEnv = "VUCELINK_PKCS12_PASSWORD"

// IsPKCS12 reports whether file is read as PKCS#12: by its extension, .p12
// or .pfx (any case).
func IsPKCS12(file string) bool {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".p12", ".pfx":
		return true
	}
	return false
}

// LoadSignerPKCS12 returns a Signer for the private key in a PKCS#12 file
// and its certificate, followed by the file's other certificates as the
// chain; password decrypts the file.
func LoadSignerPKCS12(file, password string) (*Signer, error) {
	key, chain, err := readPKCS12(file, password)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, fmt.Errorf("%s: no private key in the PKCS#12 file", file)
	}
	s, err := NewSigner(key, chain...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// readPKCS12 decodes a PKCS#12 file: its private key (nil for a trust
// store, which holds certificates only) and its certificates, the one
// that matches the key first. Files differ in which certificate they put
// first, so the key decides.
func readPKCS12(file, password string) (crypto.Signer, []*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
			return nil, nil, fmt.Errorf("%s: %w (the password is read from $%s)", file, err, PKCS12PasswordEnv)
		}
		// Perhaps a trust store: certificates and no key.
		all, terr := pkcs12.DecodeTrustStore(data, password)
		if terr != nil || len(all) == 0 {
			return nil, nil, fmt.Errorf("%s: PKCS#12: %w", file, err)
		}
		return nil, all, nil
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: key type %T cannot sign", file, key)
	}
	all := append([]*x509.Certificate{leaf}, cas...)
	for i, c := range all {
		if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(signer.Public()) {
			chain := append([]*x509.Certificate{c}, all[:i]...)
			return signer, append(chain, all[i+1:]...), nil
		}
	}
	return nil, nil, fmt.Errorf("%s: no certificate in the PKCS#12 file matches its private key", file)
}

// LoadCertificates returns every CERTIFICATE block of each PEM file, in
// order. A PKCS#12 file (IsPKCS12) contributes its certificates, the one
// matching its private key first. Errors name the file.
func LoadCertificates(files ...string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, f := range files {
		if IsPKCS12(f) {
			_, cs, err := readPKCS12(f, os.Getenv(PKCS12PasswordEnv))
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
			continue
		}
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
// PKCS#1 (RSA) or SEC 1 (EC) form; other PEM blocks are skipped. A PKCS#12
// file (IsPKCS12) is decrypted with the password in PKCS12PasswordEnv.
// Errors name the file. (NewSigner accepts RSA keys only.)
func LoadPrivateKey(file string) (crypto.Signer, error) {
	if IsPKCS12(file) {
		key, _, err := readPKCS12(file, os.Getenv(PKCS12PasswordEnv))
		if err == nil && key == nil {
			err = fmt.Errorf("%s: no private key in the PKCS#12 file", file)
		}
		return key, err
	}
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
