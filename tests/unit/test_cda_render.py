"""CDA to HTML: readable, complete and never a channel for hostile content."""

from __future__ import annotations

import re

import pytest

from dmp_desktop import xmlsafe
from dmp_desktop.cda.level1 import Level1Document, wrap_pdf, wrap_text
from dmp_desktop.cda.render import render_html
from dmp_desktop.cda.vsm import build_vsm, preview_html
from dmp_desktop.domain.summary import Problem
from tests.conftest import CDA_KIT, require_shared
from tests.support.cda_samples import full_summary, minimal_summary, variant_summaries

KIT_EXAMPLES = CDA_KIT / "ans" / "ExemplesCDA"


def test_vsm_header_and_sections_in_order() -> None:
    page = render_html(build_vsm(full_summary()))
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in page
    for text in (
        "<dt>Patient</dt><dd>JULIEN LEFEBVRE (né le 02/11/1982, Masculin)</dd>",
        "<dt>Auteur</dt><dd>Paul MARTIN, Cabinet médical des Tilleuls</dd>",
        "<dt>Date</dt><dd>12/03/2026 à 11:17</dd>",
        "<dt>Type de document</dt><dd>Synthèse</dd>",
        "<dt>Médecin traitant</dt><dd>Marie DURAND</dd>",
    ):
        assert text in page
    titles = re.findall(r"<h[2-6]>([^<]*)</h[2-6]>", page)
    assert titles == [
        "Pathologie en cours, antécédents, allergies et facteurs de risque",
        "Pathologies en cours, antécédents et allergies",
        "Pathologies en cours",
        "Antécédents médicaux",
        "Antécédents chirurgicaux",
        "Allergies et hypersensibilités",
        "Facteurs de risque",
        "Habitus, mode de vie",
        "Facteurs de risque professionnels",
        "Antécédents familiaux",
        "Points de vigilance",
        "Traitement au long cours",
        "Traitements",
        "Vaccinations",
        "Signes vitaux",
        "Statut fonctionnel (dépendance, autonomie)",
        "Résultats d&#x27;examens",
        "Plan de soins",
        "Directives anticipées",
    ]
    assert "<table>" in page and "<th>Pathologie</th>" in page
    assert "HbA1c à 7,2 % en janvier.<br>Objectif &lt; 7 %" in page
    assert "CIM-10 E11.9 (Diabète sucré de type 2, sans complication)" in page
    assert "CIS 67346461" in page and "CCAM DDAF004" in page
    assert "<li> <span>Allergie grave aux pénicillines.</span> </li>" in page


def test_hostile_text_from_our_builder_is_escaped() -> None:
    page = render_html(build_vsm(variant_summaries()["special-characters"]))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;pas du HTML&lt;/b&gt; &amp;amp; pas une entité" in page
    assert "<title>Synthèse &lt;médicale&gt; &amp; « suivi »</title>" in page


def hostile_document() -> bytes:
    data = build_vsm(minimal_summary())
    payload = (
        b'<text><paragraph styleCode="Bold Evil" onclick="steal()">gras</paragraph>'
        b'<linkHtml href="javascript:alert(1)">lien</linkHtml>'
        b'<renderMultiMedia referencedObject="img1"/>'
        b'<script xmlns="http://www.w3.org/1999/xhtml">alert(2)</script>'
        b"<script>alert(3)</script>"
        b'<img xmlns="http://www.w3.org/1999/xhtml" src="x" onerror="alert(4)"/>'
        b'<table><tbody><tr><td colspan="2 onmouseover=alert(5)" rowspan="3">c</td></tr>'
        b"</tbody></table>"
        b"<!-- --><script>alert(6)</script> -->"
        b"<?php echo 1; ?>"
        b"<content><![CDATA[</span><iframe src=//evil>]]></content>"
        b'<list listType="ordered"><item>un</item></list>'
        b"</text>"
    )
    marker = b'<text>\n            <paragraph ID="vigilance-none">'
    start = data.index(marker)
    end = data.index(b"</text>", start) + len(b"</text>")
    return data[:start] + payload + data[end:]


def test_hostile_cda_cannot_inject_markup() -> None:
    page = render_html(hostile_document())
    lowered = page.lower()
    for forbidden in ("<script", "<img", "<iframe", "javascript:", "onclick", "onerror", "<?php"):
        assert forbidden not in lowered, forbidden
    assert 'colspan="2' not in page and 'rowspan="3"' in page
    assert '<p class="bold">gras</p>' in page
    assert "<span>lien</span>" in page
    assert "alert(3)" in page  # HL7-namespace element: kept as escaped text only
    assert "alert(2)" not in page and "alert(4)" not in page
    assert "&lt;/span&gt;&lt;iframe src=//evil&gt;" in page
    assert "<ol><li>un</li></ol>" in page


def test_render_refuses_dtd() -> None:
    with pytest.raises(xmlsafe.UnsafeXmlError):
        render_html(b'<!DOCTYPE x [<!ENTITY e "e">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>')


def test_level1_documents() -> None:
    summary = minimal_summary()
    doc = Level1Document(summary.patient, summary.author, summary.effective_time, "11488-4")
    page = render_html(wrap_text(doc, "Ligne <1>\nLigne 2"))
    assert "<pre>Ligne &lt;1&gt;\nLigne 2</pre>" in page
    page = render_html(wrap_pdf(doc, b"%PDF-1.4\n" + b"0" * 5000))
    assert "Document non structuré (PDF" in page
    assert "<dt>Type de document</dt><dd>CR ou fiche de consultation ou de visite</dd>" in page


def test_preview_works_on_an_incomplete_summary() -> None:
    summary = minimal_summary()
    summary.patient.birthplace_code = None
    summary.active_problems = [Problem("Asthme", cim10="pas un code")]
    page = preview_html(summary)
    assert "Asthme" in page


def test_kit_examples_render() -> None:
    require_shared(KIT_EXAMPLES)
    for name in ("VSM_1.4_2022.01.xml", "DOC_NON_STRUCTURE_CDA-R2-N1.xml", "IPS-FR_2024.01.xml"):
        page = render_html((KIT_EXAMPLES / name).read_bytes())
        assert "<script" not in page.lower()
        assert "PAT-TROIS" in page
    page = render_html((KIT_EXAMPLES / "VSM_1.4_2022.01.xml").read_bytes())
    assert "Angine de poitrine instable" in page
    assert "<dt>Type de document</dt><dd>Synthèse</dd>" in page
