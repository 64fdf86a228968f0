package node

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/vucelink/vucelink/certs"
)

// reloading is a value loaded from files and loaded again when the files
// change, so certificates and keys rotate without a restart: the next use
// after the files are replaced gets the new value. A change that does not
// load (a half-written rotation) keeps the previous value until the files
// agree again.
type reloading[T any] struct {
	what   string // for logs: "TLS key pair", "signing key"
	files  []string
	load   func() (T, error)
	logger *slog.Logger

	mu      sync.Mutex
	val     T
	loaded  bool
	stamp   string // modification times and sizes when last read
	checked time.Time
}

// recheck bounds how often the files are looked at.
const recheck = 2 * time.Second

func newReloading[T any](what string, logger *slog.Logger, load func() (T, error), files ...string) (*reloading[T], error) {
	r := &reloading[T]{what: what, files: files, load: load, logger: logger}
	if _, err := r.get(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *reloading[T]) get() (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded && time.Since(r.checked) < recheck {
		return r.val, nil
	}
	r.checked = time.Now()
	stamp, err := fileStamp(r.files...)
	if err != nil {
		if r.loaded {
			return r.val, nil // keep the last good value
		}
		return r.val, err
	}
	if r.loaded && stamp == r.stamp {
		return r.val, nil
	}
	v, err := r.load()
	if err != nil {
		if r.loaded {
			r.logger.Warn(r.what+" changed but does not load; keeping the previous one", "file", r.files[0], "error", err)
			return r.val, nil
		}
		return r.val, err
	}
	if r.loaded {
		r.logger.Info(r.what+" rotated", "file", r.files[0])
	}
	r.val, r.loaded, r.stamp = v, true, stamp
	return r.val, nil
}

func fileStamp(files ...string) (string, error) {
	s := ""
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d/%d;", st.ModTime().UnixNano(), st.Size())
	}
	return s, nil
}

// keyPair is a TLS certificate and key.
type keyPair = reloading[*tls.Certificate]

func loadKeyPair(certFile, keyFile string, logger *slog.Logger) (*keyPair, error) {
	return newReloading("TLS key pair", logger, func() (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		return &c, err
	}, certFile, keyFile)
}

// signer is an official's signing key and certificate (PEM or PKCS#12).
type signer struct{ *reloading[*certs.Signer] }

func loadSigner(keyFile, certFile string, engine signingEngine, logger *slog.Logger) (*signer, error) {
	r, err := newReloading("signing key", logger, func() (*certs.Signer, error) {
		s, err := certs.LoadSigner(keyFile, certFile)
		if err != nil {
			return nil, err
		}
		return engine.rekey(s)
	}, keyFile, certFile)
	if err != nil {
		return nil, err
	}
	return &signer{r}, nil
}

// current is the signer in force (the last one that loaded).
func (s *signer) current() *certs.Signer {
	v, _ := s.get() // after the first load, get never fails
	return v
}

// SignElement signs with the current key.
func (s *signer) SignElement(root *etree.Element) (*etree.Element, error) {
	return s.current().SignElement(root)
}

// Certificate is the current signing certificate.
func (s *signer) Certificate() *x509.Certificate { return s.current().Certificate() }
