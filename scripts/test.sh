#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint, types, unit, host, UI,
# end-to-end (SoftHSM card + training host over real mutual TLS).
#
# The training host runs on SQLite and on PostgreSQL: a throwaway PostgreSQL
# server is started for the run (scripts/bootstrap.sh: start_test_postgres,
# Unix socket in a temporary directory, stopped and deleted at exit).
#   1. pytest on everything, training hosts on SQLite; the PostgreSQL-only
#      tests use the server (DMP_TEST_POSTGRES_SERVER);
#   2. pytest on tests/e2e, the host's rule tests and the migrations test again, every training host
#      on a fresh PostgreSQL database (DMP_TEST_POSTGRES_URL, see the
#      host_db_url fixture in tests/conftest.py).
# With pytest arguments (./scripts/test.sh tests/unit -k x), only run 1 with
# them. DMP_TEST_NO_POSTGRES=1 skips PostgreSQL altogether.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

with_postgres=1
[ "${DMP_TEST_NO_POSTGRES:-}" = "1" ] && with_postgres=0
if [ "$with_postgres" = 1 ]; then
  install_system_packages "${TEST_APT_PACKAGES[@]}"
  install_python_packages "sandbox,postgres,test"
else
  install_system_packages
  install_python_packages "sandbox,test"
fi

cd "$ROOT"
export QT_QPA_PLATFORM=offscreen
echo "==> ruff"
"$VENV/bin/ruff" check .
echo "==> mypy"
"$VENV/bin/mypy" dmp_desktop dmp_sandbox dmp_actors

run_pytest() {
  local status
  set +e
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
  status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "ÉCHEC : aucun test n'a été exécuté (pytest code 5)." >&2
    return 1
  fi
  return "$status"
}

server_url=""
if [ "$with_postgres" = 1 ]; then
  start_test_postgres
  server_url="$DMP_TEST_POSTGRES_URL"
  unset DMP_TEST_POSTGRES_URL
fi

echo "==> pytest (hôte de formation sur SQLite)"
status=0
DMP_TEST_POSTGRES_SERVER="$server_url" run_pytest "$@" || status=$?
if [ "$with_postgres" = 1 ] && [ "$#" -eq 0 ]; then
  echo "==> pytest (hôte de formation sur PostgreSQL : tests/e2e)"
  # The host's rules (issue #13: judge, signatures, centre 15, bris de glace, legal
  # representatives, recordTarget, file modes) are proven on both engines too.
  DMP_TEST_POSTGRES_URL="$server_url" run_pytest tests/e2e tests/unit/test_migrations.py \
    tests/host/test_judge.py tests/host/test_consultation.py tests/host/test_patient_space.py \
    tests/host/test_alimentation.py tests/host/test_alimentation_signature.py \
    tests/host/test_record_target.py tests/host/test_permissions.py \
    || status=$?
fi
exit "$status"
