"""SY: syllacrostic puzzles, levels 1-50 (dials in `configs/skills/sy.yaml`).

Prompt (level 1):

    Syllacrostic: spell each clued word with tiles, one tile per blank; list leftover tiles.
    Answer JSON {"words":[{"syllables":[...],"word":"..."}],"unused":[...]}
    Tiles: TER PEO WA PLE ...
    1. humans in general: _ _
    2. clear liquid we drink: _ _

Answer: canonical JSON, compact (no spaces), keys in this order, words in clue order, unused
tiles sorted:

    {"words":[{"syllables":["PEO","PLE"],"word":"PEOPLE"},...],"unused":["TION"]}

Every puzzle is checked before it is used: the bank is exactly the answer's syllables plus the
red herrings, no clue names another answer, and no other answer fits the clues and the bank:
no other word written for the same clue text, no other known word of a tier-4 shape, no other
split of any of them, no swap of two words under identical clues (`_solutions`). A draw that
fails is thrown away and drawn again, at most MAX_ATTEMPTS times (`realm validate` refuses a
config whose level cannot be built that way).
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from typing import Any

from realm_tui.config.skill import SyConfig, SyLevel
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.skills.json_prefix import viable_json_object_prefix
from realm_tui.skills.words import Word, load_words, names_by_shape, segmentations, tile_index, words_by_clue

INSTRUCTION = (
    "Syllacrostic: spell each clued word with tiles, one tile per blank; list leftover tiles.\n"
    'Answer JSON {"words":[{"syllables":[...],"word":"..."}],"unused":[...]}'
)
MAX_ATTEMPTS = 400
"""Fresh draws allowed for one puzzle before generation gives up (never reached in tests)."""

Slot = list[tuple[str, tuple[str, ...]]]


def canonical_answer(words: list[Word], unused: list[str]) -> str:
    """The exact gold answer text for `words` (in clue order) and the unused tiles."""
    data = {
        "words": [{"syllables": list(w.syllables), "word": w.text} for w in words],
        "unused": sorted(unused),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_answer(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer (code fences and chatter around it are ignored)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def answer_words(data: dict[str, Any]) -> list[str] | None:
    """Upper-case words of a parsed answer (an entry without "word" spells its syllables)."""
    items = data.get("words")
    if not isinstance(items, list):
        return None
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item.strip().upper())
        elif isinstance(item, dict) and isinstance(item.get("word"), str):
            out.append(item["word"].strip().upper())
        elif isinstance(item, dict) and isinstance(item.get("syllables"), list):
            out.append("".join(str(s) for s in item["syllables"]).strip().upper())
        else:
            return None
    return out


UPPER_GROWTH = 3
"""Most characters `str.upper` makes of one ("ﬃ" → "FFI", "ΐ" → three): a word W can be spelled
by as few as ceil(len(W) / 3) characters before `.upper()`."""


def shortest_scoring_json(problem: Problem) -> int:
    """Fewest characters of a JSON object (first "{" to last "}") that `SySkill.score` can
    accept for `problem`: `{"words":[` and `]}` (escapes and spaces only add), then one entry
    per gold word with commas between. An entry for word W is a string (two quotes and at least
    ceil(len(W) / UPPER_GROWTH) characters), or an object, at least `{"word":""}` (11) or
    `{"syllables":[]}` (16) plus a character, whichever is less."""
    words = [str(w["word"]) for w in json.loads(problem.expected)["words"]]
    entries = sum(min(2 + -(-len(w) // UPPER_GROWTH), 12) for w in words)
    return len('{"words":[]}') + entries + max(0, len(words) - 1)


class SySkill(SkillBase):
    """Generator and scorer for SY."""

    skill_id = "sy"
    config: SyConfig

    def __init__(self, config: SyConfig) -> None:
        super().__init__(config)
        self._pools: dict[int, tuple[tuple[Word, ...], dict[str, list[Word]]]] = {}

    def score(self, problem: Problem, answer_text: str, strict: bool = False) -> bool:
        """Right when the set of answer words matches; `strict`: the whole JSON must match
        (formatting and the order of unused tiles aside)."""
        data = parse_answer(answer_text)
        gold = json.loads(problem.expected)
        if data is None:
            return False
        if strict:
            unused = data.get("unused")
            if not isinstance(unused, list) or not all(isinstance(t, str) for t in unused):
                return False
            return {**data, "unused": sorted(unused)} == gold
        words = answer_words(data)
        return words is not None and sorted(words) == sorted(w["word"] for w in gold["words"])

    def partial_credit(self, problem: Problem, answer_text: str) -> float:
        """Share of the gold words the answer names (each counted once per time it is wanted),
        over the larger of the two word counts: naming extra words costs as much as missing one."""
        data = parse_answer(answer_text)
        words = answer_words(data) if data is not None else None
        if not words:
            return 0.0
        gold = [str(w["word"]).upper() for w in json.loads(problem.expected)["words"]]
        left = list(gold)
        hits = 0
        for word in words:
            if word in left:
                left.remove(word)
                hits += 1
        return hits / max(len(gold), len(words))

    def well_formed(self, problem: Problem, answer_text: str) -> bool:
        """The answer holds a JSON object whose `words` list can be read (right or wrong)."""
        data = parse_answer(answer_text)
        return data is not None and answer_words(data) is not None

    def difficulty(self, level: int) -> dict[str, float]:
        """The six dials, each turned so that higher is harder (rarity is 8 - zipf_min), and
        the fewest tiles an answer spells (words × the shortest word's syllables)."""
        lv = self.config.level(level)
        return {
            "words": lv.words,
            "syllables_min": lv.syllables[0],
            "syllables_max": lv.syllables[1],
            "answer_tiles_min": lv.words * lv.syllables[0],
            "rarity": round(8.0 - lv.zipf_min, 6),
            "overlap": lv.overlap,
            "herrings": lv.herrings,
            "clue_min": lv.clue[0],
            "clue_max": lv.clue[1],
        }

    def prompt_neighbours(self, level: int) -> tuple[int, ...]:
        """Levels with the same number of words and of red herrings: a prompt shows how many clue
        lines it has, and its one answer fixes how many tiles are left over, so two levels that
        differ in either can never show the same prompt."""
        lv = self.config.level(level)
        return tuple(
            other.level for other in self.config.levels if (other.words, other.herrings) == (lv.words, lv.herrings)
        )

    def can_still_score(self, problem: Problem, prefix: str, more_chars: int) -> bool:
        """The answer is read from its first "{" to its last "}". Once the prefix has a "{", a
        continuation without "}" leaves that reading as it is now (so it must already score),
        and one with "}" makes the prefix from "{" the start of the JSON to parse (so that must
        still be able to parse)."""
        start = prefix.find("{")
        if start < 0:  # the whole JSON is still to come: it must fit
            return more_chars >= shortest_scoring_json(problem)
        if self.score(problem, prefix):
            return True
        return viable_json_object_prefix(prefix[start:])

    # -- generation ---------------------------------------------------------------------------

    def pool(self, level: int) -> tuple[Word, ...]:
        """Words allowed at `level` (syllable range and rarity floor)."""
        return self._pool(level)[0]

    def _pool(self, level: int) -> tuple[tuple[Word, ...], dict[str, list[Word]]]:
        if level not in self._pools:
            lv = self.config.level(level)
            lo, hi = lv.syllables
            words = tuple(w for w in load_words() if lo <= len(w.syllables) <= hi and w.zipf >= lv.zipf_min)
            by_syllable: dict[str, list[Word]] = defaultdict(list)
            for w in words:
                for s in set(w.syllables):
                    by_syllable[s].append(w)
            if len(words) < lv.words * 3:
                raise ValueError(f"sy level {level}: only {len(words)} words fit its dials")
            self._pools[level] = (words, by_syllable)
        return self._pools[level]

    def make_one(self, level: int, rng: random.Random) -> Problem:
        lv = self.config.level(level)
        pool, by_syllable = self._pool(level)
        for _ in range(MAX_ATTEMPTS):
            words = self._pick_words(lv, pool, by_syllable, rng)
            if words is None:
                continue
            clues = [w.clue_at_least(rng.randint(*lv.clue)) for w in words]
            if any(o.text in text.upper() for _, text in clues for o in words):
                continue
            herrings = self._herrings(lv, words, rng)
            bank = [s for w in words for s in w.syllables] + herrings
            rng.shuffle(bank)
            if self._solutions(words, clues, bank) != 1:
                continue
            return self._problem(level, lv, words, clues, herrings, bank)
        raise RuntimeError(f"sy level {level}: no unique puzzle in {MAX_ATTEMPTS} attempts")

    @staticmethod
    def sharing(words: list[Word]) -> int:
        """How many of `words` share at least one tile text with another of them."""
        count = Counter(s for w in words for s in set(w.syllables))
        return sum(1 for w in words if any(count[s] > 1 for s in set(w.syllables)))

    def _pick_words(
        self, lv: SyLevel, pool: tuple[Word, ...], by_syllable: dict[str, list[Word]], rng: random.Random
    ) -> list[Word] | None:
        need = 0 if lv.overlap == 0 else max(2, math.ceil(lv.overlap * lv.words))
        chosen: list[Word] = []
        if need:
            chosen.append(rng.choice(pool))
            while self.sharing(chosen) < need and len(chosen) < lv.words:
                # Keyed by text (a str hash is cached; a Word's is recomputed on every lookup).
                around = {w.text: w for c in chosen for s in c.syllables for w in by_syllable[s]}
                for c in chosen:
                    around.pop(c.text, None)
                near = [around[text] for text in sorted(around)]
                if not near:
                    return None
                chosen.append(rng.choice(near))
            if self.sharing(chosen) < need:
                return None
        used = {s for w in chosen for s in w.syllables}
        for _ in range(lv.words * 20):
            if len(chosen) >= lv.words:
                break
            w = rng.choice(pool)
            if w in chosen or (not need and used & set(w.syllables)):
                continue
            chosen.append(w)
            used |= set(w.syllables)
        if len(chosen) < lv.words:
            return None
        rng.shuffle(chosen)
        return chosen

    @staticmethod
    def _herrings(lv: SyLevel, words: list[Word], rng: random.Random) -> list[str]:
        taken = {s for w in words for s in w.syllables}
        everyone = load_words()
        out: list[str] = []
        while len(out) < lv.herrings:
            tile = rng.choice(rng.choice(everyone).syllables)
            if tile not in taken:
                taken.add(tile)
                out.append(tile)
        return out

    @staticmethod
    def candidates(tier: int, text: str, answer: str) -> tuple[str, ...]:
        """Every word a clue admits: for tiers 1-3 each curated word written for that clue text
        (some texts belong to several words), for tier 4 each known word of that first letter and
        length."""
        shape = (answer[0], len(answer))
        names = names_by_shape().get(shape, ()) if tier == 4 else words_by_clue().get(text, ())
        return tuple(dict.fromkeys((answer, *names)))

    @classmethod
    def _solutions(cls, words: list[Word], clues: list[tuple[int, str]], bank: list[str], limit: int = 2) -> int:
        """Count (up to `limit`) answers to the puzzle as its prompt states it: for each clue
        line, in order, a word the clue admits (`candidates`) spelled with exactly as many tiles
        as the line has blanks, every split of it tried, the bank's tiles used at most as often
        as they appear. Two answers that differ only in a split or in the order of two words with
        the same clue text count as two: the JSON answer would differ. A word may fill two lines
        (nothing in the prompt forbids it), so an answer that needs it counts too."""
        index = tile_index(bank)
        have = Counter(bank)
        slots: list[Slot] = []
        for w, (tier, text) in zip(words, clues, strict=True):
            options: Slot = []
            for name in cls.candidates(tier, text, w.text):
                for split in segmentations(name, len(w.syllables), index):
                    if not Counter(split) - have:
                        options.append((name, split))
            slots.append(options)
        order = sorted(range(len(slots)), key=lambda i: len(slots[i]))
        found = 0

        def walk(k: int, left: Counter[str]) -> None:
            nonlocal found
            if found >= limit:
                return
            if k == len(order):
                found += 1
                return
            for _, split in slots[order[k]]:
                need = Counter(split)
                if need - left:
                    continue
                walk(k + 1, left - need)

        walk(0, have)
        return found

    def _problem(
        self,
        level: int,
        lv: SyLevel,
        words: list[Word],
        clues: list[tuple[int, str]],
        herrings: list[str],
        bank: list[str],
    ) -> Problem:
        lines = [INSTRUCTION, "Tiles: " + " ".join(bank)]
        for i, (w, (_, text)) in enumerate(zip(words, clues, strict=True), 1):
            lines.append(f"{i}. {text}: {' '.join('_' * len(w.syllables))}")
        tiers = [t for t, _ in clues]
        prims = ["seq_transform", "attn_select", "mem_recall", "fmt_json"]
        if herrings:
            prims.append("attn_filter")
        if self.sharing(words):
            prims.append("mem_compose")
        if max(tiers) >= 3:
            prims.append("logic_deduce")
        if max(tiers) == 4:
            prims.append("attn_count")
        meta = {
            "qid": "|".join(sorted(w.text for w in words)),
            "words": [w.text for w in words],
            "syllables": [list(w.syllables) for w in words],
            "zipf": [w.zipf for w in words],
            "clue_tiers": tiers,
            "tiles": list(bank),
            "herrings": list(herrings),
        }
        return Problem(
            skill="sy",
            level=level,
            prompt="\n".join(lines),
            expected=canonical_answer(words, herrings),
            primitives=tuple(prims),
            tier="plain",
            meta=meta,
        )
