// Command gen writes the generated code tables and code-list types into
// the rules directory (package codelists says what and from where):
//
//	go generate ./rules/
//
// With -check it writes nothing and exits 1 if a committed file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/vucelink/vucelink/rules/internal/codelists"
)

func main() {
	src := flag.String("src", "../../shared/standards/codelists", "the official code-list schemas")
	out := flag.String("out", ".", "the rules directory to write into")
	check := flag.Bool("check", false, "write nothing; exit 1 if a committed file differs from what the sources give")
	flag.Parse()
	files, err := codelists.Generate(*src)
	if err != nil {
		log.Fatal(err)
	}
	stale := 0
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(*out, name)
		if *check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, files[name]) {
				fmt.Fprintf(os.Stderr, "%s is not what codelists/gen makes from %s: run go generate ./rules/\n", path, *src)
				stale++
			}
			continue
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if stale > 0 {
		os.Exit(1)
	}
}
