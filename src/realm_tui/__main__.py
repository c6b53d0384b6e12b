from realm_tui.cli.app import main

main()
