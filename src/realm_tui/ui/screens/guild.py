"""The Guild: skills and their levels, progress to the next level, eval history, primitives,
strain and the curriculum hint, titles and achievements, campaign peaks and the level-cap verdict;
`A` archives the campaign."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from realm_tui.ui.keys import GUILD_BINDINGS
from realm_tui.ui.messages import CheckpointAdded, StepUpdate
from realm_tui.ui.screens.base import RealmScreen
from realm_tui.ui.screens.modals import ConfirmModal
from realm_tui.ui.services.campaigns import CampaignDesk, CampaignRefusal
from realm_tui.ui.views import GuildView, SkillView, build_guild_view, build_hero_sheet, current_campaign
from realm_tui.ui.widgets.text import bar, sparkline, zone_label

PRIMITIVES_SHOWN = 8


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
    )


class GuildScreen(RealmScreen):
    MODE = "guild"
    BINDINGS = GUILD_BINDINGS

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="guild"):
            with VerticalScroll(id="guild-left"):
                yield Static("", id="guild-skills", classes="panel")
                yield Static("", id="guild-strain", classes="panel")
                yield Static("", id="guild-campaign", classes="panel")
            with Vertical(id="guild-right"):
                yield Static("", id="guild-primitives", classes="panel")
                yield VerticalScroll(Static("", id="guild-honours"), id="guild-honours-box", classes="panel")

    def on_mount(self) -> None:
        titles = {
            "#guild-skills": "Skills",
            "#guild-strain": "Strain & curriculum",
            "#guild-campaign": "Campaign",
            "#guild-primitives": "Primitives",
            "#guild-honours-box": "Titles & achievements",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title

    def refresh_view(self) -> None:
        game = self.game
        sheet = build_hero_sheet(game.configs, game.store, game.live)
        view = build_guild_view(game.configs, game.store, hero_title=sheet.title)
        campaign = current_campaign(game.store)
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
        campaign = current_campaign(self.game.store)
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
                CampaignDesk(self.game.realm, self.game.store).archive(campaign_id)
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

    def _show(self, view: GuildView, status: str = "") -> None:
        skills = "\n".join(skill_text(s) for s in view.skills) or "[dim]No skills configured (configs/skills/).[/]"
        self.query_one("#guild-skills", Static).update(skills)
        peaks = ", ".join(f"{k} {v}" for k, v in sorted(view.peaks.items())) or "none yet"
        verdict_style = "$error" if view.maxed_out else "$success"
        campaign = [
            f"[dim]campaign[/] {escape(view.campaign_id or 'none')}{f' ({status})' if status else ''} · "
            f"effort {view.effort_total:.1f}",
            f"[dim]peaks[/] {escape(peaks)}",
            f"[b {verdict_style}]{'MAXED OUT' if view.maxed_out else 'Growing'}[/] {escape(view.verdict)}",
        ]
        campaign += [f"[dim]·[/] {escape(t)}" for t in view.transitions]
        self.query_one("#guild-campaign", Static).update("\n".join(campaign))
        self._show_primitives(view)
        self._show_honours(view)

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
