# syntax=docker/dockerfile:1
# Build: docker build -t vucelink .
# Run:   docker run -v /etc/vucelink:/etc/vucelink:ro -p 8443:8443 vucelink run --config /etc/vucelink/config.yaml
#
# vucelink validates documents against their XML Schemas with libxml2
# through cgo (schema/doc.go says why), so the binary is built with cgo
# against Debian 12's libxml2 and runs on Debian 12 slim with the same
# library — build and run images come from the same release on purpose.
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxml2-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/vucelink ./cmd/vucelink \
 && ldd /out/vucelink | grep -q libxml2

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxml2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 65532 --home-dir /var/lib/vucelink --create-home vucelink
COPY --from=build /out/vucelink /usr/local/bin/vucelink
USER 65532:65532
WORKDIR /var/lib/vucelink
EXPOSE 8080 8443 3128
ENTRYPOINT ["/usr/local/bin/vucelink"]
CMD ["run", "--config", "/etc/vucelink/config.yaml"]
