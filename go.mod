module github.com/vucelink/vucelink

go 1.26.8

require (
	github.com/beevik/etree v1.8.1
	github.com/elazarl/goproxy v1.9.3
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/russellhaering/goxmldsig v1.6.1
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/crypto v0.59.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
