package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// stdin is where hash-password reads the password (a variable for tests).
var stdin io.Reader = os.Stdin

// cmdHashPassword prints a bcrypt hash of the password read from standard
// input, for console.users[].password_hash and partners.*.inbound_auth.
// The password is never taken as an argument: it would land in the
// shell's history and the process list.
func cmdHashPassword(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	cost := fs.Int("cost", 12, "bcrypt cost (10 to 15)")
	rest, err := parse(fs, args, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("the password is read from standard input, not from arguments")
	}
	if *cost < 10 || *cost > 15 {
		return usagef("--cost must be between 10 and 15")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 12 {
		return errors.New("the password must be at least 12 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), *cost)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(h))
	return nil
}
