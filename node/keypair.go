package node

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// keyPair is a TLS certificate and key read from files and re-read when
// the files change, so certificates can be rotated without a restart: the
// next handshake after the files are replaced uses the new pair.
type keyPair struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // modification times and sizes when last read
	checked time.Time
}

func loadKeyPair(certFile, keyFile string, logger *slog.Logger) (*keyPair, error) {
	k := &keyPair{certFile: certFile, keyFile: keyFile, logger: logger}
	if _, err := k.get(); err != nil {
		return nil, err
	}
	return k, nil
}

// recheck bounds how often the files are looked at.
const recheck = 2 * time.Second

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cert != nil && time.Since(k.checked) < recheck {
		return k.cert, nil
	}
	k.checked = time.Now()
	stamp, err := fileStamp(k.certFile, k.keyFile)
	if err != nil {
		if k.cert != nil {
			return k.cert, nil // keep serving the last good pair
		}
		return nil, err
	}
	if stamp == k.stamp {
		return k.cert, nil
	}
	c, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		if k.cert != nil {
			// A half-written rotation: keep the old pair until both files match.
			k.logger.Warn("TLS key pair changed but does not load; keeping the previous one", "cert", k.certFile, "error", err)
			return k.cert, nil
		}
		return nil, err
	}
	if k.cert != nil {
		k.logger.Info("TLS key pair rotated", "cert", k.certFile, "subject", c.Leaf.Subject.String(), "not_after", c.Leaf.NotAfter)
	}
	k.cert, k.stamp = &c, stamp
	return k.cert, nil
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
