#!/usr/bin/env bash
# Installs btcd and btcctl v0.24.2 (a real Bitcoin full node, used as the regtest chain backend in tests)
# into $(go env GOPATH)/bin with `go install` through the Go module proxy. Idempotent: does nothing when
# both binaries are already there at the pinned version. The test harness (test/harness/btcd.ts) finds
# them in $(go env GOPATH)/bin, or via $BTCD_BIN (path to the btcd binary).
set -euo pipefail

BTCD_VERSION="${BTCD_VERSION:-v0.24.2}"

if ! command -v go >/dev/null 2>&1; then
  echo "install-btcd: Go is not installed (need go on PATH to build btcd ${BTCD_VERSION})" >&2
  exit 1
fi

GOBIN_DIR="$(go env GOBIN)"
[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH)/bin"

installed_version() {
  # `go version -m` prints the module version the binary was built from.
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'
}

if [ -x "$GOBIN_DIR/btcd" ] && [ -x "$GOBIN_DIR/btcctl" ] \
  && [ "$(installed_version "$GOBIN_DIR/btcd")" = "$BTCD_VERSION" ] \
  && [ "$(installed_version "$GOBIN_DIR/btcctl")" = "$BTCD_VERSION" ]; then
  echo "install-btcd: btcd ${BTCD_VERSION} already in $GOBIN_DIR"
  exit 0
fi

echo "install-btcd: go install btcd and btcctl ${BTCD_VERSION} into $GOBIN_DIR"
go install "github.com/btcsuite/btcd@${BTCD_VERSION}" "github.com/btcsuite/btcd/cmd/btcctl@${BTCD_VERSION}"
"$GOBIN_DIR/btcd" --version
