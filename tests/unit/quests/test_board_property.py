"""Property: whatever bytes land in the inbox, under whatever name (not UTF-8, up to the longest
the file system takes), the board never crashes, never loses them, never jams, and never lets an
invalid line reach the queue."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realm_tui.quests.board import Board
from realm_tui.quests.content import content_reason
from realm_tui.quests.policy import QuestPolicy
from realm_tui.quests.tokens import count_chars, example_tokens
from realm_tui.quests.validate import check_example, parse_line
from realm_tui.store import Store

from ._helpers import Clock, all_files, make_realm

MAX_TOKENS = 200
POLICY = QuestPolicy(settle_seconds=0)

text = st.text(st.characters(codec="utf-8"), max_size=40)
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "wizard"]), "content": text | st.integers()}
)
json_line = st.fixed_dictionaries({"messages": st.lists(message, max_size=4)}).map(
    lambda obj: json.dumps(obj, ensure_ascii=False).encode("utf-8")
)
good_line = st.tuples(text, text.filter(str.strip)).map(
    lambda qa: json.dumps(
        {"messages": [{"role": "user", "content": qa[0]}, {"role": "assistant", "content": qa[1]}]}
    ).encode()
)
raw_line = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b""))
lines = st.lists(st.one_of(good_line, json_line, raw_line, st.just(b"")), max_size=12)
payload = st.one_of(st.binary(max_size=400), lines.map(lambda ls: b"\n".join(ls)))
name_byte = st.integers(1, 255).filter(lambda b: b != ord("/")).map(lambda b: bytes([b]))
stem = st.one_of(
    st.lists(name_byte, max_size=30).map(b"".join),  # any bytes: often not UTF-8
    st.integers(180, 246).map(lambda n: b"x" * n),  # long names: 255 bytes with the prefix and .jsonl
    st.integers(60, 82).map(lambda n: b"\xff" * n),  # three UTF-8 bytes each once made text
)
extension = st.sampled_from([b".jsonl", b".txt", b".JSONL"])


def _assert_trainable(path: Path) -> None:
    seen = set()
    for raw in path.read_bytes().splitlines():
        if not raw.strip():
            continue
        obj, reason = parse_line(raw.decode("utf-8"))
        assert reason is None and check_example(obj) is None, raw
        assert content_reason(obj["messages"], POLICY) is None, raw
        assert example_tokens(obj["messages"], count_chars) <= MAX_TOKENS
        key = json.dumps([[m["role"], m["content"]] for m in obj["messages"]])
        assert key not in seen
        seen.add(key)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(st.tuples(payload, stem, extension), min_size=1, max_size=3))
def test_arbitrary_inbox_bytes(files: list[tuple[bytes, bytes, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        realm = make_realm(Path(tmp) / "realm")
        with Store.open(realm.store_file) as store:
            board = Board(realm, store, policy=POLICY, count_tokens=count_chars, max_tokens=MAX_TOKENS, clock=Clock())
            inbox = os.fsencode(realm.quests / "inbox")
            for i, (data, name, ext) in enumerate(files):
                with open(os.path.join(inbox, b"%d-" % i + name + ext), "wb") as fh:
                    fh.write(data)
            result = board.scan()
            assert not result.errors
            assert len(result.queued) + len(result.failed) == len(files)
            for record in store.quests.by_state("queued"):
                _assert_trainable(realm.root / record.path)
            for record in store.quests.all():  # UTF-8 only: the store can be written
                json.dumps(record.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")
            kept = [p.read_bytes() for p in all_files(realm.quests)]
            for data, _name, _ext in files:  # every dropped file still exists, byte for byte (or cleaned + original)
                assert data in kept
            assert board.scan().errors == []  # the board is not jammed
