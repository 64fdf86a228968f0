package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BackupInfo describes a backup BackupSQLite made.
type BackupInfo struct {
	Path                   string
	Bytes                  int64
	Documents, Transitions int64
}

// BackupSQLite writes a consistent copy of the SQLite store at path to
// out, while the node that holds the store goes on working: SQLite's
// VACUUM INTO reads one snapshot (the last commit, write-ahead log
// included, which a copy of the file would miss) on a read-only
// connection of its own, beside the node's lock. The copy is written
// under a temporary name, checked (PRAGMA integrity_check), fsynced and
// only then renamed to out, so a failed backup leaves nothing that looks
// like one. out must not exist.
//
// PostgreSQL stores are backed up with PostgreSQL's own tools
// (pg_dump, or base backups with WAL archiving).
func BackupSQLite(ctx context.Context, path, out string) (BackupInfo, error) {
	if _, err := os.Stat(path); err != nil {
		return BackupInfo{}, fmt.Errorf("store %s: %w", path, err)
	}
	if _, err := os.Lstat(out); err == nil {
		return BackupInfo{}, fmt.Errorf("backup %s: already exists; give a new name", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return BackupInfo{}, fmt.Errorf("backup %s: %w", out, err)
	}
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	os.Remove(tmp) // a previous attempt's leftover
	src, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return BackupInfo{}, err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return BackupInfo{}, fmt.Errorf("store %s: copying: %w", path, err)
	}
	info, err := check(ctx, tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err == nil {
		err = syncFile(filepath.Dir(out))
	}
	if err != nil {
		os.Remove(tmp)
		return BackupInfo{}, fmt.Errorf("backup %s: %w", out, err)
	}
	info.Path = out
	return info, nil
}

// check opens a backup and verifies it is whole.
func check(ctx context.Context, file string) (BackupInfo, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return BackupInfo{}, err
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&verdict); err != nil {
		return BackupInfo{}, err
	}
	if verdict != "ok" {
		return BackupInfo{}, fmt.Errorf("the copy fails SQLite's integrity check: %s", verdict)
	}
	var info BackupInfo
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM transitions)`).Scan(&info.Documents, &info.Transitions); err != nil {
		return BackupInfo{}, err
	}
	st, err := os.Stat(file)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Bytes = st.Size()
	return info, nil
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
