"""``dmp vsm build --from summary.json -o vsm.xml``: no card, no settings; the document
passes the ANS validation kit (validate-cda); bad input is refused in French."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dmp_desktop.cda.validation import validate_files
from dmp_desktop.cli.main import Io, main
from dmp_desktop.domain.summary import summary_from_json, summary_to_dict, summary_to_json
from tests.conftest import needs_cda_kit_time, require_cda_kit
from tests.support.cda_samples import full_summary
from tests.support.vsm_examples import EXAMPLES_DIR

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_JSON = EXAMPLES_DIR / "vsm-ald-example.json"
EXAMPLE_XML = EXAMPLES_DIR / "vsm-ald-example.xml"


def dmp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["DMP_DESKTOP_CONFIG"] = str(cwd / "no-such-settings.json")  # not needed
    env.pop("SOFTHSM2_CONF", None)  # nor any card
    return subprocess.run(
        [sys.executable, "-m", "dmp_desktop", "cli", "vsm", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["vsm", *args], io=Io(out, err, io.StringIO(stdin)))
    return code, out.getvalue(), err.getvalue()


@needs_cda_kit_time
def test_build_from_json_passes_the_validation_kit(tmp_path: Path) -> None:
    example = dmp("build", "--from", str(EXAMPLE_JSON), "-o", "vsm.xml", cwd=tmp_path)
    assert example.returncode == 0, example.stderr
    assert "VSM écrit dans vsm.xml" in example.stderr
    built = tmp_path / "vsm.xml"
    # Deterministic: the documented example, byte for byte.
    assert built.read_bytes() == EXAMPLE_XML.read_bytes()

    source = tmp_path / "full.json"
    source.write_text(summary_to_json(full_summary()), encoding="utf-8")
    code, _, err = run("build", "--from", str(source), "-o", str(tmp_path / "full.xml"))
    assert code == 0, err

    # And back: the JSON of the built VSM is the JSON it came from.
    code, out, err = run("json", str(tmp_path / "full.xml"))
    assert code == 0, err
    again = summary_to_dict(summary_from_json(out))
    expected = summary_to_dict(full_summary())
    for key in ("active_problems", "allergies", "treatments", "lifestyle", "family_history"):
        assert again[key] == expected[key], key

    require_cda_kit()
    report = validate_files([built, tmp_path / "full.xml"], profile="vsm")
    assert report.passed, report.summary()


def test_the_document_goes_to_stdout_without_o(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dmp_desktop", "cli", "vsm", "build", "--from", "-"],
        input=EXAMPLE_JSON.read_bytes(),
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXAMPLE_XML.read_bytes()


def test_an_incomplete_summary_is_refused_with_every_problem_in_french(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE_JSON.read_text(encoding="utf-8"))
    del data["patient"]["birthplace_code"]
    data["active_problems"][0]["cim10"] = "DIABETE"
    data["allergies"].append({"agent": "Latex", "type_code": "123"})
    source = tmp_path / "summary.json"
    source.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, out, err = run("build", "--from", str(source), "-o", str(tmp_path / "vsm.xml"))
    assert code == 1 and not out
    assert "Le document ne peut pas être généré" in err
    assert "lieu de naissance" in err
    assert "Pathologie en cours n° 1 (code CIM-10) : n'a pas le format attendu." in err
    assert "n'est pas un code connu" in err
    assert not (tmp_path / "vsm.xml").exists()


def test_unreadable_input_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("build", "--from", str(tmp_path / "missing.json"))
    assert code == 2 and "Fichier introuvable" in err
    code, _, err = run("build", "--from", "-", stdin="{not json")
    assert code == 2 and "illisible" in err
    data = json.loads(EXAMPLE_JSON.read_text(encoding="utf-8"))
    data["allergies"][0]["agnet"] = "typo"
    code, _, err = run("build", "--from", "-", stdin=json.dumps(data))
    assert code == 2 and "allergies[0].agnet : clé inconnue" in err
    hostile = tmp_path / "hostile.xml"
    hostile.write_text('<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>', encoding="utf-8")
    code, _, err = run("json", str(hostile))
    assert code == 2 and "DTD" in err


# --- coherence (issue #15): every door refuses an incoherent summary --------------------------


def test_incoherent_summaries_are_refused_each_with_a_french_message(
    tmp_path: Path, reference_index_path: Path
) -> None:
    """`dmp vsm build` with the installed vocabulary refuses each defect, naming the field."""
    from dmp_desktop.domain.summary import summary_to_json as to_json
    from tests.unit.test_vsm_coherence import DEFECTS, ald_example

    for number, (name, mutate, _path, _reason, words) in enumerate(DEFECTS):
        summary = ald_example()
        mutate(summary)
        source = tmp_path / f"defect-{number}.json"
        source.write_text(to_json(summary), encoding="utf-8")
        target = tmp_path / f"defect-{number}.xml"
        code, out, err = run(
            "build",
            "--from",
            str(source),
            "-o",
            str(target),
            "--terminology",
            str(reference_index_path),
        )
        assert code == 1 and not out, name
        assert "Le document ne peut pas être généré :" in err, name
        assert words in err, (name, err)
        assert not target.exists(), name
    # the coherent example goes through
    code, _, err = run(
        "build",
        "--from",
        str(EXAMPLE_JSON),
        "-o",
        str(tmp_path / "ok.xml"),
        "--terminology",
        str(reference_index_path),
    )
    assert code == 0, err


def test_the_ans_vsm_round_trips_through_the_command_line(tmp_path: Path) -> None:
    """ANS VSM -> `dmp vsm json` -> `dmp vsm build`: posology and every section kept."""
    from dmp_desktop.cda.vsm import read_vsm
    from tests.conftest import CDA_KIT, require_shared

    ans = require_shared(CDA_KIT / "ans" / "ExemplesCDA" / "VSM_1.4_2022.01.xml")
    code, out, err = run("json", str(ans))
    assert code == 0, err
    data = json.loads(out)
    assert data["treatments"][0]["posology"]["dose_unit"] == "{tablet}"
    source = tmp_path / "ans.json"
    source.write_text(out, encoding="utf-8")
    code, _, err = run("build", "--from", str(source), "-o", str(tmp_path / "ans.xml"))
    assert code == 0, err
    rebuilt = read_vsm((tmp_path / "ans.xml").read_bytes())
    assert rebuilt.left_out == []
    assert summary_to_dict(rebuilt.summary) == summary_to_dict(summary_from_json(out))
    require_cda_kit()
    report = validate_files([tmp_path / "ans.xml"], profile="vsm")
    assert report.passed, report.summary()
