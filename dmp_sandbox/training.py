"""The training environment: test PKI, SoftHSM cards, host database, client settings.

One directory holds everything the demo and the tests need::

    <root>/pki/...            test IGC-Santé hierarchy and host certificate
    <root>/softhsm/...        SoftHSM2 configuration and tokens (the test cards)
    <root>/host.db            the training host's SQLite database
    <root>/settings.json      client settings pointing at all of the above
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from dmp_desktop.settings import SOFTHSM_MODULE, Settings, save_settings
from dmp_sandbox.cards import STAFF_TITLE, CardSpec, create_card, write_softhsm_conf
from dmp_sandbox.pki import PkiPaths, init_pki
from dmp_sandbox.regulation import REGULATION_CENTRE_ID, REGULATION_CENTRES

DEFAULT_PORT = 8443
TRAINING_DIR_ENV = "DMP_TRAINING_DIR"


def default_root() -> Path:
    """Where the training environment lives unless told otherwise.

    ``$DMP_TRAINING_DIR`` when set, else ``dmp-desktop/training`` under the
    user's data directory (``$XDG_DATA_HOME``, by default ``~/.local/share``).
    """
    env = os.environ.get(TRAINING_DIR_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dmp-desktop" / "training"


# The demo cards (test identities, RPPS in the 899700 test range).
DEMO_CARDS: tuple[CardSpec, ...] = (
    CardSpec("CPS3-DURAND", "899700433153", "Durand", "Marie", "Médecin", "1234", specialty="SM26"),
    CardSpec("CPS4-MARTIN", "899700433160", "Martin", "Paul", "Médecin", "4321", cps4=True),
    CardSpec("CPE-BERNARD", "3499700433153007/SEC0001", "Bernard", "Sophie", STAFF_TITLE, "1111"),
    # The regulating physician of the training SAMU-Centre 15 (the only "centre_15" access).
    CardSpec(
        "CPS3-REGULATEUR",
        "899700433184",
        "Leroy",
        "Claire",
        "Médecin",
        "1515",
        structure_id=REGULATION_CENTRE_ID,
        structure_name=REGULATION_CENTRES[REGULATION_CENTRE_ID],
        sector="SA01",  # a SAMU is part of a public health establishment
    ),
)


@dataclass(frozen=True)
class TrainingEnv:
    root: Path
    port: int = DEFAULT_PORT

    @property
    def pki(self) -> PkiPaths:
        return PkiPaths(self.root / "pki")

    @property
    def softhsm_dir(self) -> Path:
        return self.root / "softhsm"

    @property
    def softhsm_conf(self) -> Path:
        return self.softhsm_dir / "softhsm2.conf"

    @property
    def db_path(self) -> Path:
        return self.root / "host.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    @property
    def settings_path(self) -> Path:
        return self.root / "settings.json"

    @property
    def host_url(self) -> str:
        return f"https://localhost:{self.port}"

    def client_settings(self) -> Settings:
        return Settings(
            pkcs11_module=SOFTHSM_MODULE,
            softhsm_conf=str(self.softhsm_conf),
            host_url=self.host_url,
            trust_roots=str(self.pki.trust_roots),
            auth_mode="DIRECTE",
            profile="formation",
            ins_kind="TEST_NIR",
            structure_id="499700433153007",
            data_dir=str(self.root / "client-data"),
            practice_professionals=[
                {
                    "national_id": "899700433153",
                    "family_name": "Durand",
                    "given_name": "Marie",
                    "profession_code": "10",
                    "profession": "Médecin",
                    "specialty_code": "SM26",
                    "specialty_label": "Qualifié en médecine générale",
                },
                {
                    "national_id": "899700433160",
                    "family_name": "Martin",
                    "given_name": "Paul",
                    "profession_code": "10",
                    "profession": "Médecin",
                },
            ],
        )


def init_training_env(
    root: Path, cards: tuple[CardSpec, ...] = DEMO_CARDS, port: int = DEFAULT_PORT
) -> TrainingEnv:
    """Create (or re-create) the whole training environment under ``root``."""
    env = TrainingEnv(Path(root).resolve(), port)
    private_dir(env.root)
    init_pki(env.pki.root)
    write_softhsm_conf(env.softhsm_dir)
    for spec in cards:
        create_card(spec, env.pki, env.softhsm_conf)
    save_settings(env.client_settings(), env.settings_path)
    return env


def private_dir(path: Path) -> Path:
    """A folder of the training environment: the owner's only (0700), created if need be."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def describe_cards(cards: tuple[CardSpec, ...] = DEMO_CARDS) -> list[dict[str, str]]:
    """What the demo prints so that a trainee knows which PIN goes with which card."""
    return [
        {
            k: v
            for k, v in asdict(c).items()
            if k in ("label", "family_name", "given_name", "profession", "pin")
        }
        for c in cards
    ]
