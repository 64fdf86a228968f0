package registry

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vucelink/vucelink/certs"
)

// DefaultValidFor is how long a published list is current (NextUpdate -
// IssuedAt) unless the source says otherwise.
const DefaultValidFor = 30 * 24 * time.Hour

// Source is the editable registry of one country's officials, a YAML file:
//
//	country: CL
//	sequence: 3          # of the last published list; publish raises it
//	valid_for: 720h      # NextUpdate = publication time + valid_for
//	officials:
//	  - id: CL-SAG-0001
//	    cert: officials/ana.pem   # PEM, relative to this file
//	    name: Ana Pérez Soto
//	    agency: SAG
//	    documents: [sps, cod]
//	    from: 2026-01-01T00:00:00Z   # default: the certificate's NotBefore
//	    until: 2028-01-01T00:00:00Z  # default: the certificate's NotAfter
//	    revoked: {at: 2026-06-01T00:00:00Z, reason: left the agency}
//
// Save rewrites the whole file (comments are not kept).
type Source struct {
	Country   string           `yaml:"country"`
	Sequence  uint64           `yaml:"sequence"`
	ValidFor  time.Duration    `yaml:"valid_for,omitempty"`
	Officials []SourceOfficial `yaml:"officials"`

	path string
}

// SourceOfficial is one official in a Source.
type SourceOfficial struct {
	ID        string            `yaml:"id"`
	Cert      string            `yaml:"cert"`
	Name      string            `yaml:"name"`
	Agency    string            `yaml:"agency"`
	Documents []string          `yaml:"documents,flow"`
	From      time.Time         `yaml:"from,omitempty"`
	Until     time.Time         `yaml:"until,omitempty"`
	Revoked   *SourceRevocation `yaml:"revoked,omitempty"`
}

// SourceRevocation marks an official revoked from At.
type SourceRevocation struct {
	At     time.Time `yaml:"at"`
	Reason string    `yaml:"reason"`
}

// NewSource returns an empty source for country, to be saved at path.
func NewSource(path, country string) (*Source, error) {
	if err := checkCountry(country); err != nil {
		return nil, err
	}
	return &Source{Country: country, path: path}, nil
}

// LoadSource reads a source strictly (an unknown key is an error).
func LoadSource(path string) (*Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &Source{path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkCountry(s.Country); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Path is the file the source is read from and saved to.
func (s *Source) Path() string { return s.path }

// Save writes the source to its file, atomically.
func (s *Source) Save() error {
	var buf bytes.Buffer
	buf.WriteString("# Authorized officials of " + s.Country + ", the source of the published list.\n")
	buf.WriteString("# Edited by hand or with `vucelink officials add|revoke`; `vucelink officials publish` signs it\n")
	buf.WriteString("# and raises sequence. Certificate paths are relative to this file.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return WriteFileAtomic(s.path, buf.Bytes(), 0o644)
}

// certPath resolves an official's certificate path against the source's
// directory.
func (s *Source) certPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(s.path), p)
}

// Certificate reads an official's certificate (the first in its file).
func (s *Source) Certificate(o SourceOfficial) (*x509.Certificate, error) {
	if o.Cert == "" {
		return nil, fmt.Errorf("official %s: no cert file", o.ID)
	}
	cs, err := certs.LoadCertificates(s.certPath(o.Cert))
	if err != nil {
		return nil, fmt.Errorf("official %s: %w", o.ID, err)
	}
	return cs[0], nil
}

// Add adds an official and returns the entry as added. An empty ID becomes
// "<country>-<first 12 hex digits of the certificate's SHA-256>"; zero From
// and Until become the certificate's validity. The certificate must not be
// a CA's nor already listed, and the ID must be new.
func (s *Source) Add(o SourceOfficial) (SourceOfficial, error) {
	c, err := s.Certificate(o)
	if err != nil {
		return o, err
	}
	if c.IsCA {
		return o, fmt.Errorf("%s: %q is a CA certificate, not an official's", o.Cert, c.Subject.String())
	}
	if o.ID == "" {
		o.ID = s.Country + "-" + Fingerprint(c)[:12]
	}
	if o.From.IsZero() {
		o.From = c.NotBefore.UTC()
	}
	if o.Until.IsZero() {
		o.Until = c.NotAfter.UTC()
	}
	for _, other := range s.Officials {
		if other.ID == o.ID {
			return o, fmt.Errorf("official %s is already in the registry", o.ID)
		}
		if oc, err := s.Certificate(other); err == nil && oc.Equal(c) {
			return o, fmt.Errorf("the certificate %q is already official %s's", c.Subject.String(), other.ID)
		}
	}
	// What Build will check, checked now, so that a bad entry is never saved.
	probe := List{Country: s.Country, Sequence: 1, IssuedAt: o.From, NextUpdate: o.From.Add(time.Hour),
		Officials: []Official{{ID: o.ID, Name: o.Name, Agency: o.Agency, Documents: o.Documents, ValidFrom: o.From, ValidUntil: o.Until, Certificate: c}}}
	if err := probe.check(); err != nil {
		return o, err
	}
	s.Officials = append(s.Officials, o)
	return o, nil
}

// Revoke marks revoked, from at and for reason, the official with the
// given ID, or if id is "" the one whose certificate is cert.
func (s *Source) Revoke(id string, cert *x509.Certificate, at time.Time, reason string) (SourceOfficial, error) {
	i := slices.IndexFunc(s.Officials, func(o SourceOfficial) bool {
		if id != "" {
			return o.ID == id
		}
		c, err := s.Certificate(o)
		return err == nil && cert != nil && c.Equal(cert)
	})
	if i < 0 {
		if id != "" {
			return SourceOfficial{}, fmt.Errorf("no official %s in the registry", id)
		}
		return SourceOfficial{}, errors.New("no official with that certificate in the registry")
	}
	o := &s.Officials[i]
	if o.Revoked != nil {
		return *o, fmt.Errorf("official %s is already revoked at %s (%s)", o.ID, stamp(o.Revoked.At), o.Revoked.Reason)
	}
	o.Revoked = &SourceRevocation{At: at.UTC(), Reason: strings.TrimSpace(reason)}
	return *o, nil
}

// Build returns the list the source describes, with the given sequence,
// issued at now.
func (s *Source) Build(seq uint64, now time.Time) (*List, error) {
	validFor := s.ValidFor
	if validFor <= 0 {
		validFor = DefaultValidFor
	}
	now = now.UTC().Truncate(time.Second)
	l := &List{Country: s.Country, Sequence: seq, IssuedAt: now, NextUpdate: now.Add(validFor)}
	for _, so := range s.Officials {
		c, err := s.Certificate(so)
		if err != nil {
			return nil, err
		}
		o := Official{
			ID: so.ID, Name: so.Name, Agency: so.Agency, Documents: so.Documents,
			ValidFrom: so.From, ValidUntil: so.Until, Certificate: c,
		}
		if o.ValidFrom.IsZero() {
			o.ValidFrom = c.NotBefore
		}
		if o.ValidUntil.IsZero() {
			o.ValidUntil = c.NotAfter
		}
		o.ValidFrom, o.ValidUntil = o.ValidFrom.UTC().Truncate(time.Second), o.ValidUntil.UTC().Truncate(time.Second)
		if so.Revoked != nil {
			o.Revoked = &Revocation{At: so.Revoked.At.UTC().Truncate(time.Second), Reason: so.Revoked.Reason}
		}
		l.Officials = append(l.Officials, o)
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	return l, nil
}

// Publish builds the next list from s (sequence s.Sequence+1, issued at
// now), signs it with signer, the country's root CA (a CA certificate of
// the source's country), and verifies the
// result against the signer's certificate, so that what partners would
// refuse is never published. On success s.Sequence is the new sequence;
// the caller writes the list, then saves s.
func Publish(s *Source, signer *certs.Signer, now time.Time) ([]byte, *List, error) {
	root := signer.Certificate()
	if !root.IsCA {
		return nil, nil, fmt.Errorf("the signing certificate %q is not a CA's: a list is signed by the country's root CA, the certificate partners configure", root.Subject.String())
	}
	if cc := root.Subject.Country; len(cc) > 0 && !slices.Contains(cc, s.Country) {
		return nil, nil, fmt.Errorf("the signing certificate %q is not of %s", root.Subject.String(), s.Country)
	}
	l, err := s.Build(s.Sequence+1, now)
	if err != nil {
		return nil, nil, err
	}
	signed, err := l.Sign(signer)
	if err != nil {
		return nil, nil, err
	}
	checked, err := Verify(signed, []*x509.Certificate{root}, VerifyOptions{Country: s.Country, Now: now})
	if err != nil {
		return nil, nil, fmt.Errorf("the signed list does not verify: %w", err)
	}
	s.Sequence = l.Sequence
	return signed, checked, nil
}

// WriteFileAtomic writes data to a temporary file beside name, syncs it
// and renames it into place: readers see the old file or the new one.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
