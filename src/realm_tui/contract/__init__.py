"""What crosses the pipe between the battle's parent and the trainer child: jobs, events,
stop reasons and the checkpoint manifest. Imports nothing of the parent or the child."""
