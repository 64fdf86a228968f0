package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vucelink/vucelink/config"
	"github.com/vucelink/vucelink/store"
)

// cmdBackup copies the node's SQLite store, consistently, while the node
// runs (store.BackupSQLite).
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	file := fs.String("config", "config.yaml", "configuration file")
	out := fs.String("out", "", "the backup file to write (must not exist)")
	if _, err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required: the file to write the backup to")
	}
	cfg, err := config.Load(*file)
	if err != nil {
		return err
	}
	if cfg.Store.Driver == "postgres" {
		return fmt.Errorf("store.driver is postgres: back it up with PostgreSQL's tools (pg_dump, or base backups with WAL archiving), which see every replica's writes")
	}
	info, err := store.BackupSQLite(ctx, cfg.Store.Path, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d documents, %d history entries, %.1f MB; integrity check ok\n",
		cfg.Store.Path, info.Path, info.Documents, info.Transitions, float64(info.Bytes)/(1<<20))
	fmt.Fprintln(stdout, "To restore: stop the node, put the file at store.path (remove the old -wal and -shm files), start it.")
	return nil
}
