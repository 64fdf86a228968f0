//go:build tools
package tools
import (
 _ "github.com/wneessen/go-mail"
 _ "github.com/emersion/go-smtp"
 _ "github.com/expr-lang/expr"
 _ "software.sslmate.com/src/go-pkcs12"
)
