#!/usr/bin/env bash
# Shared setup for the demo and the tests: system packages, virtual environment,
# Python packages. Idempotent; sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DMP_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

# Debian/Ubuntu packages: the SoftHSM2 test card, OpenSC's pkcs11-tool, the
# libraries Qt needs at run time (offscreen and X11), Xvfb for screenshots.
APT_PACKAGES=(
  softhsm2 opensc
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6 libdbus-1-3
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core
  # the compiled reader of long document lists (setup.py: dmp_desktop/dmp/_ebrimscan.c)
  gcc libc6-dev pkg-config libxml2-dev python3-dev
)
# The tests run the training host on PostgreSQL too (start_test_postgres).
TEST_APT_PACKAGES=(postgresql)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "Droits administrateur nécessaires pour installer : $*" >&2; return 1; fi
}

install_system_packages() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ! python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "Python 3.11 ou plus récent est nécessaire (Debian 12, Ubuntu 24.04)." >&2
    exit 1
  fi
  python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
  python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv python3-pip)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> Installation des paquets système : ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  local extras="$1"
  if [ ! -x "$PY" ] || ! "$PY" -m pip --version >/dev/null 2>&1; then
    # Missing, or left half-made by an interrupted run (no pip): made again.
    echo "==> Création de l'environnement virtuel $VENV"
    python3 -m venv --clear "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  local source changed=""
  for source in pyproject.toml constraints.txt setup.py dmp_desktop/dmp/_ebrimscan.c; do
    if [ "$ROOT/$source" -nt "$stamp" ]; then changed=1; fi
  done
  if [ ! -f "$stamp" ] || [ -n "$changed" ]; then
    echo "==> Installation des paquets Python ($extras)"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[$extras]"
    touch "$stamp"
  fi
}

# A throwaway PostgreSQL server for the tests: a new cluster in a temporary
# directory, listening only on a Unix socket in that directory (no TCP), run
# by an unprivileged user (the "postgres" account when we are root), with
# durability off (fsync) since it is deleted at exit. Exports
# DMP_TEST_POSTGRES_URL (the superuser "postgres" on its "postgres" database)
# and stops the server and deletes the directory on exit (trap).
start_test_postgres() {
  local bin pgdir
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "PostgreSQL introuvable (/usr/lib/postgresql/*/bin) : installez le paquet postgresql." >&2
    return 1
  fi
  pgdir="$(mktemp -d "${TMPDIR:-/tmp}/dmp-test-pg.XXXXXX")"
  local -a run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    chown postgres: "$pgdir"
    run_as=(runuser -u postgres --)
  fi
  chmod 700 "$pgdir"
  DMP_TEST_PG_DIR="$pgdir"
  DMP_TEST_PG_CTL=("${run_as[@]}" "$bin/pg_ctl")
  trap stop_test_postgres EXIT
  echo "==> PostgreSQL de test ($("$bin/postgres" --version | awk '{print $3}')) dans $pgdir"
  "${run_as[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$pgdir/initdb.log" 2>&1 || { cat "$pgdir/initdb.log" >&2; return 1; }
  "${DMP_TEST_PG_CTL[@]}" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 start \
    -o "-c listen_addresses='' -c unix_socket_directories='$pgdir' -p 5432 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c max_connections=200" >/dev/null || { cat "$pgdir/server.log" >&2; return 1; }
  export DMP_TEST_POSTGRES_URL="postgresql+psycopg://postgres@/postgres?host=$pgdir&port=5432"
}

stop_test_postgres() {
  if [ -n "${DMP_TEST_PG_DIR:-}" ] && [ -d "$DMP_TEST_PG_DIR" ]; then
    "${DMP_TEST_PG_CTL[@]}" -D "$DMP_TEST_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DMP_TEST_PG_DIR"
  fi
}
