// Package opensslkey signs with an official's RSA key through OpenSSL's
// libcrypto instead of Go's crypto/rsa.
//
// The reason is speed. A document's RSA-2048 signature is the largest step
// of the legacy system's wait and of a node's throughput, and on the x86
// server measured OpenSSL 3 computed it 2.4–4.3× faster than crypto/rsa (its RSAZ
// code uses the AVX-512 IFMA multipliers; docs/performance.md has the
// figures). PKCS#1 v1.5 signatures are deterministic, so both give the same
// bytes: partners cannot tell, and tests compare the two.
//
// libcrypto is opened at run time (dlopen, through golang-fips/openssl,
// the binding the Red Hat and Microsoft Go toolchains use for the same
// purpose), so building needs no OpenSSL headers and a machine without
// libcrypto still runs vucelink on crypto/rsa (config crypto.engine).
//
// Every signature OpenSSL returns is verified with crypto/rsa before it is
// used (about 3 % of a signature's cost), as crypto/rsa does with its own:
// a fault in the library or the binding must not send a partner a
// signature that does not verify.
package opensslkey

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/golang-fips/openssl/v2"
	"github.com/golang-fips/openssl/v2/bbig"
)

// DefaultLibrary is the libcrypto of OpenSSL 3 (Debian 12, Ubuntu 22.04
// and later, RHEL 9).
const DefaultLibrary = "libcrypto.so.3"

// What Open did, once per process (libcrypto cannot be unloaded).
var (
	openMu    sync.Mutex
	openTried bool
	opened    string // the library asked for first
	version   string // its version text, if it loaded
	openErr   error  // why it did not
)

// Open loads libcrypto from library (DefaultLibrary if empty) and returns
// OpenSSL's version text. A process loads one libcrypto: asking for
// another after the first is an error.
func Open(library string) (string, error) {
	if library == "" {
		library = DefaultLibrary
	}
	openMu.Lock()
	defer openMu.Unlock()
	if openTried {
		if library != opened {
			return "", fmt.Errorf("opensslkey: %s requested, but this process already tried %s", library, opened)
		}
		return version, openErr
	}
	openTried, opened = true, library
	if err := openssl.Init(library); err != nil {
		openErr = err // "openssl: can't load <library>: <why>"
		return "", openErr
	}
	version = openssl.VersionText()
	return version, nil
}

// Key is an RSA private key whose PKCS#1 v1.5 signatures are computed by
// OpenSSL. It implements crypto.Signer and is safe for concurrent use.
type Key struct {
	goKey *rsa.PrivateKey // PSS and unusual hashes, and the public half
	key   *openssl.PrivateKeyRSA
}

// New returns key as a Key. Open must have succeeded first.
func New(key *rsa.PrivateKey) (*Key, error) {
	openMu.Lock()
	ready := openTried && openErr == nil
	openMu.Unlock()
	if !ready {
		return nil, errors.New("opensslkey: libcrypto is not loaded (call Open)")
	}
	if len(key.Primes) != 2 {
		return nil, fmt.Errorf("opensslkey: RSA key with %d primes; only two-prime keys are supported", len(key.Primes))
	}
	if key.Precomputed.Dp == nil {
		// A key parsed by crypto/x509 is precomputed already; one built
		// by hand may not be.
		key.Precompute()
	}
	enc := bbig.Enc
	k, err := openssl.NewPrivateKeyRSA(enc(key.N), enc(big.NewInt(int64(key.E))), enc(key.D),
		enc(key.Primes[0]), enc(key.Primes[1]),
		enc(key.Precomputed.Dp), enc(key.Precomputed.Dq), enc(key.Precomputed.Qinv))
	if err != nil {
		return nil, fmt.Errorf("opensslkey: %w", err)
	}
	return &Key{goKey: key, key: k}, nil
}

// Public implements crypto.Signer.
func (k *Key) Public() crypto.PublicKey { return &k.goKey.PublicKey }

// Sign implements crypto.Signer. PKCS#1 v1.5 signatures over SHA-256,
// SHA-384 or SHA-512 digests run in OpenSSL; anything else (PSS, other
// hashes) runs in crypto/rsa, as the key would without this package.
func (k *Key) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return k.goKey.Sign(rand, digest, opts)
	}
	h := opts.HashFunc()
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return k.goKey.Sign(rand, digest, opts)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("opensslkey: digest of %d bytes for %v, want %d", len(digest), h, h.Size())
	}
	sig, err := openssl.SignRSAPKCS1v15(k.key, h, digest)
	if err != nil {
		return nil, fmt.Errorf("opensslkey: signing: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(&k.goKey.PublicKey, h, digest, sig); err != nil {
		return nil, fmt.Errorf("opensslkey: OpenSSL returned a signature that does not verify: %w", err)
	}
	return sig, nil
}
