"""Which policy files there are and whose they are: headers only (policy id, payer, payer aliases).

Kept apart from policy_data (which validates whole policies against PatientCase) so that the patient
case can check a payer's name without importing the policy loader that imports it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import DataError

POLICY_DIR = Path(__file__).resolve().parent.parent / "data" / "policies"


def spelling_key(text: Any) -> str:
    """Lower case, separators to single spaces: 'HER2-positive_mBC ' -> 'her2 positive mbc'."""
    return re.sub(r"[\s_\-/,.()]+", " ", str(text).lower()).strip()


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{path} is not valid YAML: {exc}") from None


def policy_files() -> dict[str, tuple[Path, str, tuple[str, ...]]]:
    """policy_id -> (file, payer, payer aliases), read from the headers of the files in POLICY_DIR."""
    return _headers(str(POLICY_DIR))


@lru_cache(maxsize=8)
def _headers(policy_dir: str) -> dict[str, tuple[Path, str, tuple[str, ...]]]:
    out = {}
    for path in sorted(Path(policy_dir).glob("*.yaml")):
        raw = _read_yaml(path)
        if not isinstance(raw, dict) or not {"policy_id", "payer"} <= set(raw):
            raise DataError(f"{path}: a policy file needs policy_id and payer")
        if raw["policy_id"] in out:
            raise DataError(f"{path}: policy_id {raw['policy_id']!r} is also used by {out[raw['policy_id']][0]}")
        out[raw["policy_id"]] = (path, raw["payer"], tuple(raw.get("payer_aliases") or ()))
    return out


def payer_aliases() -> dict[str, str]:
    """Every accepted spelling of a payer (normalised) -> payer id."""
    table = {}
    for _, payer, aliases in policy_files().values():
        for name in (payer, *aliases):
            table[spelling_key(name)] = payer
    return table


