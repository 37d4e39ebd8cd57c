"""Where a practice downloads the official lists (named by the CLI and the first-run assistant)."""

from __future__ import annotations

DOWNLOADS: tuple[tuple[str, str], ...] = (
    (
        "CIM-10 FR à usage PMSI (ATIH), fichier LIBCIM10MULTI.TXT",
        "https://www.atih.sante.fr/nomenclatures-de-recueil-de-l-information/cim",
    ),
    (
        "Base de données publique des médicaments (ANSM), fichiers CIS_*.txt",
        "https://base-donnees-publique.medicaments.gouv.fr/telechargement",
    ),
    (
        "CCAM (Assurance Maladie), liste des actes",
        "https://www.ameli.fr/accueil-de-la-ccam/telechargement/index.php",
    ),
)

# The training data laid out like ../shared/reference-data: cim10/cim10.csv and bdpm/.
REFERENCE_DATA_ENV = "DMP_REFERENCE_DATA"
