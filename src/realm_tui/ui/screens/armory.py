"""The Armory: hero, memory profile, optimizer, batch / grad accumulation / max length, learning
rate, with a live VRAM estimate. Changes validate before they apply, and apply at the next battle
(they are written into the hero's YAML: see `ui.services.armory`)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Input, Label, Select, Static

from realm_tui.config.common import OPTIMIZERS
from realm_tui.errors import RealmError
from realm_tui.ui.keys import ARMORY_BINDINGS
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.services.armory import ArmoryForm, apply_form, form_for, validate_form
from realm_tui.ui.views import current_campaign

NUMBER_FIELDS = (
    ("batch_size", "batch size", "integer"),
    ("gradient_accumulation", "grad accumulation", "integer"),
    ("max_length", "max length (tokens)", "integer"),
    ("learning_rate", "learning rate", "number"),
)


class ArmoryScreen(RealmScreen):
    MODE = "armory"
    BINDINGS = ARMORY_BINDINGS

    def compose_body(self) -> ComposeResult:
        configs = self.game.configs
        with Horizontal(id="armory"):
            with Vertical(id="armory-left", classes="panel"):
                with Grid(id="armory-form"):
                    yield Label("hero")
                    yield Select(
                        [(h.name + f" ({h.id})", h.id) for h in configs.heroes.values()],
                        allow_blank=False,
                        compact=True,
                        id="armory-hero",
                    )
                    yield Label("memory profile")
                    yield Select(
                        [(p, p) for p in sorted(configs.memory_profiles)],
                        allow_blank=False,
                        compact=True,
                        id="armory-profile",
                    )
                    yield Label("optimizer")
                    yield Select([(o, o) for o in OPTIMIZERS], allow_blank=False, compact=True, id="armory-optimizer")
                    for key, label, kind in NUMBER_FIELDS:
                        yield Label(label)
                        yield Input(id=f"armory-{key}", type=kind, compact=True)  # type: ignore[arg-type]
                yield Static(
                    "[dim]Changes are checked as you type and written into configs/heroes/<hero>.yaml with "
                    "Ctrl+S (a copy of the old file goes to saves/backups/heroes/). A running battle keeps its "
                    "settings; the next battle uses the new ones.[/]",
                    id="armory-note",
                )
            with Vertical(id="armory-side"):
                yield Static("", id="armory-vram", classes="panel")
                yield Static("", id="armory-profile-info", classes="panel")
                yield Static("", id="armory-problems", classes="panel")

    def on_mount(self) -> None:
        self.query_one("#armory-left").border_title = "Settings (Ctrl+S applies at the next battle)"
        self.query_one("#armory-vram").border_title = "VRAM estimate"
        self.query_one("#armory-profile-info").border_title = "Memory profile"
        self.query_one("#armory-problems").border_title = "Check"
        self._loading = False
        campaign = current_campaign(self.game.store)
        hero_id = campaign.hero_id if campaign and campaign.hero_id in self.game.configs.heroes else None
        self._load(hero_id or next(iter(self.game.configs.heroes)))

    def _load(self, hero_id: str) -> None:
        """Fill the form from the hero's current config."""
        form = form_for(self.game.configs, hero_id)
        self._loading = True
        try:
            self.query_one("#armory-hero", Select).value = form.hero_id
            self.query_one("#armory-profile", Select).value = form.memory_profile
            self.query_one("#armory-optimizer", Select).value = form.optimizer
            for key, _label, _kind in NUMBER_FIELDS:
                self.query_one(f"#armory-{key}", Input).value = str(getattr(form, key))
        finally:
            self._loading = False
        self.call_after_refresh(self._check)

    def _read(self) -> tuple[ArmoryForm | None, list[str]]:
        problems: list[str] = []
        values: dict[str, object] = {}
        for key, label, kind in NUMBER_FIELDS:
            text = self.query_one(f"#armory-{key}", Input).value.strip()
            try:
                values[key] = int(text) if kind == "integer" else float(text)
            except ValueError:
                problems.append(
                    f"{label}: {text or 'empty'} is not a {'whole number' if kind == 'integer' else 'number'}"
                )
        if problems:
            return None, problems
        selects = {k: self.query_one(f"#armory-{k}", Select).value for k in ("hero", "profile", "optimizer")}
        form = ArmoryForm(
            hero_id=str(selects["hero"]),
            memory_profile=str(selects["profile"]),
            optimizer=str(selects["optimizer"]),
            batch_size=int(values["batch_size"]),  # type: ignore[call-overload]
            gradient_accumulation=int(values["gradient_accumulation"]),  # type: ignore[call-overload]
            max_length=int(values["max_length"]),  # type: ignore[call-overload]
            learning_rate=float(values["learning_rate"]),  # type: ignore[arg-type]
        )
        return form, []

    def _check(self) -> ArmoryForm | None:
        """Validate the form, show problems, the profile and the VRAM estimate; the form if valid."""
        form, problems = self._read()
        configs = self.game.configs
        if form is not None:
            _hero, problems = validate_form(configs, form)
            self._show_vram(form)
            profile = configs.memory_profiles.get(form.memory_profile)
            if profile is not None:
                self.query_one("#armory-profile-info", Static).update(
                    f"[b]{escape(profile.id)}[/] · {profile.method} · {escape(profile.optimizer)}\n"
                    f"limits: batch ≤ {profile.max_batch_size}, accumulation ≤ {profile.max_grad_accum}, "
                    f"length ≤ {profile.max_seq_length}\n[dim]{escape(profile.description.strip())}[/]"
                )
        box = self.query_one("#armory-problems", Static)
        if problems:
            box.update("\n".join(f"[$error]✖[/] {escape(p)}" for p in problems))
            return None
        changed = form is not None and form != form_for(configs, form.hero_id)
        running = " The running battle keeps its settings." if self.game.trainer_state.busy else ""
        box.update(
            ("[$success]✓ valid[/] — Ctrl+S writes it; it applies at the next battle." + running)
            if changed
            else "[$success]✓[/] [dim]these are the hero's current settings[/]"
        )
        return form

    def _show_vram(self, form: ArmoryForm) -> None:
        estimate = self.game.options.estimate_vram(self.game.configs, form)
        parts = "\n".join(f"  {name:<16} {gb:8.3f} GiB" for name, gb in estimate.parts)
        note = "placeholder until armory.vram lands" if estimate.source == "placeholder" else estimate.source
        self.query_one("#armory-vram", Static).update(
            f"[b]{estimate.total_gb:.3f} GiB[/] [dim]({escape(note)})[/]\n{parts}"
        )

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if self._loading:
            return
        if event.select.id == "armory-hero" and isinstance(event.value, str):
            self._load(event.value)
            return
        self._check()

    @on(Input.Changed)
    def _input_changed(self) -> None:
        if not self._loading:
            self._check()

    def action_apply(self) -> None:
        form = self._check()
        if form is None:
            self.notify_refusal("fix the problems first")
            return
        if form == form_for(self.game.configs, form.hero_id):
            self.notify("nothing changed", title="Armory", timeout=3, markup=False)
            return
        try:
            backup = apply_form(self.game.realm, self.game.configs, form)
            self.game.reload_configs()
        except (ValueError, OSError, RealmError) as err:
            self.notify_refusal(str(err))
            return
        self.notify(
            f"{form.hero_id}.yaml saved (previous copy in {backup.parent.name}/{backup.name}); "
            "it applies at the next battle",
            title="Armory",
            markup=False,
        )
        self._check()

    def action_revert(self) -> None:
        try:
            self.game.reload_configs()
        except RealmError as err:
            self.notify_refusal(str(err))
            return
        self._load(str(self.query_one("#armory-hero", Select).value))

    def action_leave_input(self) -> None:
        self.query_one("#armory-hero", Select).focus()
