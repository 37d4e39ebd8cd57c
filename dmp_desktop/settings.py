"""Typed settings, read from a JSON file. Secrets never live here (keyring only).

Location: ``$DMP_DESKTOP_CONFIG`` when set, else ``~/.config/dmp-desktop/settings.json``.

Two profiles (``profile``):

- « Formation » (``formation``): the training host (``dmp-sandbox serve``),
  the test PKI's root, SoftHSM test cards, and the conventions the project
  had to invent for it (``docs/wire-conventions.md``). ``dmp-sandbox demo
  init`` writes such a settings file.
- « DMP » (``dmp``): a platform of the Assurance Maladie, ``production``
  (``dmp_platform``) or ``test``. Production pins the IGC-Santé root shipped
  in the package (SHA-256 checked); a test platform takes the URL and the
  TEST root file the Assurance Maladie gives. The LPS name, version and
  homologation number are first-class settings: the DMP profile refuses to
  start without a real homologation number.

The fields that belong to a profile (address, endpoints, roots, INS
authority, card module) are remembered per profile (``profiles``) when the
profile changes (:meth:`Settings.with_profile`, ``--profile``).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dmp_desktop import LPS_NAME, __version__
from dmp_desktop.domain.practitioner import PROFESSION_CODES, Practitioner
from dmp_desktop.errors import SettingsError
from dmp_desktop.messages import msg

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

PROFILE_TRAINING = "formation"
PROFILE_DMP = "dmp"
PROFILES = (PROFILE_TRAINING, PROFILE_DMP)
PROFILE_LABELS = {PROFILE_TRAINING: "Formation", PROFILE_DMP: "DMP"}
PLATFORM_PRODUCTION = "production"
PLATFORM_TEST = "test"
PLATFORMS = (PLATFORM_PRODUCTION, PLATFORM_TEST)

# The production DMP's services (base of .../si-dmp-server/v2/services/<service>), as
# public DMP clients name it; a test platform's address comes from the Assurance Maladie.
PRODUCTION_HOST_URL = "https://lps2.dmp.gouv.fr"
TRAINING_HOST_URL = "https://localhost:8443"
SERVICES = (
    "patients",
    "habilitations",
    "patientsSpecific",
    "patientsPDQ",
    "registry",
    "repository",
)

# What the training host accepts as homologation number; never sent to a real DMP.
TRAINING_HOMOLOGATION_ID = "FORMATION"
# Placeholders that are no homologation number (ours, the official examples').
_PLACEHOLDER_HOMOLOGATIONS = {"", "FORMATION", "NUMAUTORISATION", "A_RENSEIGNER", "XXX", "0"}

# Fields that belong to one profile: remembered per profile when it changes.
PROFILE_FIELDS = (
    "host_url",
    "endpoints",
    "trust_roots",
    "ins_kind",
    "pkcs11_module",
    "softhsm_conf",
    "dmp_platform",
)


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


def is_placeholder_homologation(value: str) -> bool:
    return value.strip().upper() in _PLACEHOLDER_HOMOLOGATIONS


def _profile_defaults(profile: str, platform: str = PLATFORM_PRODUCTION) -> dict[str, Any]:
    """What a profile starts with (the DMP profile: its production platform)."""
    if profile == PROFILE_TRAINING:
        return {
            "host_url": TRAINING_HOST_URL,
            "endpoints": {},
            "trust_roots": "",
            "ins_kind": "TEST_NIR",
            "pkcs11_module": "",
            "softhsm_conf": "",
            "dmp_platform": PLATFORM_PRODUCTION,
        }
    test = platform == PLATFORM_TEST
    return {
        "host_url": "" if test else PRODUCTION_HOST_URL,
        "endpoints": {},
        "trust_roots": "",
        "ins_kind": "TEST_NIR" if test else "NIR",
        "pkcs11_module": "",
        "softhsm_conf": "",
        "dmp_platform": platform,
    }


@dataclass
class Settings:
    """Everything configurable; defaults are those of a real installation (DMP profile)."""

    # "formation" or "dmp" ("" in files older than profiles: from training_mode).
    profile: str = ""
    # DMP profile: "production" or "test" (a test platform of the Assurance Maladie).
    dmp_platform: str = PLATFORM_PRODUCTION
    # PKCS#11 module; empty means "the Cryptolib CPS at its usual place".
    pkcs11_module: str = ""
    # SoftHSM configuration file (training mode only).
    softhsm_conf: str = ""
    # DMP host base URL (services at <url>/si-dmp-server/v2/services/<name>);
    # empty: the profile's (production DMP, or the local training host).
    host_url: str = ""
    # Full URL per service ("registry": "https://…/registry"), when a platform says so.
    endpoints: dict[str, str] = field(default_factory=dict)
    # PEM bundle of the pinned roots the host certificate must chain to; empty on the
    # production DMP: the IGC-Santé root shipped in the package.
    trust_roots: str = ""
    # "DIRECTE" (card) or "INDIRECTE_RENFORCEE" (structure certificate).
    auth_mode: str = "DIRECTE"
    # INDIRECTE_RENFORCEE: the structure's PKCS#12 file (TLS client certificate and
    # VIHF signer); its passphrase lives in the system keyring, never here.
    structure_p12: str = ""
    # Kept for older settings files and callers: True exactly in the « Formation » profile.
    training_mode: bool = False
    # Activity sector of the practice (J02), when the card does not give it (SA07 individual).
    activity_sector: str = "SA07"
    # The practice situation (structure) chosen among the card's, or the structure when
    # the card gives none.
    structure_id: str = ""
    # Assigning authority of the INS typed by the user: NIR in production,
    # TEST_NIR (1.2.250.1.213.1.4.10) on test platforms and in training ("": profile's).
    ins_kind: str = ""
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    # This software as the VIHF names it (LPS_Nom, LPS_Version, LPS_ID,
    # LPS_ID_HOMOLOGATION_DMP): the number the Assurance Maladie gave at homologation.
    lps_name: str = LPS_NAME
    lps_version: str = __version__
    lps_id: str = ""  # empty: the version
    lps_homologation_id: str = ""
    # HTTP proxy: an explicit "http://host:port", else the system's (HTTPS_PROXY,
    # NO_PROXY environment) when proxy_from_environment.
    proxy_url: str = ""
    proxy_from_environment: bool = True
    # INSi teleservice (INS search). Empty: <host_url>/lps in the training profile (the
    # training host plays INSi), the national service otherwise (dmp/insi.py).
    insi_url: str = ""
    # Where local state lives (drafts, outbox, last-seen); default ~/.local/share.
    data_dir: str = ""
    # The practice's professionals a secretary may upload for ("Pour le compte de"):
    # each {"national_id", "family_name", "given_name", "profession_code",
    # "profession" (label), optional "specialty_code"/"specialty_label"}.
    practice_professionals: list[dict[str, Any]] = field(default_factory=list)
    # The other profile's own fields (PROFILE_FIELDS), kept while it is not in use.
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.profile:
            self.profile = PROFILE_TRAINING if self.training_mode else PROFILE_DMP
        self.training_mode = self.profile == PROFILE_TRAINING
        defaults = _profile_defaults(self.profile, self.dmp_platform)
        if not self.host_url:
            self.host_url = str(defaults["host_url"])
        if not self.ins_kind:
            self.ins_kind = str(defaults["ins_kind"])
        extra = self.extra or {}
        # Older files kept the LPS identification in "extra": first-class now.
        if not self.lps_homologation_id and extra.get("lps_homologation_id"):
            self.lps_homologation_id = str(extra["lps_homologation_id"])
        if not self.lps_id and extra.get("lps_id"):
            self.lps_id = str(extra["lps_id"])

    # -- the profile -------------------------------------------------------------------
    @property
    def is_training(self) -> bool:
        return self.profile == PROFILE_TRAINING

    @property
    def profile_label(self) -> str:
        """« Formation », « DMP (production) », « DMP (plateforme de test) »."""
        if self.is_training:
            return "Formation"
        if self.dmp_platform == PLATFORM_PRODUCTION:
            return "DMP (production)"
        return "DMP (plateforme de test)"

    def with_profile(self, profile: str, platform: str | None = None) -> Settings:
        """These settings in another profile (or platform), each profile's own fields kept."""
        if profile not in PROFILES:
            raise SettingsError("settings.profile_unknown")
        platform = platform or self.dmp_platform
        if profile == self.profile and platform == self.dmp_platform:
            return replace(self)
        stored = {k: v for k, v in self.profiles.items() if k in PROFILES}
        stored[self.profile] = {name: getattr(self, name) for name in PROFILE_FIELDS}
        values = _profile_defaults(profile, platform)
        remembered = stored.get(profile, {})
        if remembered.get("dmp_platform", platform) == platform or profile == PROFILE_TRAINING:
            values.update({k: v for k, v in remembered.items() if k in PROFILE_FIELDS})
        if profile == PROFILE_DMP:
            values["dmp_platform"] = platform
        return replace(
            self,
            profile=profile,
            training_mode=profile == PROFILE_TRAINING,
            profiles=stored,
            **values,
        )

    # -- what the software says of itself (VIHF) ---------------------------------------
    def homologation_id(self) -> str:
        """LPS_ID_HOMOLOGATION_DMP as sent: the training one in « Formation »."""
        if self.is_training:
            return self.lps_homologation_id.strip() or TRAINING_HOMOLOGATION_ID
        return self.lps_homologation_id.strip()

    # -- where -------------------------------------------------------------------------
    def middleware_candidates(self) -> list[str]:
        if self.pkcs11_module:
            return [self.pkcs11_module]
        return default_middleware_paths()

    def service_url(self, service: str) -> str:
        explicit = (self.endpoints or {}).get(service)
        if explicit:
            return explicit
        return f"{self.host_url.rstrip('/')}/si-dmp-server/v2/services/{service}"

    def insi_service_url(self) -> str:
        """Where the INSi teleservice answers (see ``insi_url``)."""
        if self.insi_url:
            return self.insi_url
        if self.is_training:
            return f"{self.host_url.rstrip('/')}/lps"
        return "https://services-ps.ameli.fr/lps"

    def pins_shipped_root(self) -> bool:
        """The production DMP without a roots file: the IGC-Santé root of the package."""
        return not self.is_training and not self.trust_roots

    def validate(self) -> None:
        """Every field readable, then the profile ready to use (raises SettingsError)."""
        if self.profile not in PROFILES:
            raise SettingsError("settings.profile_unknown")
        if self.dmp_platform not in PLATFORMS:
            raise SettingsError("settings.platform_unknown")
        for url in [self.host_url, *(self.endpoints or {}).values()]:
            if not url and self.dmp_platform == PLATFORM_TEST and not self.is_training:
                continue  # said below, with what to do
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise SettingsError("settings.host_url")
        unknown = sorted(set(self.endpoints or {}) - set(SERVICES))
        if unknown:
            raise SettingsError("settings.endpoint_unknown", services=", ".join(unknown))
        if self.proxy_url:
            proxy = urlsplit(self.proxy_url)
            try:
                proxy_port = proxy.port
            except ValueError:
                proxy_port = -1
            if proxy.scheme != "http" or not proxy.hostname or proxy_port == -1:
                raise SettingsError("settings.proxy_url")
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
        if self.is_training:
            return
        # The DMP profile: nothing invented or missing may reach the Assurance Maladie.
        if self.dmp_platform == PLATFORM_TEST:
            if not self.host_url:
                raise SettingsError("settings.test_platform_url")
            if not self.trust_roots:
                raise SettingsError("settings.test_platform_roots")
        if is_placeholder_homologation(self.lps_homologation_id):
            raise SettingsError("settings.homologation_missing")
        if not self.lps_name.strip() or not self.lps_version.strip():
            raise SettingsError("settings.lps_missing")

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


def load_settings(path: Path | None = None, profile: str | None = None) -> Settings:
    """The settings file (defaults when there is none); ``profile`` switches profile."""
    path = path or settings_path()
    if not path.exists():
        settings = Settings()
    else:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError("settings.file_unreadable", name=path.name) from exc
        if not isinstance(raw, dict):
            raise SettingsError("settings.file_unreadable", name=path.name)
        known = {f.name for f in fields(Settings)}
        values = {k: v for k, v in raw.items() if k in known}
        try:
            settings = Settings(**values)
        except TypeError as exc:
            raise SettingsError("settings.file_unreadable", name=path.name) from exc
    if profile is not None and profile != settings.profile:
        settings = settings.with_profile(profile)
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
