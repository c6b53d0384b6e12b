"""Use-cases both faces (cli/, ui/) call: records (what the store says), campaigns, heroes,
standings, answering (eval), sparring, vault, quest board, armory, oracle, doctor.

No typer, no rich and no textual here: a service returns data and raises RealmError; the face
renders. A screen never touches `store/`: it calls the services its `Game` holds."""
