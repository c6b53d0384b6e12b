"""Entry points of the trainer's child processes: battle, oracle, export."""
