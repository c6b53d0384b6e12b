"""The Guild: skills and their levels, progress to the next level, eval history, primitives,
strain and the curriculum hint, titles and achievements, campaign peaks and the level-cap verdict.

Campaign moves from the keyboard (all refused while a battle runs): `N` starts a new campaign with
a hero picked from the realm's heroes, `R` resumes a paused (or maxed-out) campaign picked from a
list, `A` archives the campaign. `m` spars: the hero answers a skill's problems in a child process
(as `realm quest spar`) and its mistakes become a high-priority quest. Sparring is refused while a
battle runs (both would share the CPU, and the trainer holds the hero's latest weights)."""

from __future__ import annotations

import contextlib
from typing import Literal

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from realm_tui.errors import RealmError
from realm_tui.services.campaigns import CampaignRefusal
from realm_tui.services.paths import path_caption
from realm_tui.services.sparring import SPAR_COUNT, SparOutcome
from realm_tui.ui.keys import GUILD_BINDINGS
from realm_tui.ui.literal import escape
from realm_tui.ui.lore_text import LoreStatic
from realm_tui.ui.messages import CheckpointAdded, NotificationRaised, QuestBoardChanged, StepUpdate
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.screens.modals import ConfirmModal, PickModal
from realm_tui.ui.views import GuildView, SkillView, build_guild_view, build_hero_sheet
from realm_tui.ui.widgets.answers import answers_markup
from realm_tui.ui.widgets.text import bar, sparkline, zone_label

PRIMITIVES_SHOWN = 8
NO_ANSWERS = "[dim]No eval yet: each eval keeps the hero's answers here, a few per level.[/]"


def skill_text(s: SkillView) -> str:
    d = s.decision
    mean = "—" if d.mean is None else f"{d.mean:.0%}"
    need = f"{d.needed:.0%}"
    fill = 0.0 if d.mean is None else min(1.0, d.mean / d.needed if d.needed else 1.0)
    evals = f"{min(d.count, d.min_evals)}/{d.min_evals} evals"
    ready = "  [b $success]ready to level up[/]" if d.level_up else ""
    return (
        f"{escape(s.icon)} [b]{escape(s.name)}[/] [dim]({s.skill.upper()})[/]  "
        f"mastered [b]{s.mastered}[/]/{s.max_level}"
        f" · training L{s.training_level}{ready}\n"
        f"  next level [$success]{bar(fill, 12)}[/] {mean} of {need} ({evals})\n"
        f"  history [$accent]{sparkline(s.history, 30)}[/] · effort {s.effort:.1f}"
        + (f"\n  [$warning]{escape(s.old_version_note)}[/]" if s.old_version_note else "")
    )


class GuildScreen(RealmScreen):
    MODE = "guild"
    BINDINGS = GUILD_BINDINGS
    spar_count = SPAR_COUNT
    """Problems per sparring round."""
    sparring = False
    """A sparring round is running (one at a time)."""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="guild"):
            with VerticalScroll(id="guild-left"):
                yield LoreStatic("", id="guild-skills", classes="panel")
                yield LoreStatic("", id="guild-strain", classes="panel")
                yield LoreStatic("", id="guild-campaign", classes="panel")
                yield LoreStatic("", id="guild-answers", classes="panel")
            with Vertical(id="guild-right"):
                yield LoreStatic("", id="guild-primitives", classes="panel")
                yield VerticalScroll(LoreStatic("", id="guild-honours"), id="guild-honours-box", classes="panel")

    def on_mount(self) -> None:
        titles = {
            "#guild-skills": "Skills",
            "#guild-strain": "Strain & curriculum",
            "#guild-campaign": "Campaign",
            "#guild-answers": "The hero's last answers per level (wrong first)",
            "#guild-primitives": "Primitives",
            "#guild-honours-box": "Titles & achievements",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title

    def refresh_view(self) -> None:
        game = self.game
        progress = game.records.progress(regressions=True)
        sheet = build_hero_sheet(game.configs, progress, game.live)
        view = build_guild_view(game.configs, progress, hero_title=sheet.title)
        campaign = progress.campaign
        self._show(view, campaign.status.replace("_", " ") if campaign else "")
        self._show_strain()

    def action_refresh_guild(self) -> None:
        self.refresh_view()

    def action_archive_campaign(self) -> None:
        """Archive the shown campaign (asks first); refused while a battle runs."""
        if not self.writable():
            return
        if self.game.trainer_state.busy:
            self.notify_refusal("a battle is running: stop it (x) before archiving its campaign")
            return
        campaign = self.game.records.current_campaign()
        if campaign is None:
            self.notify_refusal("there is no campaign to archive yet")
            return
        if campaign.status == "archived":
            self.notify_refusal(f"{campaign.id} is archived already")
            return
        campaign_id = campaign.id

        def done(confirmed: bool | None) -> None:
            if not confirmed or self.game.trainer_state.busy:
                return
            try:
                self.game.campaigns.archive(campaign_id)
            except CampaignRefusal as err:
                self.notify_refusal(str(err))
                return
            self.notify(
                f"{campaign_id} archived; the next battle starts a new campaign", title="Campaign", markup=False
            )
            self.refresh_view()

        question = (
            f"Archive {campaign_id} for good? It records nothing more; its checkpoints stay in the Vault "
            "and New Game+ can start from any of them."
        )
        self.app.push_screen(ConfirmModal(question, yes="Archive"), done)

    def _idle(self, doing: str) -> bool:
        """True when the store is writable and no battle (or sparring round) runs; else says why."""
        if not self.writable():
            return False
        if self.game.trainer_state.busy:
            self.notify_refusal(f"a battle is running: stop it (x) before {doing}")
            return False
        if self.sparring:
            self.notify_refusal(f"the hero is sparring: wait for its result before {doing}")
            return False
        return True

    def _campaign_move(self, move: str, target: str) -> None:
        """Apply `new` (target: a hero id) or `resume` (target: a campaign id) through the desk."""
        if self.game.trainer_state.busy or self.sparring:
            self.notify_refusal("a battle or a sparring round started meanwhile: nothing changed")
            return
        desk = self.game.campaigns
        try:
            if move == "new":
                hero = self.game.configs.heroes.get(target)
                record = desk.new_campaign(target, hero.name if hero else target)
                text = f"{record.id} begins with {record.hero_id}; the next battle (s) fights for it"
            else:
                record = desk.resume(target)
                text = f"{record.id} is the active campaign again; the next battle (s) continues it"
        except CampaignRefusal as err:
            self.notify_refusal(str(err))
            return
        self.notify(text, title="Campaign", markup=False)
        self.refresh_view()

    def action_new_campaign(self) -> None:
        """Pick a hero; a fresh campaign of it becomes the active one (the active one pauses)."""
        if not self._idle("starting a new campaign"):
            return
        heroes = self.game.configs.heroes
        if not heroes:
            self.notify_refusal("no hero is configured (configs/heroes/)")
            return
        campaign = self.game.records.current_campaign()
        choices = [(hid, f"{hero.name} ({hid})") for hid, hero in heroes.items()]
        note = "The active campaign pauses; resume it later with R."
        modal = PickModal("New campaign: pick its hero", choices, note, campaign.hero_id if campaign else "")
        self.app.push_screen(modal, lambda hid: self._campaign_move("new", hid) if hid else None)

    def action_resume_campaign(self) -> None:
        """Pick a paused (or maxed-out) campaign; it becomes the active one (the active one pauses)."""
        if not self._idle("resuming a campaign"):
            return
        found = self.game.campaigns.resumable()
        if not found:
            self.notify_refusal("there is no paused campaign to resume (N starts a new one)")
            return
        choices = [
            (c.id, f"{c.id} · {c.hero_id} · {c.status.replace('_', ' ')} · step {c.current_step}") for c in found
        ]
        note = "The active campaign pauses; a maxed-out campaign resumes to push on."
        modal = PickModal("Resume a campaign", choices, note)
        self.app.push_screen(modal, lambda cid: self._campaign_move("resume", cid) if cid else None)

    def action_spar(self) -> None:
        """Pick a skill (BIN first); the hero spars on it in a background worker."""
        if not self._idle("sparring"):
            return
        skills = self.game.configs.skills
        if not skills:
            self.notify_refusal("no skill is configured (configs/skills/)")
            return
        choices = [(sid, f"{cfg.icon} {cfg.display_name}") for sid, cfg in skills.items()]
        note = f"The hero answers {self.spar_count} problems at its training level; mistakes queue high."
        self.app.push_screen(PickModal("Spar on which skill?", choices, note, "bin"), self._start_spar)

    def _start_spar(self, skill: str | None) -> None:
        if skill is None or not self._idle("sparring"):
            return
        self.sparring = True
        self.notify(f"the hero answers {self.spar_count} {skill.upper()} problems…", title="Sparring", markup=False)
        self._spar(skill)

    @work(thread=True, group="spar", exit_on_error=False, name="spar", description="sparring")
    def _spar(self, skill: str) -> None:
        game = self.game
        error = ""
        try:
            outcome: SparOutcome | None = game.sparring.round(game.configs, skill, count=self.spar_count)
        except (RealmError, ValueError, OSError) as err:
            outcome, error = None, f"sparring on {skill.upper()} failed: {err}"
        with contextlib.suppress(RuntimeError):  # the player left the game meanwhile: nobody to tell
            self.app.call_from_thread(self._sparred, outcome, error)

    def _sparred(self, outcome: SparOutcome | None, error: str) -> None:
        self.sparring = False
        if outcome is None:
            self.app.notify(error, title="Sparring", severity="error", timeout=10, markup=False)
            return
        queued = outcome.quest is not None and outcome.quest.state == "queued"
        warn = outcome.quest is not None and not queued
        severity: Literal["information", "warning"] = "warning" if warn else "information"
        self.app.notify(outcome.summary(), title="Sparring", severity=severity, timeout=10, markup=False)
        if outcome.quest is not None:
            self.app.post_message(QuestBoardChanged(f"{outcome.quest.id} {outcome.quest.state}"))

    def _show(self, view: GuildView, status: str = "") -> None:
        skills = "\n".join(skill_text(s) for s in view.skills) or "[dim]No skills configured (configs/skills/).[/]"
        self.query_one("#guild-skills", Static).update(skills)
        peaks = ", ".join(f"{k} {v}" for k, v in sorted(view.peaks.items())) or "none yet"
        verdict_style = "$error" if view.maxed_out else "$success"
        campaign = [
            f"[dim]campaign[/] {escape(view.campaign_id or 'none')}{f' ({status})' if status else ''} · "
            f"effort {view.effort_total:.1f}",
            f"[dim]path[/] {escape(path_caption(self.game.configs, self.game.paths.followed()))}",
            f"[dim]peaks[/] {escape(peaks)}",
            f"[b {verdict_style}]{'MAXED OUT' if view.maxed_out else 'Growing'}[/] {escape(view.verdict)}",
        ]
        campaign += [f"[dim]·[/] {escape(t)}" for t in view.transitions]
        self.query_one("#guild-campaign", Static).update("\n".join(campaign))
        self._show_primitives(view)
        self._show_honours(view)
        self.query_one("#guild-answers", Static).update(answers_markup(view.answers, NO_ANSWERS))

    def _show_primitives(self, view: GuildView) -> None:
        if not view.primitives:
            text = "[dim]No tagged eval results yet: evals tag every problem with its primitives.[/]"
        else:
            rows = [
                f"{'[b $error]![/]' if acc < 0.7 and n >= 5 else ' '} {p:<15} {bar(acc, 6)} {acc:>4.0%} [dim]n={n}[/]"
                for p, acc, n in view.primitives[:PRIMITIVES_SHOWN]
            ]
            for w in view.weak[:3]:
                trained = ", ".join(s.upper() for s in w.skills) or "no skill yet"
                rows.append(f"[b $error]![/] [dim]{w.primitive}: {escape(w.description)} — trained by {trained}[/]")
            text = "\n".join(rows)
        self.query_one("#guild-primitives", Static).update(text)

    def _show_honours(self, view: GuildView) -> None:
        names = [name for name, _d, _h in view.titles]  # highest priority first
        held = next((i for i, (_n, _d, h) in enumerate(view.titles) if h), len(names))
        lines = []
        if held < len(names):
            _name, description, _h = view.titles[held]
            lines.append(f"[b $warning]» {escape(names[held])}[/] [dim]{escape(description)}[/]")
        else:
            lines.append("[dim]no title yet[/]")
        ahead = list(reversed(names[max(0, held - 3) : held]))
        if ahead:
            lines.append("[dim]titles ahead:[/] " + " · ".join(escape(n) for n in ahead))
        lines.append(f"[dim]title rank {len(names) - held} of {len(names)}[/]")
        unlocked = sum(a.unlocked for a in view.achievements)
        lines.append(f"\n[b]achievements[/] {unlocked}/{len(view.achievements)}")
        for a in view.achievements:
            mark = "[$success]✓[/]" if a.unlocked else "[dim]·[/]"
            style = "b" if a.unlocked else "dim"
            lines.append(f"{mark} [{style}]{escape(a.name)}[/] [dim]{escape(a.description)}[/]")
        self.query_one("#guild-honours", Static).update("\n".join(lines))

    def _show_strain(self) -> None:
        live = self.game.live
        if live is None:
            text = "[dim]Strain is measured while a battle runs; start one with s.[/]"
        else:
            hint = live.hint.replace("_", " ")
            text = (
                f"strain {live.strain if live.strain is not None else 0:.3f} · zone [b]{zone_label(live.zone)}[/] · "
                f"effort {live.effort:.2f}\ncurriculum hint: [b]{hint}[/]"
            )
        self.query_one("#guild-strain", Static).update(text)

    def on_step_update(self, message: StepUpdate) -> None:
        self._show_strain()

    def on_checkpoint_added(self, message: CheckpointAdded) -> None:
        self.refresh_view()

    def on_notification_raised(self, message: NotificationRaised) -> None:
        self.refresh_view()  # a skill level-up (or a new champion …) changed what the Guild shows
