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
)

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
  if [ ! -x "$PY" ]; then
    echo "==> Création de l'environnement virtuel $VENV"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$ROOT/constraints.txt" -nt "$stamp" ]; then
    echo "==> Installation des paquets Python ($extras)"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -c "$ROOT/constraints.txt" -e "$ROOT[$extras]"
    touch "$stamp"
  fi
}
