"""Quests: the board (inbox → queue → processing → done/failed), JSONL validation, the forge,
sparring data, and quest modules (manifest, safe install, export).

Import the submodules you need (`realm_tui.quests.board`, `.validate`, `.modules` …): this package
imports nothing itself, so `realm_tui.quests.validate` stays light.
"""
