package node

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"runtime"

	"github.com/vucelink/vucelink/certs"
	"github.com/vucelink/vucelink/certs/opensslkey"
)

// signingEngine is where the signing keys' RSA operations run (config
// crypto.engine): OpenSSL's libcrypto or Go's crypto/rsa. The signatures
// are the same bytes; OpenSSL is several times faster (package
// opensslkey says why it matters).
type signingEngine struct {
	name    string // "openssl" or "go"
	version string // the library's own version text
}

// signingEngine opens libcrypto unless crypto.engine is go. With engine
// auto a library that does not load leaves crypto/rsa in use, said once
// in the log; with engine openssl it is a configuration problem.
func (n *Node) signingEngine(p *problems) signingEngine {
	goEngine := signingEngine{name: "go", version: runtime.Version() + " crypto/rsa"}
	c := n.Config.Crypto
	if c.Engine == "go" {
		n.metrics.SigningEngine(goEngine.name, goEngine.version)
		return goEngine
	}
	version, err := opensslkey.Open(c.Library)
	if err != nil {
		if c.Engine == "openssl" {
			key := "crypto.engine"
			if c.Library != "" {
				key = "crypto.library"
			}
			p.add(key, fmt.Errorf("engine openssl: %w", err))
			return goEngine
		}
		n.logger.Warn("signing with Go's crypto/rsa: OpenSSL's libcrypto did not load (crypto.engine auto); signatures are the same, only slower", "error", err)
		n.metrics.SigningEngine(goEngine.name, goEngine.version)
		return goEngine
	}
	e := signingEngine{name: "openssl", version: version}
	n.logger.Info("signing keys' RSA operations run in OpenSSL", "version", version)
	n.metrics.SigningEngine(e.name, e.version)
	return e
}

// SigningEngine says where the signing keys' RSA operations run
// (crypto.engine): "openssl" or "go", and the library's version.
func (n *Node) SigningEngine() (engine, version string) { return n.engine.name, n.engine.version }

// rekey moves s's key into the engine. A key that is not an RSA key in
// memory (an HSM's) stays where it is.
func (e signingEngine) rekey(s *certs.Signer) (*certs.Signer, error) {
	if e.name != "openssl" {
		return s, nil
	}
	return s.Rekey(func(k crypto.Signer) (crypto.Signer, error) {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return k, nil
		}
		return opensslkey.New(rk)
	})
}
