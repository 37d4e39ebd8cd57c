"""An installed vocabulary for tests: slices of the official CIM-10 and BDPM, a CCAM extract.

Built once per test session from ``../shared/reference-data`` (never copied
into the repository). To stay fast it imports slices of the official files,
through the real importers: the CIM-10 chapters the tests use, the BDPM
specialities named below with their presentations, compositions and ATC
codes, and a CCAM list of a few real acts written here (no CCAM file is in
the reference material; codes and labels are the official ones). The
result is a TerminologyIndex whose systems are "complete" (imported, not the
starter extract): a code absent from them does not exist, which is what the
coherence checks test.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from dmp_desktop.terminology import TerminologyIndex, import_bdpm, import_ccam, import_cim10
from tests.conftest import REFERENCE_DATA, require_shared

CIM10_CSV = REFERENCE_DATA / "cim10" / "cim10.csv"
BDPM = REFERENCE_DATA / "bdpm"

# Real CCAM acts (code ; official label), as the ameli CCAM list gives them.
CCAM_ACTS = (
    "DDAF004;Dilatation intraluminale de 2 vaisseaux coronaires avec pose d'endoprothèse, "
    "par voie artérielle transcutanée",
    "HHFA016;Appendicectomie, par abord de la fosse iliaque",
    "HMFC004;Cholécystectomie, par cœlioscopie",
    "CBLA001;Pose d'une prothèse auditive implantable dans l'oreille moyenne",
    "HHQE005;Coloscopie totale, avec franchissement de l'orifice iléocolique",
)


def write_ccam(folder: Path) -> Path:
    path = folder / "ccam.csv"
    path.write_text("code;libellé\n" + "\n".join(CCAM_ACTS) + "\n", encoding="utf-8")
    return path


CIM10_SLICE = re.compile(r"^(D5|E|G4|I|J|K8|N1|R|M5|Z)")
BDPM_NAMES = re.compile(
    rb"^\d{8}\t(METFORMINE BIOGARAN|RAMIPRIL|DOLIPRANE|PLAVIX|COUMADINE|ATORVASTATINE BIOGARAN"
    rb"|KARDEGIC|BOOSTRIXTETRA|REVAXIS|GLUCOPHAGE|AMOXICILLINE BIOGARAN|CLAMOXYL|LEVOTHYROX"
    rb"|ROSUVASTATINE EG)"
)


def _slices(folder: Path) -> tuple[Path, Path]:
    lines = CIM10_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    cim10 = folder / "cim10.csv"
    cim10.write_text(
        lines[0] + "".join(line for line in lines[1:] if CIM10_SLICE.match(line)),
        encoding="utf-8",
    )
    bdpm = folder / "bdpm"
    bdpm.mkdir()
    keep: set[bytes] = set()
    specialities = [
        line
        for line in (BDPM / "CIS_bdpm.txt").read_bytes().splitlines(keepends=True)
        if BDPM_NAMES.match(line)
    ]
    keep.update(line[:8] for line in specialities)
    (bdpm / "CIS_bdpm.txt").write_bytes(b"".join(specialities))
    for name in ("CIS_CIP_bdpm.txt", "CIS_COMPO_bdpm.txt", "CIS_MITM.txt"):
        data = (BDPM / name).read_bytes().splitlines(keepends=True)
        (bdpm / name).write_bytes(b"".join(line for line in data if line[:8] in keep))
    return cim10, bdpm


def build_reference_index(path: Path) -> Path:
    """A complete index at ``path`` (slices of the CIM-10 and BDPM, CCAM extract)."""
    require_shared(CIM10_CSV)
    require_shared(BDPM)
    path.parent.mkdir(parents=True, exist_ok=True)
    cim10, bdpm = _slices(path.parent)
    index = TerminologyIndex.with_starter_set(path)
    try:
        import_cim10(cim10, index)
        import_bdpm(bdpm, index)
        import_ccam(write_ccam(path.parent), index)
    finally:
        index.close()
    return path


def copy_index(source: Path, target: Path) -> Path:
    """A private copy (SQLite file and its WAL) for a test that writes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
