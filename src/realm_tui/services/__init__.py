"""Use-cases both faces (cli/, ui/) call: campaigns, sparring, vault, quests, oracle, doctor.

No textual and no rich here: a service returns data and raises RealmError; the face renders."""
