package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vucelink/vucelink/access"
)

// cmdToken makes a bearer token for a client of the admin listener (API,
// metrics) or of a legacy route. The token is printed once, here; the
// configuration keeps only its hash.
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "new" {
		return usagef("the only token subcommand is new")
	}
	fs := flag.NewFlagSet("token new", flag.ContinueOnError)
	name := fs.String("name", "", "client name, as the history will record it (required)")
	role := fs.String("role", "", "viewer, operator or legacy (required)")
	if _, err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if *name == "" || !access.Role(*role).Valid() {
		return usagef("--name and --role viewer|operator|legacy are required")
	}
	token, hash := access.NewToken()
	fmt.Fprintf(stdout, "token (give it to the client; it is not shown again):\n  %s\n\n", token)
	fmt.Fprintf(stdout, "add to the configuration:\naccess:\n  clients:\n    - {name: %s, role: %s, token_hash: '%s'}\n", *name, *role, hash)
	return nil
}
