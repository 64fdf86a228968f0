# syntax=docker/dockerfile:1
# Build: docker build -t vucelink .
# Run (configuration and keys read-only; state in a volume under /var/lib/vucelink):
#   docker run --read-only -v /etc/vucelink:/etc/vucelink:ro -v vucelink-state:/var/lib/vucelink \
#     -p 8443:8443 vucelink run --config /etc/vucelink/config.yaml
# The shipped config.yaml keeps its store at ${VUCELINK_STATE_DIR:-.}/vucelink-CL.db; the image
# sets VUCELINK_STATE_DIR=/var/lib/vucelink, so the SQLite store (and its lock, and the officials
# cache beside it) is written there and never beside the read-only configuration.
#
# vucelink validates documents against their XML Schemas with libxml2
# through cgo (schema/doc.go says why), so the binary is built with cgo
# against Debian 12's libxml2 and runs on Debian 12 slim with the same
# library — build and run images come from the same release on purpose.
#
# The signing keys' RSA operations run in OpenSSL 3's libcrypto (loaded at
# run time, certs/opensslkey): the run image installs libssl3 for it.
#
# Base images are pinned to exact releases (the Go toolchain of go.mod, a
# Debian point release); pin them further by digest in your registry
# (--build-arg GO_IMAGE=golang@sha256:… RUN_IMAGE=debian@sha256:…).
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG RUN_IMAGE=debian:12.11-slim

FROM ${GO_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxml2-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/vucelink ./cmd/vucelink \
 && ldd /out/vucelink | grep -q libxml2

FROM ${RUN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxml2 libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --home-dir /var/lib/vucelink --create-home vucelink
COPY --from=build /out/vucelink /usr/local/bin/vucelink
ENV VUCELINK_STATE_DIR=/var/lib/vucelink
USER 65532:65532
WORKDIR /var/lib/vucelink
VOLUME ["/var/lib/vucelink"]
EXPOSE 8080 8081 8443 3128
# The image has no curl: the node checks itself (admin listener, /healthz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/vucelink", "healthcheck", "--config", "/etc/vucelink/config.yaml"]
ENTRYPOINT ["/usr/local/bin/vucelink"]
CMD ["run", "--config", "/etc/vucelink/config.yaml"]
