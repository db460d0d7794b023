# restauth in a container: a static binary on distroless/static, as a
# non-root user, with the SQLite database on a volume.
#
#   docker build -t restauth --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) .
#
# Plain HTTP is served only on loopback unless told otherwise, and a
# container's port is not loopback, so the image does not start until one of
# these is given (docs/deploying.md):
#   behind a TLS-terminating proxy:  -e RESTAUTH_INSECURE_HTTP=true
#   TLS in the container:            -e RESTAUTH_TLS_CERT=/tls/cert.pem -e RESTAUTH_TLS_KEY=/tls/key.pem

# The builder runs on the build machine's platform and cross-compiles, so a
# multi-platform build (docker buildx build --platform linux/amd64,linux/arm64)
# needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Set by BuildKit (the default builder since Docker 23) for the platform being
# built; empty, they mean the build machine's own.
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
# .git is not in the build context (.dockerignore), so the commit comes in as
# a build argument instead of from the toolchain's VCS stamping.
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.buildVersion=${VERSION} -X main.buildCommit=${COMMIT}" \
      -o /out/restauth ./cmd/restauth \
 && mkdir -p /out/data

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell, no
# package manager. 65532 is its "nonroot" user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/restauth /restauth
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV RESTAUTH_DB=/data/restauth.db \
    RESTAUTH_ADDR=0.0.0.0:5000
VOLUME ["/data"]
EXPOSE 5000
# No curl in the image: the binary probes its own /healthz (restauth
# healthcheck reads RESTAUTH_ADDR and, with TLS, RESTAUTH_TLS_CERT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["/restauth", "healthcheck"]
# SIGTERM starts a graceful shutdown of up to 10 s (--shutdown-timeout);
# give docker stop at least that long.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/restauth"]
CMD ["serve"]
