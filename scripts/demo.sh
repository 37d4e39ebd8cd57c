#!/usr/bin/env bash
# Set everything up and start the demo: the training host (mode formation) with
# demo patients, SoftHSM test cards, and the DMP Desktop window.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

install_system_packages
install_python_packages "sandbox"

TRAINING_DIR="${DMP_TRAINING_DIR:-$ROOT/.training}"
PORT="${DMP_TRAINING_PORT:-8443}"
export DMP_TRAINING_DIR="$TRAINING_DIR"
export DMP_DESKTOP_CONFIG="$TRAINING_DIR/settings.json"

if [ ! -f "$TRAINING_DIR/settings.json" ]; then
  echo "==> Création de l'environnement de formation dans $TRAINING_DIR"
  "$VENV/bin/dmp-sandbox" demo init --dir "$TRAINING_DIR" --port "$PORT"
fi

# The official CIM-10 and BDPM of the training material, read where they are (never copied).
REFERENCE_DATA="${DMP_REFERENCE_DATA:-$ROOT/../shared/reference-data}"
if [ -d "$REFERENCE_DATA/cim10" ] && [ -d "$REFERENCE_DATA/bdpm" ]; then
  export DMP_REFERENCE_DATA="$REFERENCE_DATA"
  echo "==> Terminologies officielles (CIM-10, médicaments) depuis $REFERENCE_DATA"
  "$VENV/bin/dmp" terminology import --if-missing --reference-data "$REFERENCE_DATA"
fi

echo "==> Démarrage de l'hôte de formation sur https://localhost:$PORT"
"$VENV/bin/dmp-sandbox" serve --dir "$TRAINING_DIR" --port "$PORT" &
HOST_PID=$!
trap 'kill "$HOST_PID" 2>/dev/null || true; wait "$HOST_PID" 2>/dev/null || true' EXIT
"$VENV/bin/dmp-sandbox" wait-ready --dir "$TRAINING_DIR" --port "$PORT" --timeout 30

"$VENV/bin/dmp-sandbox" demo info --dir "$TRAINING_DIR"

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "Pas d'écran : la fenêtre ne peut pas s'ouvrir. Essai en ligne de commande :"
  SOFTHSM2_CONF="$TRAINING_DIR/softhsm/softhsm2.conf" \
    "$VENV/bin/dmp" status --card CPS3-DURAND --ins "$("$VENV/bin/dmp-sandbox" demo first-ins --dir "$TRAINING_DIR")" --pin-stdin <<<"1234"
  exit 0
fi
echo "==> Ouverture de DMP Desktop (carte CPS3-DURAND, code PIN 1234)"
"$VENV/bin/dmp-desktop"
