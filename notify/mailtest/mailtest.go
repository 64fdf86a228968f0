// Package mailtest is a real SMTP server for tests and the demo, on
// loopback, that keeps every message it receives and decodes what a mail
// client would show (subject, text and HTML parts) — the mail
// counterpart of net/http/httptest.
package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one received message.
type Message struct {
	From       string   // envelope sender
	To         []string // envelope recipients, sorted
	Header     netmail.Header
	Subject    string // decoded
	Text, HTML string
}

// Server is a running SMTP server.
type Server struct {
	user, pass string // when set, AUTH PLAIN with these is required
	addr       string
	srv        *smtp.Server

	mu   sync.Mutex
	msgs []Message
}

// NewServer listens on addr ("127.0.0.1:0" for any port) and serves until
// Close. With user set, clients must authenticate (AUTH PLAIN, allowed
// without TLS since the server is meant for loopback).
func NewServer(addr, user, pass string) (*Server, error) {
	s := &Server{user: user, pass: pass}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.addr = l.Addr().String()
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.ErrorLog = discard{}
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// Host and Port split Addr.
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.addr); return h }

// Port is the TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Messages returns what was received so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != ss.s.user || pass != ss.s.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To = ss.from, slices.Clone(ss.to)
	slices.Sort(m.To)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// Parse decodes a multipart message: the subject and the text and HTML
// alternatives.
func Parse(raw []byte) (Message, error) {
	var out Message
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return out, err
	}
	out.Header = m.Header
	if out.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		return out, err
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return out, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return out, errors.New("not multipart: " + mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		b, err := io.ReadAll(p) // quoted-printable is decoded by the reader
		if err != nil {
			return out, err
		}
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "text/plain"):
			out.Text = string(b)
		case strings.HasPrefix(ct, "text/html"):
			out.HTML = string(b)
		}
	}
}
