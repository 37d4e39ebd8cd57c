#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, unit, host, UI,
# end-to-end (SoftHSM card + training host over real mutual TLS).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

install_system_packages
install_python_packages "sandbox,test"

cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
echo "==> ruff"
"$VENV/bin/ruff" check .
echo "==> mypy"
"$VENV/bin/mypy" dmp_desktop dmp_sandbox
echo "==> pytest"
set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "ÉCHEC : aucun test n'a été exécuté (pytest code 5)." >&2
  exit 1
fi
exit "$status"
