"""Typed settings, read from a JSON file. Secrets never live here (keyring only).

Location: ``$DMP_DESKTOP_CONFIG`` when set, else ``~/.config/dmp-desktop/settings.json``.
The training environment (``dmp-sandbox demo init``) writes a settings file of
its own pointing at the training host, the test roots and the SoftHSM card.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dmp_desktop.domain.practitioner import PROFESSION_CODES, Practitioner
from dmp_desktop.errors import SettingsError
from dmp_desktop.messages import msg

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def default_middleware_paths(platform: str | None = None) -> list[str]:
    """Where the Cryptolib CPS is installed, per OS (ANS material)."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        return [
            r"C:\Windows\System32\cps3_pkcs11_w64.dll",
            r"C:\Windows\SysWOW64\cps3_pkcs11_w32.dll",
        ]
    if platform == "darwin":
        return ["/usr/local/lib/libcps3_pkcs11_osx.dylib"]
    return [
        "/opt/santesocial/CPS/lib/libcps3_pkcs11_lux.so",
        "/usr/lib64/libcps3_pkcs11_lux.so",
    ]


@dataclass
class Settings:
    """Everything configurable; defaults are those of a real installation."""

    # PKCS#11 module; empty means "the Cryptolib CPS at its usual place".
    pkcs11_module: str = ""
    # SoftHSM configuration file (training mode only).
    softhsm_conf: str = ""
    # DMP host base URL (services at <url>/si-dmp-server/v2/services/<name>).
    host_url: str = "https://localhost:8443"
    # INSi teleservice (INS search). Empty: <host_url>/lps in training mode (the
    # training host plays INSi), the national service otherwise (dmp/insi.py).
    insi_url: str = ""
    # PEM bundle of the pinned roots the host certificate must chain to.
    trust_roots: str = ""
    # "DIRECTE" (card) or "INDIRECTE_RENFORCEE" (structure certificate).
    auth_mode: str = "DIRECTE"
    # INDIRECTE_RENFORCEE: the structure's PKCS#12 file (TLS client certificate and
    # VIHF signer); its passphrase lives in the system keyring, never here.
    structure_p12: str = ""
    training_mode: bool = True
    # Activity sector of the practice (J02), e.g. SA07 individual practice.
    activity_sector: str = "SA07"
    structure_id: str = ""
    # Assigning authority of the INS typed by the user: NIR in production,
    # TEST_NIR (1.2.250.1.213.1.4.10) on test platforms and in training mode.
    ins_kind: str = "NIR"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # Where local state lives (drafts, outbox, last-seen); default ~/.local/share.
    data_dir: str = ""
    # The practice's professionals a secretary may upload for ("Pour le compte de"):
    # each {"national_id", "family_name", "given_name", "profession_code",
    # "profession" (label), optional "specialty_code"/"specialty_label"}.
    practice_professionals: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def middleware_candidates(self) -> list[str]:
        if self.pkcs11_module:
            return [self.pkcs11_module]
        return default_middleware_paths()

    def service_url(self, service: str) -> str:
        return f"{self.host_url.rstrip('/')}/si-dmp-server/v2/services/{service}"

    def insi_service_url(self) -> str:
        """Where the INSi teleservice answers (see ``insi_url``)."""
        if self.insi_url:
            return self.insi_url
        if self.training_mode:
            return f"{self.host_url.rstrip('/')}/lps"
        return "https://services-ps.ameli.fr/lps"

    def validate(self) -> None:
        parts = urlsplit(self.host_url)
        if parts.scheme != "https" or not parts.hostname:
            raise SettingsError("settings.host_url")
        if self.auth_mode not in ("DIRECTE", "INDIRECTE_RENFORCEE"):
            raise SettingsError("settings.auth_mode_unknown")
        if self.auth_mode == "INDIRECTE_RENFORCEE" and not self.structure_p12:
            raise SettingsError("settings.structure_p12_required")
        if self.trust_roots and not Path(self.trust_roots).is_file():
            raise SettingsError("settings.trust_roots_missing", path=self.trust_roots)
        if self.ins_kind not in ("NIR", "NIA", "TEST_NIR", "DEMO_NIR"):
            raise SettingsError("settings.ins_kind_unknown")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise SettingsError("settings.timeouts")
        self.professionals()

    def professionals(self) -> list[Practitioner]:
        """The practice's professionals, typed (raises SettingsError on a bad entry)."""
        return [_professional(raw, i) for i, raw in enumerate(self.practice_professionals or [])]

    def professional(self, national_id: str) -> Practitioner | None:
        """The practice's professional with this national id (None: not in the list)."""
        wanted = national_id.strip()
        return next((p for p in self.professionals() if p.national_id == wanted), None)

    def local_data_dir(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir)
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(base) / "dmp-desktop"

    def apply_environment(self) -> None:
        """SoftHSM reads its configuration from the environment at load time."""
        if self.softhsm_conf:
            os.environ["SOFTHSM2_CONF"] = self.softhsm_conf


def _professional(raw: object, index: int) -> Practitioner:
    where = msg("settings.professional", number=index + 1)
    if not isinstance(raw, dict):
        raise SettingsError("settings.professional_unreadable", where=where)

    def text(key: str, *, required: bool) -> str | None:
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise SettingsError("settings.professional_missing", where=where, key=key)
            return None
        if not isinstance(value, str):
            raise SettingsError("settings.professional_not_text", where=where, key=key)
        return value.strip()

    national_id = text("national_id", required=True) or ""
    if not national_id.isalnum() or len(national_id) > 20:
        raise SettingsError("settings.professional_national_id", where=where, value=national_id)
    profession_code = text("profession_code", required=True) or ""
    label = text("profession", required=False)
    if label is None:
        label = next((k for k, v in PROFESSION_CODES.items() if v == profession_code), None)
    if profession_code not in PROFESSION_CODES.values() or label is None:
        raise SettingsError("settings.professional_profession", where=where, value=profession_code)
    return Practitioner(
        national_id=national_id,
        family_name=text("family_name", required=True) or "",
        given_name=text("given_name", required=True) or "",
        profession=label,
        profession_code=profession_code,
        specialty_code=text("specialty_code", required=False),
        specialty_label=text("specialty_label", required=False),
    )


def settings_path() -> Path:
    env = os.environ.get("DMP_DESKTOP_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dmp-desktop" / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError("settings.file_unreadable", name=path.name) from exc
    if not isinstance(raw, dict):
        raise SettingsError("settings.file_unreadable", name=path.name)
    known = {f.name for f in fields(Settings)}
    values = {k: v for k, v in raw.items() if k in known}
    return Settings(**values)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
