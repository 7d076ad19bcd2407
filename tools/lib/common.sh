# Shared by tools/test, tools/demo and tools/bench: package installation and
# the build. Sourced, not run.

VIGIL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Every Debian package Vigil needs to build, test and demo. One list, used by
# every script; a package installed by hand and missing here breaks the next
# machine.
VIGIL_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libcaf-dev libprotobuf-dev protobuf-compiler librocksdb-dev libsnappy-dev
  zlib1g-dev libssl-dev libboost-dev libboost-graph-dev libeigen3-dev
  libcurl4-openssl-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  nlohmann-json3-dev libedit-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-snappy python3-sklearn nodejs npm
  prometheus prometheus-alertmanager prometheus-node-exporter
)

# Packages that another packaging may already provide: when the command is on
# PATH the package is not needed. NodeSource's nodejs bundles npm and conflicts
# with Debian's npm package, so asking apt for npm there would fail.
declare -A VIGIL_PROVIDED_BY_COMMAND=([nodejs]=node [npm]=npm)

vigil_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs whatever of VIGIL_PACKAGES is missing (apt-get, as root).
vigil_install_packages() {
  local missing=()
  local p
  for p in "${VIGIL_PACKAGES[@]}"; do
    local cmd="${VIGIL_PROVIDED_BY_COMMAND[$p]:-}"
    if [ -n "$cmd" ] && command -v "$cmd" >/dev/null 2>&1; then
      continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  vigil_log "installing ${#missing[@]} missing packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "need root to install: ${missing[*]}" >&2
      return 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  # The Debian packages of Prometheus and Alertmanager try to start services
  # at install time; a policy-rc.d keeps that from happening in containers.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod +x "$policy"
    created_policy=1
  fi
  $sudo apt-get update -q || true
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  local rc=$?
  if [ $created_policy -eq 1 ]; then $sudo rm -f "$policy"; fi
  return $rc
}

# Configures (once) and builds into $1 (default build/) with extra CMake
# arguments after it.
vigil_build() {
  local dir="${1:-$VIGIL_ROOT/build}"
  shift || true
  if [ ! -f "$dir/build.ninja" ]; then
    vigil_log "configuring $dir"
    cmake -S "$VIGIL_ROOT" -B "$dir" -G Ninja "$@" >/dev/null
  fi
  vigil_log "building $dir"
  cmake --build "$dir" -j "$(nproc)"
}
