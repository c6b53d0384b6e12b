"""The module manifest model: what a valid manifest is, and one clear error when it is not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from realm_tui.errors import ConfigError
from realm_tui.paths import RealmPaths
from realm_tui.quests.manifest import ModuleManifest, load_manifest, version_key
from realm_tui.quests.policy import QuestPolicy, load_quest_policy

from ._modules import manifest


def _load(tmp_path: Path, data: dict[str, Any]) -> ModuleManifest:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_manifest(path)


def test_minimal_manifest_and_defaults(tmp_path: Path) -> None:
    m = _load(tmp_path, manifest())
    assert m.id == "mini" and m.version == "1.0.0"
    assert m.curriculum.progression == "accuracy_gated" and m.evaluation is not None
    assert m.evaluation.threshold == 0.8 and m.skill_of(m.data[0]) == "mini"
    assert [f.path for f in m.files()] == ["data/level1.jsonl", "eval/level1.jsonl"]


@pytest.mark.parametrize("version", ["1.0.0", "0.1.0-beta.1", "2.10.3+build.5"])
def test_semver_accepted(tmp_path: Path, version: str) -> None:
    assert _load(tmp_path, manifest(version=version)).version == version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "1.0"}, "version"),
        ({"version": "01.0.0"}, "version"),
        ({"id": "Bad Id"}, "id"),
        ({"colour": "red"}, "colour: unknown key"),
        ({"data": [{"path": "../x.jsonl", "skill_level": 1, "examples": 1}]}, "'..'"),
        ({"data": [{"path": "/abs/x.jsonl", "skill_level": 1, "examples": 1}]}, "relative path"),
        ({"data": [{"path": "data\\x.jsonl", "skill_level": 1, "examples": 1}]}, "forward slashes"),
        ({"data": [{"path": "other/x.jsonl", "skill_level": 1, "examples": 1}]}, "under data/"),
        ({"data": [{"path": "data/x.txt", "skill_level": 1, "examples": 1}]}, ".jsonl"),
        ({"data": [{"path": "data/x.jsonl", "skill_level": 2, "examples": 1}]}, "level 2 is not in mini.levels"),
        ({"data": [{"path": "data/x.jsonl", "skill": "other", "skill_level": 1, "examples": 1}]}, "unknown skill"),
        ({"primitives": {"required": ["dance_moves"]}}, "not a primitive id"),
        ({"primitives": {"required": ["seq_reverse"], "optional": ["seq_reverse"]}}, "also required"),
        ({"requirements": {"prerequisites": ["mini"]}}, "cannot require itself"),
        ({"skills": [{"id": "mini", "levels": [2, 1], "max_level": 3}]}, "increasing"),
        ({"skills": [{"id": "mini", "levels": [1, 5], "max_level": 3}]}, "above max_level"),
    ],
)
def test_invalid_manifests_name_the_field(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, {**manifest(), **change})
    assert message in str(err.value) and "manifest.yaml" in str(err.value)


def test_every_skill_level_needs_data(tmp_path: Path) -> None:
    skills = [{"id": "mini", "levels": [1, 2], "max_level": 3}]
    with pytest.raises(ConfigError, match="no file for mini level 2"):
        _load(tmp_path, manifest(skills=skills))


def test_several_skills_need_named_files() -> None:
    skills = [{"id": "a", "levels": [1], "max_level": 1}, {"id": "b", "levels": [1], "max_level": 1}]
    with pytest.raises(ValidationError, match="name its skill"):
        ModuleManifest.model_validate(manifest(skills=skills))


def test_duplicate_paths_even_by_case() -> None:
    data = [
        {"path": "data/L1.jsonl", "skill_level": 1, "examples": 1},
        {"path": "data/l1.jsonl", "skill_level": 1, "examples": 1},
    ]
    with pytest.raises(ValidationError, match="listed twice"):
        ModuleManifest.model_validate(manifest(data=data))


def test_unsafe_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text("id: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="not allowed"):
        load_manifest(path)


def test_version_order() -> None:
    assert sorted(["1.10.0", "1.2.0", "1.2.0-rc.1"], key=version_key) == ["1.2.0-rc.1", "1.2.0", "1.10.0"]


DOCS = Path(__file__).resolve().parents[3] / "docs" / "modules.md"


def _yaml_blocks() -> list[Any]:
    text = DOCS.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_the_documented_manifest_is_valid() -> None:
    documented = _yaml_blocks()[0]
    assert ModuleManifest.model_validate(documented).id == "seq-drills"


def test_the_documented_policy_is_the_default(tmp_path: Path) -> None:
    blocks = _yaml_blocks()
    archive = next(b for b in blocks if set(b) == {"archive"})
    board = next(b for b in blocks if "settle_seconds" in b)
    assert QuestPolicy.model_validate({**board, **archive}) == QuestPolicy()
    realm = RealmPaths(tmp_path)
    assert load_quest_policy(realm) == QuestPolicy()
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "quests.yaml").write_text("max_retries: 1\ntoo_long: reject\n")
    assert load_quest_policy(realm).max_retries == 1
    (tmp_path / "configs" / "quests.yaml").write_text("max_retrys: 1\n")
    with pytest.raises(ConfigError, match="did you mean 'max_retries'"):
        load_quest_policy(realm)
