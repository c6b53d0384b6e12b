"""Builds each optimizer step's examples from the quest file and generated skill data.

`realm_tui.skills.curriculum.plan_mix` decides the sources; this module makes them: quest
examples come from the deterministic `DataStream`, skill examples from `training_batch` (seeded
by the battle seed and the mixer's draw counter, which equals the step unless updates were
skipped), tokenized with the hero's chat format. Module examples come from the installed module
files the parent chose (`curriculum["modules"]`, see `realm_tui.quests.compose`), read and
tokenized as quest files are (`load_quest`), each module in its own deterministic `DataStream`.
The curriculum, the draw counter and the module stream positions are saved with every
checkpoint, so a resumed battle draws exactly the same examples.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realm_tui.errors import InputError, RealmError
from realm_tui.skills.base import Problem, SkillBase
from realm_tui.skills.curriculum import (
    Source,
    module_shares,
    module_slots,
    plan_mix,
    skill_slots,
    summarize,
    summarize_modules,
)
from realm_tui.skills.registry import realm_skill
from realm_tui.trainer.data import (
    ChatFormat,
    DataPosition,
    DataStream,
    Example,
    QuestData,
    load_quest,
    tokenize_chat,
)

SKILL_VAL_EXAMPLES = 64
"""Most held-out problems per skill in a checkpoint's validation loss (`val_sets`)."""
FIT_CHECK_PROBLEMS = 16
"""Eval problems per (skill, training level) measured against max_length when a curriculum arrives."""


def batch_index(seed: int, draw: int) -> int:
    """`training_batch` index of one step's draw: distinct per (seed, draw), stable everywhere."""
    return (seed % 1_000_003) * 10_000_000 + draw


def module_seed(seed: int, module_id: str) -> int:
    """Shuffle seed of one module's stream: distinct per (battle seed, module), stable everywhere."""
    return (seed % 1_000_003) * 4_294_967_296 + zlib.crc32(module_id.encode())


@dataclass
class ModulePool:
    """One module's tokenized examples and where its stream stands."""

    files: tuple[str, ...]
    examples: list[Example]
    stream: DataStream
    drawn: int = 0
    """Examples drawn from it so far in this campaign's checkpoints (saved with them)."""

    def state(self) -> dict[str, Any]:
        position = self.stream.position
        return {"files": list(self.files), "epoch": position.epoch, "index": position.index, "drawn": self.drawn}

    def restore(self, state: dict[str, Any]) -> None:
        """Take a saved position when it belongs to the same files (else start over)."""
        if [str(f) for f in state.get("files") or ()] == list(self.files):
            self.stream.position = DataPosition(int(state.get("epoch", 0)), int(state.get("index", 0)))
            self.drawn = int(state.get("drawn", 0))


@dataclass
class Mixer:
    """One battle's example source. `quest` is None for a skills-only battle."""

    quest: QuestData | None
    tokenizer: Any
    chat: ChatFormat
    max_length: int
    seed: int
    configs_dir: Path | None
    curriculum: dict[str, Any] = field(default_factory=dict)
    draw: int = 0
    """Mixes drawn so far (saved with checkpoints)."""
    log: Callable[[str], None] = lambda message: None
    quest_id: str = ""
    quest_passes: float = 1.0
    """Epochs of the quest's examples after which the quest is trained (then no more are drawn)."""
    quest_steps: int = 0
    """Steps that drew examples of this quest, over all its battles (saved with checkpoints)."""
    wrap: Callable[[Problem, Example], Example] | None = None
    """Turns each generated problem's example into what a step trains on (the Arena keeps the
    problem with it, to sample and judge answers); None: the example as it is."""
    stream: DataStream = field(init=False)
    modules: dict[str, ModulePool] = field(default_factory=dict, init=False)
    """Module id → its pool, for the modules taking part."""
    _unfit: set[tuple[str, int]] = field(default_factory=set, init=False)
    _broken: set[tuple[str, int]] = field(default_factory=set, init=False)
    """(skill, level) whose generator failed: left out of this battle, said once."""
    _val_cache: dict[tuple[str, int, int], list[Example]] = field(default_factory=dict, init=False)
    """Held-out validation examples per (skill, level, count): the same set at every checkpoint."""
    _fit_checked: set[tuple[str, int]] = field(default_factory=set, init=False)
    last_mix: dict[str, int] = field(default_factory=dict, init=False)
    """Examples the latest step drew per source (skill id, `quest`, `module:<id>`): effort per skill."""
    _saved_modules: dict[str, Any] = field(default_factory=dict, init=False)
    _logged_modules: list[Any] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.stream = DataStream(len(self.quest.train) if self.quest else 0, self.seed)
        self.curriculum = self._with_modules(dict(self.curriculum))
        if self.quest is None and not skill_slots(self.curriculum) and not module_slots(self.curriculum):
            raise RealmError("a battle without a quest file needs skills (or modules) in its curriculum")
        self.check_fit()

    # ------------------------------------------------------------ state

    @property
    def quest_done(self) -> bool:
        """Whether every quest example was trained for the quest's passes (False with no quest)."""
        return self.quest is not None and self.stream.epoch_float >= self.quest_passes

    @property
    def quest_progress(self) -> float | None:
        """Share of the quest's passes trained so far, 0..1 (None with no quest)."""
        if self.quest is None:
            return None
        return min(1.0, self.stream.epoch_float / self.quest_passes) if self.quest_passes > 0 else 1.0

    @property
    def has_other_sources(self) -> bool:
        """Whether the curriculum gives skills or modules to train once the quest is done (not with
        quest_share 1: such a battle is the quest's alone, e.g. the Judge's preference pairs)."""
        share = self.curriculum.get("quest_share")
        if isinstance(share, int | float) and share >= 1.0:
            return False
        return bool(skill_slots(self.curriculum) or module_slots(self.curriculum))

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"draw": self.draw}
        if self.quest is not None:
            state["quest"] = {"id": self.quest_id, "steps": self.quest_steps, "done": self.quest_done}
        if self.modules:
            state["modules"] = {mid: pool.state() for mid, pool in self.modules.items()}
        return state

    def load_state_dict(self, state: dict[str, Any] | None, position: DataPosition) -> None:
        """Restore the draw counter (older checkpoints: none, so the step is used), the quest
        position and the module stream positions (of modules with the same files)."""
        if state is not None and "draw" in state:
            self.draw = int(state["draw"])
        saved_quest = (state or {}).get("quest")
        if isinstance(saved_quest, dict) and (saved_quest.get("id") != self.quest_id or saved_quest.get("done")):
            # Another quest (or this one, already trained and served again): it starts at its beginning.
            self.stream.position, self.quest_steps = DataPosition(), 0
        else:  # the same quest in progress (or an older checkpoint): it continues where it stood
            self.stream.position = position
            self.quest_steps = int((saved_quest or {}).get("steps", 0))
        self._saved_modules = dict((state or {}).get("modules") or {})
        for mid, pool in self.modules.items():
            if isinstance(self._saved_modules.get(mid), dict):
                pool.restore(self._saved_modules[mid])

    def set_curriculum(self, curriculum: dict[str, Any]) -> None:
        """A new curriculum; one without a `modules` key (the keeper's) keeps the battle's modules."""
        curriculum = dict(curriculum)
        if "modules" not in curriculum and "modules" in self.curriculum:
            curriculum["modules"] = self.curriculum["modules"]
        if self.quest is None and not skill_slots(curriculum) and not module_slots(curriculum):
            self.log("ignored a curriculum without skills: this battle has no quest data to fall back on")
            return
        self.curriculum = self._with_modules(curriculum)
        self.check_fit()

    # ------------------------------------------------------------ modules

    def _load_pool(self, module_id: str, files: tuple[str, ...]) -> ModulePool:
        """Read and tokenize a module's files as quest files are (InputError when none can be trained)."""
        data = load_quest(files, self.tokenizer, self.max_length, seed=self.seed, val_fraction=0.0, chat=self.chat)
        if data.dropped:
            self.log(
                f"module {module_id}: skipped {data.dropped} example(s) with no assistant token within "
                f"max_length {self.max_length}"
            )
        pool = ModulePool(files, data.train, DataStream(len(data.train), module_seed(self.seed, module_id)))
        saved = self._saved_modules.get(module_id)
        if isinstance(saved, dict):
            pool.restore(saved)
        return pool

    def _with_modules(self, curriculum: dict[str, Any]) -> dict[str, Any]:
        """Load the pools of the curriculum's modules (keeping those already loaded with the same
        files); a module whose files cannot be trained is marked skipped. Logs what each brings."""
        entries = [dict(e) for e in curriculum.get("modules") or () if isinstance(e, dict)]
        if not entries and not self.modules:
            return curriculum
        old, self.modules = self.modules, {}
        for entry in entries:
            mid, files = str(entry.get("id")), tuple(str(f) for f in entry.get("files") or ())
            if entry.get("skipped") or not files:
                continue
            kept = old.get(mid)
            try:
                self.modules[mid] = kept if kept is not None and kept.files == files else self._load_pool(mid, files)
            except InputError as err:
                entry["skipped"] = f"its data cannot be trained: {err}"
        curriculum["modules"] = entries
        shown = [(e.get("id"), e.get("files"), e.get("skipped")) for e in entries]
        if shown != self._logged_modules:  # say once what each module brings, or why it is left out
            self._logged_modules = shown
            self._log_modules(curriculum)
        return curriculum

    def _log_modules(self, curriculum: dict[str, Any]) -> None:
        shares = module_shares(curriculum)
        for entry in curriculum.get("modules") or ():
            mid = str(entry.get("id"))
            if entry.get("skipped"):
                self.log(f"module {mid} skipped: {entry['skipped']}")
            elif mid in self.modules:
                levels = ", ".join(f"{skill} level {level}" for skill, level in (entry.get("levels") or {}).items())
                self.log(
                    f"module {mid}: {len(self.modules[mid].examples)} examples ({levels}), about "
                    f"{shares.get(mid, 0.0):.0%} of the non-quest examples (weight {entry.get('weight')}, "
                    f"priority {entry.get('priority')})"
                )

    # ------------------------------------------------------------ skills

    def skill(self, skill_id: str) -> SkillBase:
        try:
            return realm_skill(skill_id, self.configs_dir)
        except KeyError as err:
            raise RealmError(str(err)) from err

    def check_fit(self) -> None:
        """Measure each curriculum skill's training level against max_length, once per (skill,
        level), and warn at once when its problems do not fit: a level none of whose problems
        keeps an answer token is never trained (every example is dropped) nor evaluated."""
        for slot in skill_slots(self.curriculum):
            key = (slot.id, slot.level)
            if key in self._fit_checked:
                continue
            self._fit_checked.add(key)
            try:
                problems = self.skill(slot.id).heldout_eval_set(slot.level, FIT_CHECK_PROBLEMS)
            except (RealmError, ValueError):
                continue  # a bad skill or level is reported where it is drawn or evaluated
            lengths = [len(tokenize_chat(p.messages(), self.tokenizer, 1 << 20, self.chat)) for p in problems]
            trainable = sum(
                1 for p in problems if tokenize_chat(p.messages(), self.tokenizer, self.max_length, self.chat).n_labels
            )
            too_long = sum(1 for n in lengths if n > self.max_length)
            if not too_long:
                continue
            need = f"{min(lengths)}-{max(lengths)} tokens" if min(lengths) != max(lengths) else f"{lengths[0]} tokens"
            if trainable == 0:
                self._unfit.add(key)
                self.log(
                    f"{slot.id} level {slot.level} CANNOT BE TRAINED: its problems need {need} and max_length is "
                    f"{self.max_length}, so every {slot.id} example is dropped and its evals are skipped. Raise "
                    f"training_defaults.max_length in the hero's config (to at least {max(lengths)}) or disable "
                    f"{slot.id} in configs/curriculum.yaml"
                )
            else:
                self.log(
                    f"{slot.id} level {slot.level}: {too_long} of {len(lengths)} sampled problems are longer than "
                    f"max_length {self.max_length} (they need up to {max(lengths)} tokens) and are cut or dropped; "
                    "raise training_defaults.max_length in the hero's config"
                )

    def _tokenize(self, problems: list[Problem], skill_id: str, level: int) -> list[Example]:
        examples = [tokenize_chat(p.messages(), self.tokenizer, self.max_length, self.chat) for p in problems]
        kept = [e for e in examples if e.n_labels > 0]
        if self.wrap is not None:
            kept = [self.wrap(p, e) for p, e in zip(problems, examples, strict=True) if e.n_labels > 0]
        if len(kept) < len(examples) and (skill_id, level) not in self._unfit:
            self._unfit.add((skill_id, level))
            self.log(
                f"{skill_id} level {level}: {len(examples) - len(kept)} of {len(examples)} examples have no answer "
                f"token within max_length {self.max_length} and are skipped (raise training_defaults.max_length)"
            )
        return kept

    # ------------------------------------------------------------ drawing

    def plan(self, n: int) -> list[Source]:
        rng = random.Random(f"realm-mix:{self.seed}:{self.draw}")
        # A trained quest gives no more examples: the rest of the battle trains the curriculum.
        has_quest = self.quest is not None and not self.quest_done
        return plan_mix(self.curriculum, n, rng, has_quest=has_quest, step=self.draw)

    def next_examples(self, n: int) -> list[Example]:
        """The `n` examples of the next step (fewer only when generated ones do not fit max_length)."""
        sources = self.plan(n)
        examples: list[Example] = []
        mix: dict[str, int] = {}
        n_quest = sum(1 for s in sources if s.is_quest)
        if n_quest:
            assert self.quest is not None
            examples += [self.quest.train[i] for i in self.stream.take(n_quest)]
            self.quest_steps += 1
            mix["quest"] = n_quest
        for module_id, count in summarize_modules(sources).items():
            pool = self.modules[module_id]
            examples += [pool.examples[i] for i in pool.stream.take(count)]
            pool.drawn += count
            mix[f"module:{module_id}"] = count
        index = batch_index(self.seed, self.draw)
        for (skill_id, level), count in summarize(sources).items():
            if (skill_id, level) in self._broken:
                continue
            try:
                problems = self.skill(skill_id).training_batch(level, count, index)
            except (RealmError, ValueError, KeyError, IndexError) as err:
                # A generator that cannot make this level (a skill config it cannot satisfy): one
                # clear line, and the battle goes on with the other sources.
                self._broken.add((skill_id, level))
                self.log(
                    f"{skill_id} level {level}: its generator failed ({type(err).__name__}: {err}); "
                    f"no {skill_id} level {level} examples in this battle (check configs/skills/{skill_id}.yaml)"
                )
                continue
            tokenized = self._tokenize(problems, skill_id, level)
            examples += tokenized
            mix[skill_id] = mix.get(skill_id, 0) + len(tokenized)
        self.draw += 1
        self.last_mix = mix
        if not examples:
            raise RealmError(
                f"no trainable example in this step: generated problems do not fit max_length {self.max_length} "
                "or their generators failed (see the warnings above); raise training_defaults.max_length or "
                "disable those skills in configs/curriculum.yaml"
            )
        return examples

    def val_sets(self, limit: int) -> dict[str, list[Example]]:
        """Held-out examples of each source the battle can train, keyed like `last_mix`: `quest`
        (its validation split, while the battle has a quest) and each curriculum skill at its
        training level (held-out eval problems where the level has any). `limit` examples in all,
        shared between the sources. Modules have no held-out split and are left out. The set of
        sources depends on the curriculum alone, so every rank measures the same ones."""
        slots = skill_slots(self.curriculum)
        n_sources = len(slots) + (1 if self.quest is not None and self.quest.val else 0)
        share = max(1, limit // max(1, n_sources))
        out: dict[str, list[Example]] = {}
        if self.quest is not None and self.quest.val:
            out["quest"] = list(self.quest.val[:share])
        for slot in slots:
            examples = self._skill_val(slot.id, slot.level, min(SKILL_VAL_EXAMPLES, share))
            if examples:
                out[slot.id] = examples
        return out

    def _skill_val(self, skill_id: str, level: int, count: int) -> list[Example]:
        """The level's held-out examples, generated and tokenized once per (skill, level, count):
        the held-out set is fixed by its seed, and every checkpoint measures the same one."""
        key = (skill_id, level, count)
        if key not in self._val_cache:
            self._val_cache[key] = self._make_skill_val(skill_id, level, count)
        return self._val_cache[key]

    def _make_skill_val(self, skill_id: str, level: int, count: int) -> list[Example]:
        skill = self.skill(skill_id)
        try:
            problems = skill.heldout_eval_set(level, count)
        except (ValueError, KeyError, IndexError) as err:  # its generator failed: said when drawn
            if (skill_id, level) not in self._broken:
                self._broken.add((skill_id, level))
                self.log(f"{skill_id} level {level}: no validation problems ({type(err).__name__}: {err})")
            return []
        # Held-out questions where there are any (a tiny level has none: its whole table is the eval).
        problems = [p for p in problems if skill.held_out(p)] or problems
        examples = [tokenize_chat(p.messages(), self.tokenizer, self.max_length, self.chat) for p in problems]
        return [e for e in examples if e.n_labels > 0]
