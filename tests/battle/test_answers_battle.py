"""Issue 16, point 2, from the outside: a real tiny battle's evals show the hero's own answers —
one line each in the headless JSON stream and in plain pipe lines, in the store (the Guild's last
answers per level) and as TensorBoard text — all the same answers, picked from the real eval's
results by `rules.answers` (wrong ones first, a few per eval)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from battle_kit import child_env, realm_cmd, run_json
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from realm_tui.battle.tensorboard_sink import run_dir
from realm_tui.paths import RealmPaths
from realm_tui.rules.answers import KEPT_PER_LEVEL, SHOWN_PER_EVAL, choose_samples, sample_line
from realm_tui.services.hero_answers import answers_by_level
from realm_tui.services.records import read_progress
from realm_tui.store import Store

pytestmark = pytest.mark.slow


def _answers_after(events: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    """The `Answer` lines right after the event at `i` (and the notifications it raised)."""
    out = []
    for e in events[i + 1 :]:
        if e["event"] == "Notification" and not out:
            continue
        if e["event"] != "Answer":
            break
        out.append(e)
    return out


def test_evals_show_the_heros_answers_everywhere(tiny_realm: RealmPaths) -> None:
    code, events = run_json(tiny_realm, "--steps", "6")
    assert code == 0
    evals = [(i, e) for i, e in enumerate(events) if e["event"] == "EvalResult"]
    assert evals, "the tiny realm evaluates at its checkpoints"

    # (b) the JSON stream: one `Answer` line per sample, right after its eval, wrong ones first.
    for i, e in evals:
        shown = _answers_after(events, i)
        expected = choose_samples(e["results"], SHOWN_PER_EVAL)
        assert len(shown) == min(SHOWN_PER_EVAL, e["total"]) == len(expected)
        assert [(a["prompt"], a["expected"], a["got"], a["correct"]) for a in shown] == [
            (s.prompt, s.expected, s.got, s.correct) for s in expected
        ]
        assert all((a["skill"], a["level"], a["step"]) == (e["skill"], e["level"], e["step"]) for a in shown)
        flags = [a["correct"] for a in shown]
        assert flags == sorted(flags), "wrong answers come first"
        wrong = [r for r in e["results"] if not r["correct"]]
        assert sum(not f for f in flags) == min(len(wrong), SHOWN_PER_EVAL)
        for a in shown:  # the samples are the eval's own answers, cut short
            assert any(r["prompt"].startswith(a["prompt"].rstrip("…")) for r in e["results"])

    # (c) the store keeps every answer; the Guild shows the last few per level, wrong first.
    with Store.open(tiny_realm.store_file) as store:
        progress = read_progress(store)
    by_level = {(a.skill, a.level): a for a in answers_by_level(progress.evals)}
    for _i, e in evals:
        kept = by_level[(e["skill"], e["level"])]
        assert len(kept.samples) == min(KEPT_PER_LEVEL, e["total"])
    last_i, last = evals[-1]
    kept = by_level[(last["skill"], last["level"])]
    assert kept.step == last["step"]
    assert kept.samples[:SHOWN_PER_EVAL] == choose_samples(last["results"], SHOWN_PER_EVAL)

    # (d) TensorBoard: the eval's answers as text, the same first (wrong) answer on top.
    campaign = next(e["text"] for e in events if e["event"] == "Message" and "campaign" in e["text"])
    logdir = run_dir(tiny_realm, campaign.split("campaign ")[1].split(",")[0])
    acc = EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    for _i, e in evals:
        texts = acc.Tensors(f"answers/{e['skill']}/L{e['level']}/text_summary")
        (text,) = [t.tensor_proto.string_val[0].decode() for t in texts if t.step == e["step"]]
        rows = [line for line in text.splitlines() if line.startswith("| ✗ |") or line.startswith("| ✓ |")]
        first = choose_samples(e["results"], 1)[0]
        assert rows and rows[0].startswith("| ✗ |" if not first.correct else "| ✓ |")
        assert first.expected.rstrip("…") in rows[0]


def test_plain_pipe_lines_show_the_answers_after_each_eval(tiny_realm: RealmPaths) -> None:
    out = subprocess.run(
        realm_cmd(tiny_realm, "train", "--no-ui", "--hero", "tiny", "--steps", "5"),
        capture_output=True,  # a pipe: plain lines
        text=True,
        timeout=240,
        env=child_env(),
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    evals = [i for i, line in enumerate(lines) if line.startswith("🎯 eval ")]
    assert evals, out.stdout
    with Store.open(tiny_realm.store_file) as store:
        stored = read_progress(store).evals  # this battle's evals (a fresh realm), in their order
    assert len(stored) == len(evals)
    for i, record in zip(evals, stored, strict=True):
        skill, level = record.skill, record.level
        assert lines[i].startswith(f"🎯 eval {skill} L{level}: ")
        shown = []
        for line in lines[i + 1 :]:
            if line.startswith("✨ ") and not shown:
                continue  # what the eval raised (a level-up) comes first
            if not line.startswith("   ↳ "):
                break
            shown.append(line)
        expected = choose_samples(record.results, SHOWN_PER_EVAL)
        assert shown == [f"   ↳ {skill} L{level} {sample_line(s)}" for s in expected]
