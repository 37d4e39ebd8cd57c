"""``dmp settings show``: which profile, which pinned root, which homologation number.

What a practice checks before the first connection to the real DMP (and what
support asks for): the active profile and platform, the addresses, the pinned
roots with their SHA-256 fingerprints, the LPS identification sent in every
VIHF, the proxy, and whether the settings are ready (else the French reason).
Nothing secret is shown (a proxy password is masked).
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from typing import Any, TextIO
from urllib.parse import urlsplit

from cryptography.x509.oid import NameOID

from dmp_desktop.errors import DmpDesktopError, describe
from dmp_desktop.settings import SERVICES, Settings, settings_path


def add_parser(sub: Any) -> None:
    settings = sub.add_parser(
        "settings",
        help="les paramètres en vigueur (profil, racine épinglée, n° d'homologation)",
        description="Affiche le profil actif (Formation ou DMP), les adresses, les racines "
        "de confiance épinglées avec leur empreinte SHA-256, l'identification du logiciel "
        "(LPS) et le proxy.",
    )
    actions = settings.add_subparsers(dest="settings_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="afficher les paramètres en vigueur")
    show.add_argument("--json", action="store_true", help="sortie JSON")


def _mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:•••@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _roots(settings: Settings) -> tuple[str, list[dict[str, str]], str | None]:
    """(where from, [{subject, sha256}], problem)."""
    from dmp_desktop.net.trust import (
        fingerprint,
        igc_sante_root_path,
        load_igc_sante_root,
        load_trust_roots,
    )

    try:
        if settings.pins_shipped_root():
            where = f"livrée avec DMP Desktop ({igc_sante_root_path().name})"
            roots = load_igc_sante_root()
        elif settings.trust_roots:
            where = settings.trust_roots
            roots = load_trust_roots(settings.trust_roots)
        else:
            return "aucune", [], "aucune racine de confiance n'est indiquée"
    except DmpDesktopError as exc:
        return settings.trust_roots or "livrée", [], describe(exc)
    described = []
    for root in roots:
        names = root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = str(names[0].value) if names else root.subject.rfc4514_string()
        described.append({"subject": name, "sha256": fingerprint(root)})
    return where, described, None


def _proxy(settings: Settings) -> str:
    if settings.proxy_url:
        return _mask(settings.proxy_url)
    if settings.proxy_from_environment:
        system = urllib.request.getproxies().get("https")
        if system:
            return f"celui du système : {_mask(system)}"
        return "celui du système (aucun n'est configuré)"
    return "aucun (connexion directe)"


def describe_settings(settings: Settings) -> dict[str, Any]:
    where, roots, roots_problem = _roots(settings)
    try:
        settings.validate()
        problem = roots_problem
    except DmpDesktopError as exc:
        problem = describe(exc)
    return {
        "file": str(settings_path()),
        "profile": settings.profile,
        "profile_label": settings.profile_label,
        "platform": None if settings.is_training else settings.dmp_platform,
        "host_url": settings.host_url,
        "services": {name: settings.service_url(name) for name in SERVICES},
        "trust_roots": {"source": where, "roots": roots},
        "lps": {
            "name": settings.lps_name,
            "version": settings.lps_version,
            "id": settings.lps_id or settings.lps_version,
            "homologation": settings.homologation_id() or None,
        },
        "proxy": _proxy(settings),
        "ins_authority": settings.ins_kind,
        "pkcs11_module": settings.pkcs11_module or "Cryptolib CPS (emplacement habituel)",
        "auth_mode": settings.auth_mode,
        "ready": problem is None,
        "problem": problem,
    }


def _print(info: dict[str, Any], out: TextIO) -> None:
    lps = info["lps"]
    lines = [
        f"Profil                : {info['profile_label']}",
        f"Fichier               : {info['file']}",
        f"Adresse du DMP        : {info['host_url']}",
    ]
    base = f"{info['host_url'].rstrip('/')}/si-dmp-server/v2/services/"
    for name, url in info["services"].items():
        if not url.startswith(base):
            lines.append(f"  service {name:<16}: {url}")
    lines.append(f"Racines épinglées     : {info['trust_roots']['source']}")
    for root in info["trust_roots"]["roots"]:
        lines.append(f"  {root['subject']}")
        lines.append(f"    SHA-256 {root['sha256']}")
    lines.append(f"Logiciel (LPS)        : {lps['name']} {lps['version']} (LPS_ID {lps['id']})")
    lines.append(f"N° d'homologation DMP : {lps['homologation'] or 'non renseigné'}")
    lines.append(f"Proxy                 : {info['proxy']}")
    lines.append(f"Autorité de l'INS     : {info['ins_authority']}")
    lines.append(f"Module de la carte    : {info['pkcs11_module']}")
    if info["ready"]:
        lines.append("État                  : prêt")
    else:
        lines.append(f"État                  : à compléter — {info['problem']}")
    out.write("\n".join(lines) + "\n")


def run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """0 when the settings are ready, 2 when they must be completed (what is shown says why)."""
    info = describe_settings(settings)
    if args.json:
        out.write(json.dumps(info, ensure_ascii=False, indent=2) + os.linesep)
    else:
        _print(info, out)
    return 0 if info["ready"] else 2


__all__ = ["add_parser", "describe_settings", "run"]
