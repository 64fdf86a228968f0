// Package pgtest starts a throwaway PostgreSQL server (Debian's, from
// PATH or /usr/lib/postgresql/*/bin) for tests, on loopback, with trust
// authentication. PostgreSQL refuses to run as root: as root the server
// runs as the postgres user.
//
// Without PostgreSQL installed a test skips, unless VUCELINK_REQUIRE_POSTGRES
// is set (CI sets it), in which case it fails.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Server is a running PostgreSQL.
type Server struct {
	Port int
	dir  string
	bin  string
	asPG bool
	dbs  atomic.Int64
}

// bindir finds initdb.
func bindir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		// Debian puts initdb outside PATH; a PATH one is fine too.
		return filepath.Dir(p)
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return ""
	}
	return filepath.Dir(matches[len(matches)-1])
}

// Start starts a server stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := launch()
	if errors.Is(err, errNotInstalled) {
		missing(t)
	}
	if s != nil {
		t.Cleanup(s.remove)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// shared is the one server of a test binary (Shared).
var shared struct {
	sync.Mutex
	s   *Server
	err error
}

// Shared returns the test binary's one server, started by the first
// caller; the package's TestMain stops it with StopShared. Tests that each
// need only a fresh database (NewDatabase) share it rather than pay for
// initdb each.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil && shared.err == nil {
		shared.s, shared.err = launch()
		if shared.err != nil && shared.s != nil {
			shared.s.remove()
			shared.s = nil
		}
	}
	if errors.Is(shared.err, errNotInstalled) {
		missing(t)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.s
}

// StopShared stops the server Shared started, if any.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		shared.s.remove()
		shared.s = nil
	}
}

var errNotInstalled = errors.New("PostgreSQL not installed")

// missing skips t, or fails it where PostgreSQL is required.
func missing(t testing.TB) {
	t.Helper()
	if os.Getenv("VUCELINK_REQUIRE_POSTGRES") != "" {
		t.Fatal("PostgreSQL is required (VUCELINK_REQUIRE_POSTGRES is set) but not installed: apt-get install postgresql")
	}
	t.Skip("PostgreSQL not installed (apt-get install postgresql); set VUCELINK_REQUIRE_POSTGRES to fail instead")
}

// launch initializes and starts a server in a new directory. On an error
// after the directory was made, the returned server is to be removed.
func launch() (*Server, error) {
	bin := bindir()
	if bin == "" {
		return nil, errNotInstalled
	}
	dir, err := os.MkdirTemp("", "vucelink-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, asPG: os.Geteuid() == 0}
	if s.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			return s, fmt.Errorf("running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return s, err
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return s, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	s.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return s, s.Start()
}

// remove stops the server at once and deletes its files.
func (s *Server) remove() {
	s.ctl("stop", "-m", "immediate")
	os.RemoveAll(s.dir)
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) run(tool string, args ...string) ([]byte, error) {
	name := filepath.Join(s.bin, tool)
	if s.asPG {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	return exec.Command(name, args...).CombinedOutput()
}

func (s *Server) ctl(args ...string) ([]byte, error) {
	return s.run("pg_ctl", append([]string{"-D", s.data()}, args...)...)
}

// Start starts (or starts again) the server and waits until it answers.
func (s *Server) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", s.Port, s.dir)
	if out, err := s.ctl("-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "start"); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return nil
}

// Stop stops the server the fast way (connections cut, no waiting).
func (s *Server) Stop() error {
	if out, err := s.ctl("-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}

// DSN is the connection string of database db.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates a fresh database and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, s.dbs.Add(1))
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.DSN(name)
}
