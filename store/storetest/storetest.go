// Package storetest opens stores for other packages' tests: the same
// store as two processes (two replicas) would see it.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vucelink/vucelink/store"
	"github.com/vucelink/vucelink/store/pgtest"
)

// Kinds are the store implementations every replica test runs on.
var Kinds = []string{"sqlite", "postgres"}

// Pair opens one store of the given kind twice, as two replicas have it:
// on SQLite the same handle (one file, one process), on PostgreSQL two
// connections to one fresh database (started by pgtest; skipped or fatal
// as pgtest decides). Both close when the test ends.
func Pair(t *testing.T, kind string) (store.Store, store.Store) {
	t.Helper()
	switch kind {
	case "sqlite":
		st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "node.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, st
	case "postgres":
		dsn := pgtest.Start(t).NewDatabase(t)
		var out [2]store.Store
		for i := range out {
			st, err := store.OpenPostgres(context.Background(), dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			out[i] = st
		}
		return out[0], out[1]
	}
	t.Fatalf("unknown store kind %q", kind)
	return nil, nil
}
