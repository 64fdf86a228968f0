package opensslkey

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// open loads the machine's libcrypto or skips: CI installs it, and a
// machine without it runs vucelink on crypto/rsa.
func open(t testing.TB) {
	t.Helper()
	if _, err := Open(""); err != nil {
		if os.Getenv("VUCELINK_REQUIRE_OPENSSL") != "" {
			t.Fatalf("VUCELINK_REQUIRE_OPENSSL is set: %v", err)
		}
		t.Skip(err)
	}
}

var (
	keysOnce sync.Once
	keys     map[int]*rsa.PrivateKey
)

func testKeys(t testing.TB) map[int]*rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		keys = map[int]*rsa.PrivateKey{}
		for _, bits := range []int{2048, 3072, 4096} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			keys[bits] = k
		}
	})
	return keys
}

// PKCS#1 v1.5 is deterministic: OpenSSL must write exactly the bytes
// crypto/rsa writes, for every key size and hash vucelink may meet.
func TestSign_SameBytesAsCryptoRSA(t *testing.T) {
	open(t)
	for bits, goKey := range testKeys(t) {
		key, err := New(goKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			hash crypto.Hash
			sum  func([]byte) []byte
		}{
			{crypto.SHA256, func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
			{crypto.SHA384, func(b []byte) []byte { s := sha512.Sum384(b); return s[:] }},
			{crypto.SHA512, func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }},
		} {
			for i := range 5 {
				digest := tc.sum([]byte{byte(i), byte(bits)})
				want, err := rsa.SignPKCS1v15(nil, goKey, tc.hash, digest)
				if err != nil {
					t.Fatal(err)
				}
				got, err := key.Sign(rand.Reader, digest, tc.hash)
				if err != nil {
					t.Fatalf("%d bits, %v: %v", bits, tc.hash, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%d bits, %v: OpenSSL's signature differs from crypto/rsa's", bits, tc.hash)
				}
			}
		}
	}
}

// What OpenSSL does not do here still works, through crypto/rsa.
func TestSign_PSSAndOtherHashesUseCryptoRSA(t *testing.T) {
	open(t)
	goKey := testKeys(t)[2048]
	key, err := New(goKey)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("pss"))
	sig, err := key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPSS(&goKey.PublicKey, crypto.SHA256, digest[:], sig, nil); err != nil {
		t.Fatalf("PSS signature does not verify: %v", err)
	}
	if _, err := key.Sign(rand.Reader, digest[:20], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "digest of 20 bytes") {
		t.Fatalf("a short digest: err = %v, want the digest length named", err)
	}
	if !goKey.PublicKey.Equal(key.Public()) {
		t.Fatal("Public is not the key's public half")
	}
}

// A signature OpenSSL returns is checked before it is used: here the
// OpenSSL key is another key than the one the certificate names, as a
// fault in the library or the binding could make it.
func TestSign_RefusesASignatureThatDoesNotVerify(t *testing.T) {
	open(t)
	k := testKeys(t)
	a, err := New(k[2048])
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(k[3072])
	if err != nil {
		t.Fatal(err)
	}
	mixed := &Key{goKey: a.goKey, key: b.key}
	digest := sha256.Sum256([]byte("fault"))
	if _, err := mixed.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("err = %v, want the signature refused", err)
	}
}

func TestNew_RefusesMultiPrimeKeys(t *testing.T) {
	open(t)
	k := *testKeys(t)[2048]
	k.Primes = append(append([]*big.Int(nil), k.Primes...), k.Primes[0])
	if _, err := New(&k); err == nil || !strings.Contains(err.Error(), "3 primes") {
		t.Fatalf("err = %v, want the three primes named", err)
	}
}

// A library that does not load is an error that names it, and leaves the
// process unable to make keys (Open is once per process, so this runs in
// a child).
func TestOpen_MissingLibrary(t *testing.T) {
	if os.Getenv("OPENSSLKEY_CHILD") == "1" {
		_, err := Open("/nonexistent/libcrypto.so.3")
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/libcrypto.so.3") {
			t.Fatalf("err = %v, want the library named", err)
		}
		if _, err := New(testKeys(t)[2048]); err == nil {
			t.Fatal("New worked without libcrypto")
		}
		if _, err := Open(""); err == nil || !strings.Contains(err.Error(), "already tried") {
			t.Fatalf("a second library: err = %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestOpen_MissingLibrary$", "-test.v")
	cmd.Env = append(os.Environ(), "OPENSSLKEY_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// BenchmarkSign compares one RSA-2048 PKCS#1 v1.5 signature by crypto/rsa
// and by OpenSSL (with crypto/rsa's check of it), same key, same run.
//
//	go test -run '^$' -bench Sign ./certs/opensslkey/
func BenchmarkSign(b *testing.B) {
	open(b)
	goKey := testKeys(b)[2048]
	key, err := New(goKey)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("bench"))
	for _, s := range []struct {
		name string
		key  crypto.Signer
	}{{"crypto-rsa", goKey}, {"openssl", key}} {
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// One key signs from many goroutines at once (a node's outbox workers and
// legacy requests share it), every signature the one crypto/rsa makes.
func TestSign_Concurrent(t *testing.T) {
	open(t)
	goKey := testKeys(t)[2048]
	key, err := New(goKey)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				digest := sha256.Sum256([]byte{byte(g), byte(i)})
				want, err := rsa.SignPKCS1v15(nil, goKey, crypto.SHA256, digest[:])
				if err != nil {
					errs <- err
					return
				}
				got, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, want) {
					errs <- errors.New("a concurrent signature differs from crypto/rsa's")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
