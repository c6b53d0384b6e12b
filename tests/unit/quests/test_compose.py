"""Composing installed modules into a battle (`quests.compose`): levels, requirements, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from realm_tui.config.curriculum import CurriculumConfig, ModuleWeight
from realm_tui.errors import InputError
from realm_tui.paths import RealmPaths
from realm_tui.quests.compose import check_module_files, installed_modules, modules_payload, plan_modules
from realm_tui.quests.manifest import ModuleManifest
from realm_tui.quests.modules import InstalledModule, get_module, install_module

from ._modules import manifest, module_folder

REPO = Path(__file__).resolve().parents[3]
SEQ_DRILLS = REPO / "quests" / "modules" / "seq-drills"


def fake_installed(module_id: str, root: Path, **overrides: object) -> InstalledModule:
    """A module as installed (manifest only: the plan never opens a file)."""
    return InstalledModule(root / module_id, ModuleManifest.model_validate(manifest(module_id, **overrides)))


def three_levels(**overrides: object) -> dict[str, object]:
    return {
        "skills": [{"id": "bin", "levels": [1, 2, 3], "max_level": 5}],
        "data": [
            {"path": f"data/level{n}.jsonl", "skill_level": n, "examples": 3, "difficulty": n / 4} for n in (1, 2, 3)
        ],
        "evaluation": None,
        **overrides,
    }


def test_the_plan_picks_the_files_of_the_levels_the_hero_trains(tmp_path: Path) -> None:
    installed = {
        "gated": fake_installed("gated", tmp_path, **three_levels()),
        "mixed": fake_installed("mixed", tmp_path, **three_levels(curriculum={"progression": "mixed"})),
        "newskill": fake_installed("newskill", tmp_path),  # skill "mini", levels [1], unknown to the realm
    }
    listed = [ModuleWeight(id=i, weight=1.0) for i in installed]
    gated, mixed, new = plan_modules(listed, installed, hero_level=0, trained={"bin": 2}, mastered={"bin": 1})
    assert gated.files == (tmp_path / "gated" / "data" / "level2.jsonl",) and gated.levels == {"bin": 2}
    assert [p.name for p in mixed.files] == ["level1.jsonl", "level2.jsonl"], "mixed: every level up to the hero's"
    assert new.levels == {"mini": 1} and new.skipped is None, "a skill new to the realm starts at level 1"
    # The hero is past the module's levels: skipped, and the reason says why.
    (gated,) = plan_modules(listed[:1], installed, hero_level=0, trained={"bin": 4}, mastered={"bin": 3})
    assert gated.files == () and gated.skipped is not None
    assert "bin level 4" in gated.skipped and "levels 1-3" in gated.skipped
    # Not a curriculum skill (disabled): one above the campaign's mastered level.
    (gated,) = plan_modules(listed[:1], installed, hero_level=0, trained={}, mastered={"bin": 2})
    assert gated.levels == {"bin": 3}


def test_unmet_requirements_skip_the_module_with_a_reason(tmp_path: Path) -> None:
    installed = {
        "base": fake_installed("base", tmp_path),
        "veteran": fake_installed("veteran", tmp_path, requirements={"min_level": 3}),
        "sequel": fake_installed("sequel", tmp_path, requirements={"prerequisites": ["base", "missing-one"]}),
        "ok-sequel": fake_installed("ok-sequel", tmp_path, requirements={"prerequisites": ["base"]}),
    }
    listed = [ModuleWeight(id=i, weight=1.0, priority=p) for i, p in zip(installed, (3, 2, 1, 0), strict=True)]
    choices = plan_modules(listed, installed, hero_level=2, trained={}, mastered={})
    assert [c.id for c in choices] == ["ok-sequel", "sequel", "veteran", "base"], "priority order"
    by_id = {c.id: c for c in choices}
    assert by_id["veteran"].skipped == "needs hero level 3; the hero is level 2" and not by_id["veteran"].files
    assert by_id["sequel"].skipped == "prerequisite module(s) not installed: missing-one"
    assert by_id["ok-sequel"].skipped is None and by_id["ok-sequel"].files
    (veteran,) = plan_modules(listed[1:2], installed, hero_level=3, trained={}, mastered={})
    assert veteran.skipped is None
    # Disabled or weightless entries are left out altogether.
    off = [ModuleWeight(id="base", enabled=False), ModuleWeight(id="veteran", weight=0)]
    assert plan_modules(off, installed, hero_level=9, trained={}, mastered={}) == []


def test_a_listed_module_that_is_not_installed_refuses_the_battle_naming_curriculum_yaml(realm: RealmPaths) -> None:
    curriculum = CurriculumConfig(modules=[ModuleWeight(id="seq-drills"), ModuleWeight(id="ghost")])
    install_module(realm, SEQ_DRILLS)
    with pytest.raises(InputError) as err:
        installed_modules(realm, curriculum)
    message = str(err.value)
    assert str(realm.configs / "curriculum.yaml") in message and "'ghost' is not installed" in message
    disabled = CurriculumConfig(modules=[ModuleWeight(id="seq-drills"), ModuleWeight(id="ghost", enabled=False)])
    assert set(installed_modules(realm, disabled)) == {"seq-drills"}
    # A broken one (manifest no longer loads) is named too.
    (realm.quests / "modules" / "seq-drills" / "manifest.yaml").write_text("id: [", encoding="utf-8")
    with pytest.raises(InputError, match="'seq-drills' is installed but broken"):
        installed_modules(realm, disabled)


def test_the_payload_carries_absolute_files_and_a_tampered_file_is_refused(realm: RealmPaths) -> None:
    install_module(realm, SEQ_DRILLS)
    curriculum = CurriculumConfig(modules=[ModuleWeight(id="seq-drills", weight=0.4, priority=1)])
    installed = installed_modules(realm, curriculum)
    (entry,) = modules_payload(curriculum, installed, hero_level=0, skills_payload={}, mastered={"sequences": 1})
    level2 = realm.quests / "modules" / "seq-drills" / "data" / "level2.jsonl"
    assert entry == {
        "id": "seq-drills",
        "weight": 0.4,
        "priority": 1,
        "files": [str(level2)],
        "levels": {"sequences": 2},
        "skipped": None,
    }
    assert Path(entry["files"][0]).is_absolute()
    # A line edited after installation never reaches training: planning refuses, naming file and line.
    lines = level2.read_text(encoding="utf-8").splitlines()
    lines[4] = '{"messages": [{"role": "user", "content": "no answer"}]}'
    level2.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        modules_payload(curriculum, installed, hero_level=0, skills_payload={}, mastered={"sequences": 1})
    assert str(level2) in str(err.value) and "line 5" in str(err.value) and "reinstall" in str(err.value)
    # Other levels are untouched and still usable.
    plan = plan_modules(curriculum.modules, installed, hero_level=0, trained={}, mastered={})
    check_module_files(plan)
    assert get_module(realm, "seq-drills").data_files("sequences", 1) == list(plan[0].files)


def test_module_folder_helper_installs(realm: RealmPaths, tmp_path: Path) -> None:
    """The small test module composes too: its one level is trained from the start."""
    install_module(realm, module_folder(tmp_path / "src"))
    curriculum = CurriculumConfig(modules=[ModuleWeight(id="mini")])
    (entry,) = modules_payload(
        curriculum, installed_modules(realm, curriculum), hero_level=0, skills_payload={}, mastered={}
    )
    assert entry["levels"] == {"mini": 1} and len(entry["files"]) == 1 and entry["skipped"] is None
