# syntax=docker/dockerfile:1
# Build: docker build -t vucelink .
# Run:   docker run -v /etc/vucelink:/etc/vucelink:ro -p 8443:8443 vucelink run --config /etc/vucelink/config.yaml
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (no cgo): a static binary that runs on distroless/static.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/vucelink ./cmd/vucelink

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vucelink /usr/local/bin/vucelink
USER nonroot:nonroot
EXPOSE 8080 8443 3128
ENTRYPOINT ["/usr/local/bin/vucelink"]
CMD ["run", "--config", "/etc/vucelink/config.yaml"]
