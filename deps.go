package vucelink

import (
	_ "github.com/beevik/etree"
	_ "github.com/elazarl/goproxy"
	_ "github.com/hashicorp/go-retryablehttp"
	_ "github.com/russellhaering/goxmldsig"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/bcrypt"
)
