"""Malformed config files: each one gives one clear line naming the file (and field), fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from realm_tui.config.curriculum import CurriculumConfig
from realm_tui.config.hero import HeroConfig
from realm_tui.config.loader import MAX_CONFIG_BYTES, load_model, read_yaml
from realm_tui.config.titles import TitlesConfig
from realm_tui.errors import ConfigError

BAD = Path(__file__).resolve().parents[2] / "fixtures" / "bad_configs"

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""

# fixture file -> what the message must also contain (a field name, or the kind of problem)
FIXTURES = {
    "missing_field.yaml": "name: required field is missing",
    "wrong_type.yaml": "training_defaults.batch_size",
    "unknown_key.yaml": "training_defaults.learnig_rate: unknown key (did you mean 'learning_rate'?)",
    "bad_syntax.yaml": "invalid YAML at line",
    "python_tag.yaml": "!!python/object/apply:os.system is not allowed",
    "non_mapping.yaml": "expected a mapping at the top level, got list",
    "empty.yaml": "file is empty",
    "non_utf8.yaml": "not UTF-8",
    "duplicate_key.yaml": "duplicate key 'name'",
    "cross_field.yaml": "exactly one of hf_name",
}


def _refused(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_model(path, HeroConfig)
    message = str(info.value)
    assert "\n" not in message
    assert path.name in message
    return message


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in BAD.iterdir()} == set(FIXTURES)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_bad_fixture_gives_one_clear_line(name: str) -> None:
    assert FIXTURES[name] in _refused(BAD / name)


def test_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    assert "alias bomb" in _refused(path)


def test_fifty_megabyte_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.write(b"name: ")
        fh.write(b"x" * (50 * 1024 * 1024))
    assert f"{MAX_CONFIG_BYTES:,}" in _refused(path)


@pytest.mark.parametrize(
    "tagged",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/new:os.system ["touch {marker}"]',
        '!!python/name:os.system ""',
        "!!binary aGk=",
        "!custom 1",
    ],
)
def test_no_object_is_ever_built_from_a_tag(tmp_path: Path, tagged: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "tagged.yaml"
    path.write_text(f"id: x\nname: {tagged.format(marker=marker)}\n")
    assert "is not allowed" in _refused(path)
    nested = tmp_path / "nested.yaml"
    nested.write_text(f"id: x\nmodel:\n  size_b: [1, {{a: {tagged.format(marker=marker)}}}]\n")
    assert "is not allowed" in _refused(nested)
    assert not marker.exists()


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "file not found" in _refused(tmp_path / "absent.yaml")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert "folder" in _refused(folder)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &r [*r]\n", "recursive alias"),
        ("a: " + "[" * 150 + "]" * 150 + "\n", "nest"),
        ("a: 2024-13-45\n", "invalid value"),
        ("a:\n\tb: 1\n", "invalid YAML"),
        ("# only a comment\n", "file is empty"),
        ("just a string\n", "got str"),
    ],
)
def test_other_malformed_documents(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    assert problem in _refused(path)


def test_plain_yaml_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    text = "\ufeffa: 1e-3\nb: -2E+5\nc: 10\nd: 1.5\ne: &x {p: 1}\nf:\n  <<: *x\n  q: ⓪①\ng: 2024-01-02\n"
    path.write_bytes(text.encode())
    data = read_yaml(path)
    assert data["a"] == 0.001 and data["b"] == -200000.0 and data["c"] == 10
    assert data["f"] == {"p": 1, "q": "⓪①"}
    assert str(data["g"]) == "2024-01-02"


def test_shared_aliases_below_the_limit_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text("base: &b {lr: 1.0e-3}\none: *b\ntwo: *b\n")
    assert read_yaml(path) == {"base": {"lr": 0.001}, "one": {"lr": 0.001}, "two": {"lr": 0.001}}


def test_several_problems_are_counted_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("id: Not A Slug\nname: ''\nbogus: 1\n")
    message = _refused(path)
    assert "more problems" in message


@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [
        (HeroConfig, "id: a\nnam: A\n", "nam: unknown key (did you mean 'name'?)"),
        (HeroConfig, "id: a\nmodel: {bulder: nano}\n", "model.bulder: unknown key (did you mean 'builder'?)"),
        (HeroConfig, "id: a\nportriat: x\n", "portriat: unknown key (did you mean 'portrait'?)"),
        (HeroConfig, "id: a\nzzz: 1\n", "zzz: unknown key (+"),
        (
            TitlesConfig,
            "titles: [{name: A, priority: 1, conditons: {}}]",
            "titles[0].conditons: unknown key (did you",
        ),
        (
            CurriculumConfig,
            "skills: {sy: {weigth: 1.0}}",
            "skills.sy.weigth: unknown key (did you mean 'weight'?)",
        ),
    ],
)
def test_unknown_keys_come_first_with_a_suggestion(
    tmp_path: Path, model: type[BaseModel], text: str, expected: str
) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_model(path, model)
    assert expected in str(info.value)
