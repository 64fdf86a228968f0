package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

//go:embed migrations/postgres/*.sql
var pgMigrations embed.FS

// Advisory lock keys (one namespace: vucelink's).
const (
	lockMigrations = 7301_0001
	lockTrail      = 7301_0002
)

// Postgres is the store for replicas: any number of processes of one node
// share it. Claims skip rows other workers hold (FOR UPDATE SKIP LOCKED),
// verdicts and new work reach every process by LISTEN/NOTIFY, and roles
// only one process may play (fetching officials lists, watching expiry,
// posting callbacks in order) are held through advisory locks.
type Postgres struct {
	*sqlStore
	dsn     string
	logger  *slog.Logger
	settled chan string
	due     chan string
	stop    context.CancelFunc
	done    chan struct{}
	ready   chan struct{} // closed once first listening
	once    sync.Once
}

// OpenPostgres connects to dsn, applies the embedded migrations not yet
// applied (under an advisory lock, so replicas starting together apply
// each once) and starts listening for other processes' news.
func OpenPostgres(ctx context.Context, dsn string, logger *slog.Logger) (*Postgres, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(time.Minute)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store (postgres): %w", err)
	}
	p := &Postgres{dsn: dsn, logger: logger, settled: make(chan string, 1024), due: make(chan string, 64), done: make(chan struct{}), ready: make(chan struct{})}
	p.sqlStore = &sqlStore{db: db, rdb: db, d: dialect{
		rebind:   rebindDollar,
		lockRow:  " FOR UPDATE",
		claimRow: " FOR UPDATE SKIP LOCKED",
		greatest: "GREATEST",
		caseless: func(x string) string { return "lower(" + x + ")" },
		begin: func(ctx context.Context, relaxed bool) (*sql.Tx, func(), error) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return nil, nil, err
			}
			if relaxed {
				if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
					tx.Rollback()
					return nil, nil, err
				}
			}
			return tx, nil, nil
		},
		beforeTrail: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockTrail)
			return err
		},
		notify: func(ctx context.Context, tx *sql.Tx, channel, payload string) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
			return err
		},
	}}
	lctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go p.listen(lctx)
	// News sent once Open returns reaches this process.
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		p.Close()
		return nil, errors.New("store (postgres): could not LISTEN within 10s")
	}
	return p, nil
}

// rebindDollar turns ? placeholders into $1, $2, … (no statement here has
// a ? inside a string literal).
func rebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migratePostgres applies, in order and each in its own transaction, the
// embedded migrations the database has not recorded yet.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockMigrations); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockMigrations)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(pgMigrations, "migrations/postgres/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := name[strings.LastIndex(name, "/")+1:]
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with its version number", base)
		}
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		body, err := pgMigrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`, version, base, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// SchemaVersion is the highest migration applied.
func (p *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := p.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// listen relays other processes' notifications to Settled and Due,
// reconnecting (with backoff) when the database goes away.
func (p *Postgres) listen(ctx context.Context) {
	defer close(p.done)
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		p.logger.Warn("store: listening for other replicas' news failed; reconnecting", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (p *Postgres) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, ch := range []string{chanSettled, chanDue} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	p.once.Do(func() { close(p.ready) })
	// News missed while disconnected: wake every worker once.
	select {
	case p.due <- "":
	default:
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		out := p.due
		if n.Channel == chanSettled {
			out = p.settled
		}
		select {
		case out <- n.Payload:
		default: // a full channel: the reader is behind and polls anyway
		}
	}
}

// Settled delivers tracking IDs that reached a verdict in any replica.
func (p *Postgres) Settled() <-chan string { return p.settled }

// Due delivers partners with new documents due ("" for all).
func (p *Postgres) Due() <-chan string { return p.due }

// Ping checks the database answers.
func (p *Postgres) Ping(ctx context.Context) error {
	_, err := p.db.ExecContext(ctx, `SELECT 1`)
	return err
}

// Close stops listening and closes the pool.
func (p *Postgres) Close() error {
	p.stop()
	<-p.done
	return p.db.Close()
}

// lockKey names an advisory lock for a role.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("vucelink:" + name))
	return int64(h.Sum64() >> 1)
}

// Singleton runs f while this process holds the named advisory lock, on a
// connection kept for it; if the connection dies (the database restarted)
// f's context ends and the role is sought again, by every replica.
func (p *Postgres) Singleton(ctx context.Context, name string, f func(ctx context.Context)) {
	for ctx.Err() == nil {
		held, err := p.holdRole(ctx, name, f)
		if err != nil && ctx.Err() == nil {
			p.logger.Warn("store: role lost or not taken", "role", name, "error", err)
		}
		if !held || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
}

func (p *Postgres) holdRole(ctx context.Context, name string, f func(ctx context.Context)) (bool, error) {
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(name)).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, nil
	}
	p.logger.Info("store: role taken", "role", name)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f(rctx) }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			cancel()
			conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey(name))
			return true, nil
		case <-t.C:
			pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
			err := conn.PingContext(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				cancel()
				<-done
				// The session that held the lock is gone; so is the lock.
				conn.Raw(func(any) error { return driver.ErrBadConn })
				return true, fmt.Errorf("role %s: connection lost: %w", name, err)
			}
		}
	}
}

var _ Store = (*Postgres)(nil)
