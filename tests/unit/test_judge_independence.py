"""The training host is a judge: it never checks the client with the client's own code.

``dmp_sandbox`` imports nothing from ``dmp_desktop.dmp``, ``.net``, ``.cda`` or
``.alimentation`` (DESIGN.md rule 13), nor from ``dmp_actors`` (the training
world's producers, which do use the client's builders): checked on every
import statement of its sources, lazy ones included, and at run time on what
a process serving requests loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = (
    "dmp_desktop.dmp",
    "dmp_desktop.net",
    "dmp_desktop.cda",
    "dmp_desktop.alimentation",
    "dmp_actors",
)
FORBIDDEN_NAMES = {"dmp", "net", "cda", "alimentation"}  # from dmp_desktop import dmp


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def offenders(source: str, relative: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"{relative}:{node.lineno} import {a.name}"
                for a in node.names
                if _forbidden(a.name)
            ]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _forbidden(node.module):
                found.append(f"{relative}:{node.lineno} from {node.module}")
            elif node.module == "dmp_desktop":
                found += [
                    f"{relative}:{node.lineno} from dmp_desktop import {a.name}"
                    for a in node.names
                    if a.name in FORBIDDEN_NAMES
                ]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                name = str(node.args[0].value)
                if _forbidden(name):
                    found.append(f"{relative}:{node.lineno} import_module({name})")
    return found


def test_no_module_of_the_host_imports_the_clients_wire_code() -> None:
    found: list[str] = []
    sources = sorted((ROOT / "dmp_sandbox").rglob("*.py"))
    assert len(sources) > 30
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        found += offenders(path.read_text(encoding="utf-8"), relative)
    assert found == []


def test_the_check_is_not_vacuous() -> None:
    sample = (
        "import dmp_desktop.dmp.vihf\n"
        "from dmp_desktop.dmp.mtom import parse_mtom\n"
        "from dmp_desktop import cda\n"
        "def f():\n"
        "    from dmp_desktop.net.structure import keyring_user\n"
        "    from dmp_actors import insurer\n"
        "    importlib.import_module('dmp_desktop.alimentation')\n"
        "from dmp_desktop.domain.patient import Ins\n"  # the domain is allowed
    )
    assert len(offenders(sample, "x.py")) == 6


def test_a_serving_host_loads_none_of_the_clients_wire_code() -> None:
    """What a process serving requests imports (the request path), checked in a fresh one."""
    code = (
        "import sys, importlib\n"
        "for name in ('server', 'host', 'soap', 'auth', 'vihf', 'vihf_verify', 'mtom',"
        " 'schemas', 'signatures', 'xades_verify', 'alimentation', 'consultation', 'updates',"
        " 'patients', 'records', 'admin_data', 'habilitations', 'block_on_behalf', 'access',"
        " 'care_team', 'insurer', 'ebrim', 'xds', 'store', 'demo', 'patient_cli', 'purge'):\n"
        "    importlib.import_module('dmp_sandbox.' + name)\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_keyring_convention_is_duplicated_exactly(tmp_path: Path) -> None:
    """``dmp-sandbox structure create`` tells the user where the client looks."""
    from dmp_desktop.net import structure as client
    from dmp_sandbox import structures as host

    p12 = tmp_path / "structure.p12"
    assert host.KEYRING_SERVICE == client.KEYRING_SERVICE
    assert host.keyring_user(p12) == client.keyring_user(p12)
