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
# The machine's two cores are both used: two lanes run side by side, each a
# series of ordinary serial pytest processes with their own SoftHSM cards,
# temporary folders, free ports and databases:
#   lane 1: run 1 on everything but tests/unit and tests/host;
#   lane 2: mypy, run 1 on tests/unit and tests/host, then run 2.
# The second lane's output is printed after the first's; the script fails if
# either lane does.
# With pytest arguments (./scripts/test.sh tests/unit -k x), only run 1 with
# them, after mypy. DMP_TEST_NO_POSTGRES=1 skips PostgreSQL altogether.
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

took() { echo "    ($((SECONDS - $1)) s)"; }

echo "==> ruff"
"$VENV/bin/ruff" check .

run_mypy() {
  local since=$SECONDS
  echo "==> mypy"
  "$VENV/bin/mypy" dmp_desktop dmp_sandbox dmp_actors
  took "$since"
}

run_pytest() {
  local status since=$SECONDS
  set +e
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
  status=$?
  set -e
  took "$since"
  if [ "$status" -eq 5 ]; then
    echo "ÉCHEC : aucun test n'a été exécuté (pytest code 5)." >&2
    return 1
  fi
  return "$status"
}

# Run 2: the end-to-end suite, the host's rules and the migrations on PostgreSQL.
# The host's rules (issue #13: judge, signatures, centre 15, bris de glace, legal
# representatives, recordTarget, file modes) are proven on both engines too.
POSTGRES_RUN=(tests/e2e tests/unit/test_migrations.py
  tests/host/test_judge.py tests/host/test_consultation.py tests/host/test_patient_space.py
  tests/host/test_alimentation.py tests/host/test_alimentation_signature.py
  tests/host/test_record_target.py tests/host/test_permissions.py)

# Run 1's folders that go to the second lane (the first lane runs all the others).
SECOND_LANE=(tests/unit tests/host)

if [ "$with_postgres" = 0 ] || [ "$#" -gt 0 ]; then
  run_mypy
  server_url=""
  if [ "$with_postgres" = 1 ]; then
    start_test_postgres
    server_url="$DMP_TEST_POSTGRES_URL"
    unset DMP_TEST_POSTGRES_URL
  fi
  echo "==> pytest (hôte de formation sur SQLite)"
  DMP_TEST_POSTGRES_SERVER="$server_url" run_pytest "$@"
  exit $?
fi

start_test_postgres
server_url="$DMP_TEST_POSTGRES_URL"
unset DMP_TEST_POSTGRES_URL

lane_dir="$(mktemp -d "${TMPDIR:-/tmp}/dmp-test-lane.XXXXXX")"
lane_pids=()
stop_lanes() {
  local pid
  for pid in "${lane_pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${lane_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$lane_dir"
}
trap 'stop_lanes; stop_test_postgres' EXIT
# Ctrl-C (or a CI job's SIGTERM) stops both lanes whole, with their hosts and
# commands, then PostgreSQL: the lanes are background jobs the script waits
# for (a wait is interrupted by a signal, a foreground command is not).
trap 'echo "Interrompu : arrêt des deux files de tests." >&2; exit 130' INT TERM

# Each lane in its own process group (set -m), so that it can be stopped whole.
set -m
(
  set +e
  lane_status=0
  run_mypy || lane_status=1
  echo "==> pytest (hôte de formation sur SQLite : ${SECOND_LANE[*]})"
  DMP_TEST_POSTGRES_SERVER="$server_url" run_pytest "${SECOND_LANE[@]}" || lane_status=1
  echo "==> pytest (hôte de formation sur PostgreSQL : tests/e2e)"
  DMP_TEST_POSTGRES_URL="$server_url" run_pytest "${POSTGRES_RUN[@]}" || lane_status=1
  exit "$lane_status"
) >"$lane_dir/output" 2>&1 &
lane_pids+=("$!")
second=$!

echo "==> pytest (hôte de formation sur SQLite : tout sauf ${SECOND_LANE[*]}, qui vont à côté)"
ignored=()
for folder in "${SECOND_LANE[@]}"; do ignored+=("--ignore=$folder"); done
DMP_TEST_POSTGRES_SERVER="$server_url" run_pytest "${ignored[@]}" &
lane_pids+=("$!")
first=$!
set +m

status=0
wait "$first" || status=$?
lane_status=0
wait "$second" || lane_status=$?
lane_pids=()
cat "$lane_dir/output"
[ "$lane_status" -eq 0 ] || status=1
echo "==> tout : ${SECONDS} s depuis le début du script"
exit "$status"
