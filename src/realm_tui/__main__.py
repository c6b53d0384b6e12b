from realm_tui.cli import main

main()
